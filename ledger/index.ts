export {
  type Allocation,
  type AllocationInput,
  allocate,
  type HybridVariant,
  type Method,
} from './allocate.js';
export { type Bill, type Billing, type BillLine, billPeriod, type Summary } from './billing.js';
export { BillBook, type BillHeader, type BillVerification, billHeader, type PeriodSummary } from './book.js';
export { canonicalJson, sha256 } from './canonical.js';
export {
  type Checkpoint,
  type Entry,
  type EntryKind,
  Ledger,
  type SignedCheckpoint,
  type VerifyOptions,
  type VerifyResult,
  verifyEntries,
} from './chain.js';
export {
  type Community,
  type CommunityConfig,
  CommunitySchema,
  compileCommunity,
  type IssuerConfig,
  IssuerSchema,
  type Tariff,
  TariffSchema,
  tariffAt,
} from './community.js';
export { kwh, money, parseScaled } from './decimal.js';
export { LEDGER_CHECKPOINT, LEDGER_KEY, LEDGER_NO_PROFILE } from './errors.js';
export { type IssuedBill, type IssueResult, issueBills } from './issue.js';
export {
  defaultKeyDir,
  ephemeralKeyring,
  KeyFolder,
  type Keyring,
  keyIdOf,
  ledgerKeyDir,
  type PublicKeyInfo,
  type Signer,
} from './keys.js';
export { completeMonths, lastCompleteMonth } from './months.js';
export { creditorReference, qrBillSvg } from './payment.js';
// ledger/pdf.ts loads playwright-core (Chromium) inside htmlToPdf, only when a PDF is asked for.
export { htmlToPdf } from './pdf.js';
export {
  type Consent,
  profileConsent,
  profileCsv,
  profileJson,
  profilePeriods,
  setProfileConsent,
  type UnitProfile,
  unitProfile,
} from './privacy.js';
export { Flag, parseReadingsCsv, type ReadingsBatch, registerDeltas, seriesFor } from './readings.js';
export {
  allocationCsv,
  type BillFigures,
  type BillIssuer,
  type BillView,
  billCsv,
  billFigures,
  billHtml,
  billJson,
  formatPercent,
  GRID_ALONE_METHOD,
  percentTenths,
  summaryText,
} from './render.js';
export { apportion, apportionRational, hashId, roundHalfUp, tieKey } from './rounding.js';
export { parseSdatCh, type SdatBatch, type SdatDocument } from './sdat-ch.js';
export { checkpointCode, checkpointProblem, type SealBody } from './seal.js';
export { billedMeters, communityReadingsFromStore, readingsFromStore } from './store-readings.js';
export { formatLocal, localTime, monthPeriod, type Period } from './time.js';
