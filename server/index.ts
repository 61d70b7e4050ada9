export {
  type AccessRule,
  type DeclaredRoute,
  declaredRoutes,
  type Role,
  RoleSchema,
  type ScopeKind,
} from './access.js';
export { type AppOptions, buildApp } from './app.js';
export { type AuditAppend, type AuditEntry, AuditLog, type AuditRecord } from './audit.js';
export {
  checkGrants,
  formatGrant,
  type Grant,
  type GrantKind,
  type Identity,
  parseGrant,
  type ScopeResolver,
} from './auth/identity.js';
export { generatePassword } from './auth/passwords.js';
export { AuthRepository, type NewUser, type UserSummary } from './auth/repository.js';
export { type AppContext, type AuthSettings, DEFAULT_AUTH } from './context.js';
export { type ErrorBody, SERVER_ERRORS } from './errors.js';
export { listenOrExplain } from './listen.js';
export type { LedgerApi, MarketApi, PlanService, ServerModules, WriteLogService } from './modules.js';
export { migrateServer } from './services.js';
