import type * as Gateway from '../gateway/index.js';
import type * as Ledger from '../ledger/index.js';
import type * as Market from '../market/index.js';
import type { Site } from '../model/index.js';
import type { StoredPlan } from '../optimizer/index.js';

/**
 * What the routes run of the core modules, handed over by the composition root
 * (app/server-modules.ts `serverModules`). server/ imports gateway, optimizer, market and
 * ledger only as types (.dependency-cruiser.cjs `server-types-only`): it is HTTP only.
 */
export interface ServerModules {
  /** The live optimiser's stored plans (optimizer/plan-store.ts), read-only. */
  plans: PlanService;
  /** The gateway's append-only log of setpoint writes and refusals. */
  writes: WriteLogService;
  /** Bills: the ledger's book, its renderings, its error codes and PDF printing. */
  ledger: LedgerApi;
  /** The market's schemas and portfolio rules the market routes validate and answer with. */
  market: MarketApi;
  /** The device profiles the gateway ships (device pages offer them). */
  profiles: typeof Gateway.BUILTIN_PROFILES;
}

export interface PlanService {
  latest(site: string): Promise<StoredPlan | null>;
  list(site: string, fromMs: number, toMs: number): Promise<{ id: number; startMs: number }[]>;
  get(id: number): Promise<StoredPlan | null>;
  /** The points measuring the site's grid connection (the one grid-meter rule). */
  gridPowerPoints(site: Site): string[];
}

export type WriteLogService = Pick<Gateway.SetpointWriteRepository, 'list'>;

export type LedgerApi = Pick<
  typeof Ledger,
  | 'BillBook'
  | 'billCsv'
  | 'billFigures'
  | 'billHeader'
  | 'billHtml'
  | 'billJson'
  | 'formatPercent'
  | 'GRID_ALONE_METHOD'
  | 'percentTenths'
  | 'qrBillSvg'
  | 'LEDGER_CHECKPOINT'
  | 'LEDGER_NO_PROFILE'
  | 'profileConsent'
  | 'profileCsv'
  | 'profileJson'
  | 'profilePeriods'
  | 'setProfileConsent'
  | 'unitProfile'
> & {
  /** One PDF per page; loads Chromium (playwright-core) only when called. */
  htmlToPdf(pages: readonly string[]): Promise<Buffer[]>;
};

export type MarketApi = Pick<
  typeof Market,
  | 'AcceptanceSchema'
  | 'ActivationBodySchema'
  | 'PriceStrategySchema'
  | 'findPortfolio'
  | 'portfolioScopes'
  | 'settlementCsv'
  | 'settlementJson'
>;
