export {
  type Allocation,
  type AllocationInput,
  allocate,
  type HybridVariant,
  type Method,
} from './allocate.js';
export { type Bill, type Billing, type BillLine, billPeriod, type Summary } from './billing.js';
export { BillBook, type BillHeader, billHeader, type PeriodSummary } from './book.js';
export { canonicalJson, sha256 } from './canonical.js';
export {
  type Checkpoint,
  type Entry,
  type EntryKind,
  Ledger,
  type VerifyResult,
  verifyEntries,
} from './chain.js';
export {
  type Community,
  type CommunityConfig,
  CommunitySchema,
  compileCommunity,
  type Tariff,
  TariffSchema,
  tariffAt,
} from './community.js';
export { kwh, money, parseScaled } from './decimal.js';
export { completeMonths, type DemoBills, ensureCommunityBills, lastCompleteMonth } from './demo.js';
export { type IssuedBill, type IssueResult, issueBills } from './issue.js';
export { Flag, parseReadingsCsv, type ReadingsBatch, registerDeltas, seriesFor } from './readings.js';
export { allocationCsv, billCsv, billHtml, billJson, summaryText } from './render.js';
export { apportion, apportionRational, hashId, roundHalfUp, tieKey } from './rounding.js';
export { parseSdatCh, type SdatBatch, type SdatDocument } from './sdat-ch.js';
export { billedMeters, communityReadingsFromStore, readingsFromStore } from './store-readings.js';
export { formatLocal, localTime, monthPeriod, type Period } from './time.js';
