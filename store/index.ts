export type { Db, QueryResult } from './db.js';
export { STORE_ERRORS } from './errors.js';
export { type Flavour, loadMigrations, type Migration, type MigrationSet, migrate } from './migrate.js';
export { type EmbeddedEngine, warmEmbeddedEngine } from './pglite-warmup.js';
export {
  type Bucket,
  type IngestResult,
  MAX_RAW_ROWS,
  type RangeQuery,
  RangeQuerySchema,
  type RangeResult,
  type RawReading,
  ReadingsRepository,
  UnknownPointError,
} from './readings.js';
export {
  type OpenLaterOptions,
  openStore,
  openStoreWhenReachable,
  type Store,
  type StoreOptions,
  StoreUnavailableError,
} from './store.js';
