import { z } from 'zod';

/**
 * What a site has committed to the market, as the live optimiser honours it (one type, so
 * "obligation" means one thing: market/bids.ts `Obligation` is an accepted bid's sold capacity
 * over a portfolio; this is one site's share of it, or of an activation). While it runs, the
 * grid import and/or export stay within the limits (e.g. an activated demand response caps
 * import; only limits tighter than the connection's matter), and reserved capacity stays free.
 */
export const SiteCommitmentSchema = z.object({
  /** The market's id (an obligation's or an activation's). */
  id: z.string().min(1),
  startMs: z.number(),
  endMs: z.number(),
  importLimitKw: z.number().nonnegative().optional(),
  exportLimitKw: z.number().nonnegative().optional(),
  /**
   * Capacity sold and not yet activated (an accepted bid): kW the site must be able to add to
   * supply (`upKw`) or consumption (`downKw`) at any moment of the period, for `sustainMinutes`.
   */
  reserve: z
    .object({
      upKw: z.number().nonnegative().optional(),
      downKw: z.number().nonnegative().optional(),
      sustainMinutes: z.number().nonnegative(),
      product: z.string().optional(),
    })
    .optional(),
});
export type SiteCommitment = z.infer<typeof SiteCommitmentSchema>;
