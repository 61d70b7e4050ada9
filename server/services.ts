import type { Store } from '../store/index.js';
import { loadMigrations } from '../store/index.js';
import { AuditLog } from './audit.js';
import type { ScopeResolver } from './auth/identity.js';
import { LoginThrottle } from './auth/rate-limit.js';
import { AuthRepository } from './auth/repository.js';
import { type AppContext, type AuthSettings, DEFAULT_AUTH } from './context.js';
import { ledgerScopes } from './routes/bills.js';

/** Create (or upgrade) the server's tables: users, grants, sessions, tokens, audit log. */
export async function migrateServer(store: Store): Promise<number[]> {
  return store.migrate(await loadMigrations('server', new URL('./migrations/', import.meta.url)));
}

/** What the route plugins share besides the context. */
export interface Services {
  auth: AuthRepository;
  audit: AuditLog;
  /** Login attempts per (username, client address) and per address, counted before hashing. */
  throttle: LoginThrottle;
  settings: AuthSettings;
  scopes: ScopeResolver;
}

export function makeServices(ctx: AppContext): Services {
  const settings = { ...DEFAULT_AUTH, ...ctx.auth };
  return {
    auth: new AuthRepository(ctx.store.db),
    audit: new AuditLog(ctx.store.db),
    throttle: new LoginThrottle({
      maxPerPair: settings.loginMaxFailures,
      maxPerAddress: settings.loginMaxFailuresPerAddress,
      windowMs: settings.loginWindowMs,
      backoffMs: settings.loginBackoffMs,
    }),
    settings,
    // Unit → community comes from the ledger's bills unless the caller supplies its own.
    // A portfolio grant reaches the portfolio's sites (market/portfolio.ts).
    scopes: {
      ...ledgerScopes(ctx.modules.ledger, ctx.store),
      ...(ctx.market && ctx.modules.market.portfolioScopes(ctx.market.portfolios)),
      ...ctx.scopes,
    },
  };
}
