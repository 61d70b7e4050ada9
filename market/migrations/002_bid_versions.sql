-- Re-posting a bid is an explicit replace (issue #13): each stored bid carries a version,
-- 1 when first stored and one more at every replace.
ALTER TABLE market_bids ADD COLUMN version integer NOT NULL DEFAULT 1;
