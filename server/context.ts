import type { DeviceHost, DevicePolicy, SiteDevices } from '../app/devices.js';
import type { GatewayConfig } from '../gateway/index.js';
import type { CommunityConfig } from '../ledger/index.js';
import type { MarketService } from '../market/index.js';
import type { Site } from '../model/index.js';
import type { Store } from '../store/index.js';
import type { Hub, StoreWriter } from '../stream/index.js';
import type { ScopeResolver } from './auth/identity.js';
import type { ServerModules } from './modules.js';

/** What an erasure deleted, and from when data is kept because it is not billed yet. */
export interface ErasureOutcome {
  profiles: number;
  readings: number;
  rollups: number;
  keptFromMs: number | null;
}

export interface HouseholdErasure {
  erase(unit: string): Promise<ErasureOutcome>;
}

/** Tunables of authentication; tests shorten them, production keeps the defaults. */
export interface AuthSettings {
  /** How long a login lasts (absolute, not sliding). Default 12 h. */
  sessionTtlMs: number;
  /**
   * Failed logins allowed per (username, client address) before that pair waits
   * `loginBackoffMs`, doubling with each further failure up to `loginWindowMs`. Default 5.
   */
  loginMaxFailures: number;
  /** Failed logins allowed per client address (a household's shared address, a NAT) within the window. Default 20. */
  loginMaxFailuresPerAddress: number;
  loginWindowMs: number;
  /** The first wait of a (username, address) pair past `loginMaxFailures`. Default 1 min. */
  loginBackoffMs: number;
  /** SSE streams re-check their session this often and end when it is gone. Default 15 s. */
  liveHeartbeatMs: number;
}

export const DEFAULT_AUTH: AuthSettings = {
  sessionTtlMs: 12 * 3_600_000,
  loginMaxFailures: 5,
  loginMaxFailuresPerAddress: 20,
  loginWindowMs: 15 * 60_000,
  loginBackoffMs: 60_000,
  liveHeartbeatMs: 15_000,
};

export type { DeviceHost } from '../app/devices.js';

/**
 * A market activation or the site's frequency response holding one of a site's assets: the
 * live optimiser leaves the asset alone.
 */
export interface AssetHold {
  assetId: string;
  /** What holds it: an activation (`activationId`), or the response to the measured frequency (app/droop.ts). */
  by: 'activation' | 'frequency_response';
  activationId?: string;
  /** The product; a frequency response holding several names them joined by `+`. */
  productId: string;
  direction: 'up' | 'down' | 'both';
  /** The site's part of the activation, kW (dispatched once known, else requested); a frequency response: the capacity held. */
  kw: number;
}

/** What the HTTP layer is given by whoever starts it (the CLI, or a test). */
export interface AppContext {
  store: Store;
  hub: Hub;
  sites: Site[];
  writer?: StoreWriter;
  version: string;
  auth?: Partial<AuthSettings>;
  /** Unit→community and portfolio→sites relations, supplied by ledger/market when they land. */
  scopes?: ScopeResolver;
  /** The running gateway that polls devices saved over the API (absent: saved, polled at next start). */
  devices?: DeviceHost;
  /**
   * The device service (app/devices.ts `SiteDevices`); absent: built from `store`, `sites`,
   * `devices`, `opcuaPkiDir` and `devicePolicies`. Build it before saved devices are restored.
   */
  deviceService?: SiteDevices;
  /** The configuration's gateway files, when their devices are not in `sites`: configured, so not replaceable over the API. */
  configuredGateways?: readonly GatewayConfig[];
  /** The OPC UA PKI folder: certificate users saved over the API are named files in its `user/`. */
  opcuaPkiDir?: string;
  /**
   * Devices that measure one household (`site/device`, app/devices-privacy.ts): masked for
   * managers and operators, an admin's look audited (server/privacy.ts). Absent: none.
   */
  householdDevices?: ReadonlySet<string>;
  /** Per-site device policies from the configuration file (ones saved over the API take precedence). */
  devicePolicies?: Record<string, DevicePolicy>;
  /** What the routes run of gateway, optimizer, market and ledger (app/server-modules.ts `serverModules`). */
  modules: ServerModules;
  /** The market service (market/service.ts); without it the market routes answer 503. */
  market?: MarketService;
  /** Which of a site's assets a market activation holds now (app/market-executor.ts); absent: none. */
  assetHolds?: (siteId: string) => Promise<AssetHold[]>;
  /**
   * A resident's erasure of its flat's billed interval data (app/erasure.ts); without it the
   * erasure route answers 503.
   */
  erasure?: HouseholdErasure;
  /** The billed communities' files: their names, addresses and bank accounts go on the bills. */
  communities?: readonly CommunityConfig[];
  /**
   * Each site's currency, from its configured tariff: prices on every page are in it, before
   * any plan exists. Absent for a site: the newest plan's currency, else none.
   */
  siteCurrencies?: Readonly<Record<string, string>>;
}

/** A site's currency: its tariff's, else its newest plan's, else null. */
export function siteCurrency(
  ctx: Pick<AppContext, 'siteCurrencies'>,
  siteId: string,
  planInputs: unknown,
): string | null {
  return ctx.siteCurrencies?.[siteId] ?? (planInputs as { currency?: string } | undefined)?.currency ?? null;
}
