import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { loadConfigFile, parseConfigText, validateConfig } from '../config/load.js';
import { type GatewayConfig, GatewayConfigSchema, toModelDevice } from '../gateway/config.js';
import { ProfileSchema } from '../gateway/register-map.js';
import { type CommunityConfig, CommunitySchema } from '../ledger/index.js';
import { checkPortfolios, type Portfolio, PortfoliosConfigSchema } from '../market/portfolio.js';
import { DEFAULT_PRODUCTS_FILE, loadProducts } from '../market/product.js';
import {
  DeviceSchema,
  DurationSchema,
  type FieldIssue,
  formatPath,
  GridflexError,
  IdSchema,
  issuesFromZod,
  type Site,
  SiteSchema,
  ValidationError,
} from '../model/index.js';
import { PvArraySchema, type SiteTariff, SiteTariffSchema } from '../optimizer/index.js';
import { DEFAULT_TARIFF, type Tariff, TariffSchema } from '../optimizer/live.js';
import { APP_ERRORS } from './errors.js';
import { RetentionSchema } from './retention.js';
import { CentralUplinkSchema } from './uplink.js';

/**
 * `gridflex.yaml`: everything `gridflex run` controls, in one file (README "Production").
 * Devices are written once, in the gateway's full description (connection, profile, points
 * with their register or node id); the sites, assets and bindings are the model's; tariffs,
 * portfolios and communities are the owning modules' schemas.
 */

const path = (...p: (string | number)[]) => p;

export const ListenSchema = z.object({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(8080),
});

export const DatabaseSchema = z.object({
  /** PostgreSQL/TimescaleDB; absent: the embedded database in `data`. `DATABASE_URL` wins. */
  url: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'expected a postgres:// URL')
    .optional(),
  /** Folder of the embedded database, the readings spool and the gateway's OPC UA keys. */
  data: z.string().min(1).default('./data'),
});

/**
 * Where a site's day-ahead prices come from (for a `tariff` with `kind: spot` prices): the
 * ENTSO-E Transparency Platform (its token read from the environment variable `tokenEnv`, never
 * written in this file), or a CSV file (optimizer/tariffs/csv.ts format, path relative to this
 * file, re-read when it changes).
 */
export const PriceSourceSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('entsoe'),
    /** Bidding-zone EIC, e.g. 10YCH-SWISSGRIDZ. */
    zone: z.string().min(1),
    tokenEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'expected an environment variable name (A-Z, 0-9, _)'),
    /** Default https://web-api.tp.entsoe.eu/api */
    baseUrl: z.url().optional(),
    timeoutMs: z.number().int().positive().optional(),
    /** Refetch a horizon's prices after this long (default 1 h: day-ahead prices change once a day). */
    maxAge: DurationSchema.optional(),
  }),
  z.object({ kind: z.literal('csv'), file: z.string().min(1) }),
]);
export type PriceSourceConfig = z.output<typeof PriceSourceSchema>;

/** The weather forecast (Open-Meteo JSON) for PV from irradiance and the heat pumps' outdoor temperature. */
export const WeatherConfigSchema = z.object({
  /** Default https://api.open-meteo.com/v1/forecast */
  baseUrl: z.url().optional(),
  /** Kept across restarts; path relative to this file. */
  cacheFile: z.string().min(1).optional(),
  timeoutMs: z.number().int().positive().optional(),
  /** The PV arrays by their `pv` asset id: tilt, azimuth (180 = south), kWp. Without any: temperature only. */
  pv: z.record(IdSchema, z.array(PvArraySchema).min(1)).default({}),
});
export type WeatherConfig = z.output<typeof WeatherConfigSchema>;

/** What a site adds for `run`: which optimiser tariff applies and how it is optimised. */
const SiteRunSchema = z.object({
  /**
   * A key of `tariffs` (time-of-use); or a versioned tariff in place (optimizer/tariffs
   * `SiteTariffSchema`: spot prices, grid fees, peak charge, VAT); absent: the first of
   * `tariffs`, else the built-in two-rate default.
   */
  tariff: z
    .union([IdSchema, z.record(z.string(), z.unknown())], {
      error: 'expected a key of tariffs or a tariff (id, currency, timezone, versions)',
    })
    .optional(),
  prices: PriceSourceSchema.optional(),
  weather: WeatherConfigSchema.optional(),
  optimizer: z
    .object({
      /** Plan and dispatch the site live when it has a controllable asset. */
      enabled: z.boolean().default(true),
      /** Base load (kW) for slots the store has no history of yet; default: the stored mean, else 10 % of the import limit. */
      fallbackLoadKw: z.number().positive().optional(),
    })
    .prefault({}),
});

const MarketSchema = z.object({
  /** A product catalogue file (market/products.yaml format); default: the bundled one. */
  products: z.string().min(1).optional(),
  portfolios: z.unknown().optional(),
});

const LedgerSchema = z.object({
  /** Communities billed monthly from the stored readings: inline, or a community file (path relative to this file). */
  communities: z.array(z.union([z.string().min(1), z.unknown()])).default([]),
  /** How often closed months are looked for (they are also at start). */
  every: DurationSchema.prefault('1h'),
});

/** Privacy by design (PRIVACY.md): how long each data class is kept, and which flat meters are building devices. */
const PrivacySchema = z.object({
  retention: RetentionSchema.prefault({}),
  /** How often retention runs (also at start). */
  every: DurationSchema.prefault('1d'),
  /**
   * Flat meters that are building devices (`site/device`, e.g. a caretaker's flat that also
   * feeds the heat pump): managers see them. Every other flat meter of a community is masked.
   */
  buildingDevices: z
    .array(z.string().regex(/^[a-z0-9_-]+\/[a-z0-9_-]+$/, 'expected site/device'))
    .default([]),
});

const TopSchema = z.object({
  listen: ListenSchema.prefault({}),
  privacy: PrivacySchema.prefault({}),
  /** Edges that report over MQTT (uplink/PROTOCOL.md): central consumes their telemetry into the store. */
  uplink: CentralUplinkSchema.optional(),
  database: DatabaseSchema.prefault({}),
  gateway: z
    .object({
      pollInterval: z.string().optional(),
      /** OPC UA client certificate folder; default `<data>/gateway-pki`. */
      pkiDir: z.string().min(1).optional(),
    })
    .prefault({}),
  profiles: z.record(IdSchema, ProfileSchema).default({}),
  tariffs: z.record(IdSchema, TariffSchema).default({}),
  sites: z.array(z.record(z.string(), z.unknown())).min(1, 'list at least one site'),
  market: MarketSchema.prefault({}),
  ledger: LedgerSchema.prefault({}),
});

/** One site as `run` drives it: the model's site, its gateway (null: no devices), tariff, optimiser. */
export interface ConfiguredSite {
  site: Site;
  gateway: GatewayConfig | null;
  /** The time-of-use tariff (`tariffs:`); with `siteTariff`, only its fallback. */
  tariff: Tariff;
  /** A versioned tariff given in place: the loop prices with it (and `prices` for its spot part). */
  siteTariff?: SiteTariff;
  prices?: PriceSourceConfig;
  weather?: WeatherConfig;
  optimizer: z.output<typeof SiteRunSchema>['optimizer'];
}

/** Walk a binding key `site/device/point` and say what is wrong with it, or null. */
function bindingProblem(site: Site, key: string, writable: boolean): string | null {
  const [siteId, deviceId, pointId, ...rest] = key.split('/');
  if (rest.length > 0 || !pointId) return `"${key}" is not a site/device/point key`;
  if (siteId !== site.id) return `"${key}" names site "${siteId}", not this site "${site.id}"`;
  const device = site.buildings.flatMap((b) => b.devices).find((d) => d.id === deviceId);
  if (!device) return `"${key}": no device "${deviceId}" in site "${site.id}"`;
  const point = device.points.find((p) => p.id === pointId);
  if (!point)
    return `"${key}": device "${deviceId}" has no point "${pointId}" (it has: ${device.points.map((p) => p.id).join(', ')})`;
  if (writable && !point.writable) return `"${key}": point "${pointId}" of "${deviceId}" is not writable`;
  return null;
}

/** Every binding of the site (grid meter, asset measure and control points) checked against its devices. */
export function bindingIssues(site: Site, at: readonly (string | number)[]): FieldIssue[] {
  const out: FieldIssue[] = [];
  const check = (key: string, writable: boolean, p: (string | number)[]) => {
    const problem = bindingProblem(site, key, writable);
    if (problem) out.push({ path: formatPath([...at, ...p]), message: problem, code: 'custom' });
  };
  if (site.grid.measure?.power) check(site.grid.measure.power, false, ['grid', 'measure', 'power']);
  site.buildings.forEach((b, bi) => {
    b.assets.forEach((a, ai) => {
      for (const [k, v] of Object.entries(a.measure))
        check(v, false, ['buildings', bi, 'assets', ai, 'measure', k]);
      for (const [k, v] of Object.entries(a.control))
        check(v, true, ['buildings', bi, 'assets', ai, 'control', k]);
    });
  });
  return out;
}

/** Where device `k` of the flattened gateway view sits in the file. */
function devicePaths(raw: Record<string, unknown>): (string | number)[][] {
  const buildings = Array.isArray(raw.buildings) ? raw.buildings : [];
  return buildings.flatMap((b, bi) => {
    const devices = Array.isArray((b as { devices?: unknown }).devices)
      ? (b as { devices: unknown[] }).devices
      : [];
    return devices.map((_, di) => ['buildings', bi, 'devices', di]);
  });
}

const flatDevices = (raw: Record<string, unknown>) =>
  (Array.isArray(raw.buildings) ? raw.buildings : []).flatMap((b) =>
    Array.isArray((b as { devices?: unknown }).devices) ? (b as { devices: unknown[] }).devices : [],
  );

/**
 * The whole file: the top level, then each site as the model reads it (`SiteSchema`: ids,
 * duplicates, assets) and as the gateway reads it (`GatewayConfigSchema`: profiles, registers,
 * node ids, writable points), then every binding against the devices. Issues carry the path in
 * this file (`sites[1].buildings[0].devices[2].points[0].register`).
 */
export const GridflexConfigSchema = TopSchema.transform((top, ctx) => {
  const issues = new Map<string, FieldIssue>();
  const add = (i: FieldIssue) => issues.set(`${i.path}\u0000${i.message}`, i);
  const sites: ConfiguredSite[] = [];
  const siteIds = new Set<string>();
  const tariffIds = Object.keys(top.tariffs);
  top.sites.forEach((raw, si) => {
    const at = path('sites', si);
    // Devices are the gateway's to read (connection, profile, registers); the model gets its
    // view of them (toModelDevice), so a device is described once and checked by its owner.
    const buildings = Array.isArray(raw.buildings) ? (raw.buildings as unknown[]) : [];
    const model = SiteSchema.safeParse({
      ...raw,
      buildings: buildings.map((b) => (b && typeof b === 'object' ? { ...b, devices: [] } : b)),
    });
    if (!model.success) for (const i of issuesFromZod(model.error, at)) add(i);
    const run = SiteRunSchema.safeParse(raw);
    if (!run.success) for (const i of issuesFromZod(run.error, at)) add(i);
    // A tariff in place is checked on its own, so its fields are named even when others are wrong.
    let siteTariff: SiteTariff | undefined;
    if (raw.tariff && typeof raw.tariff === 'object') {
      const t = SiteTariffSchema.safeParse(raw.tariff);
      if (t.success) siteTariff = t.data;
      else for (const i of issuesFromZod(t.error, [...at, 'tariff'])) add(i);
    }
    const devices = flatDevices(raw);
    const where = devicePaths(raw);
    let gateway: GatewayConfig | null = null;
    let gatewayOk = true;
    if (devices.length > 0) {
      const gw = GatewayConfigSchema.safeParse({
        site: raw.id,
        ...(top.gateway.pollInterval ? { pollInterval: top.gateway.pollInterval } : {}),
        profiles: top.profiles,
        devices,
      });
      if (gw.success) gateway = gw.data;
      else {
        gatewayOk = false;
        for (const issue of gw.error.issues) {
          const [head, k, ...rest] = issue.path;
          // devices[k] of the gateway view is buildings[b].devices[d] here; `site` is the site id.
          const p =
            head === 'devices' && typeof k === 'number' && where[k]
              ? [...at, ...where[k]!, ...rest]
              : head === 'site'
                ? [...at, 'id']
                : head === 'pollInterval'
                  ? ['gateway', 'pollInterval']
                  : head === 'profiles'
                    ? issue.path
                    : [...at, ...issue.path];
          add({ path: formatPath(p as (string | number)[]), message: issue.message, code: issue.code });
        }
      }
    }
    if (!model.success || !run.success || !gatewayOk) return;
    const gwDevices = gateway?.devices ?? [];
    let k = 0;
    const site: Site = {
      ...model.data,
      buildings: model.data.buildings.map((b, bi) => ({
        ...b,
        devices: where
          .filter((w) => w[1] === bi)
          .map(() => DeviceSchema.parse(toModelDevice(gwDevices[k++]!))),
      })),
    };
    if (siteIds.has(site.id))
      add({ path: formatPath([...at, 'id']), message: `duplicate site id "${site.id}"`, code: 'custom' });
    siteIds.add(site.id);
    for (const i of bindingIssues(site, at)) add(i);
    const named = typeof run.data.tariff === 'string' ? run.data.tariff : undefined;
    const tariffId = named ?? tariffIds[0];
    if (named && !top.tariffs[named])
      add({
        path: formatPath([...at, 'tariff']),
        message: `no tariff "${named}" in tariffs (known: ${tariffIds.join(', ') || 'none'})`,
        code: 'custom',
      });
    const spotIndexed = siteTariff?.versions.some(
      (v) => v.energy.kind === 'spot' || v.feedIn.kind === 'spot',
    );
    if (spotIndexed && !run.data.prices)
      add({
        path: formatPath([...at, 'prices']),
        message: `tariff "${siteTariff!.id}" has spot prices: name their source (kind: entsoe or csv)`,
        code: 'custom',
      });
    for (const assetId of Object.keys(run.data.weather?.pv ?? {}))
      if (!site.buildings.some((b) => b.assets.some((a) => a.id === assetId && a.type === 'pv')))
        add({
          path: formatPath([...at, 'weather', 'pv', assetId]),
          message: `no pv asset "${assetId}" in site "${site.id}"`,
          code: 'custom',
        });
    // Weather PV replaces the site's whole PV forecast: every array must be described, or none.
    const pvAssets = site.buildings.flatMap((b) => b.assets).filter((a) => a.type === 'pv');
    const described = Object.keys(run.data.weather?.pv ?? {});
    const undescribed = pvAssets.filter((a) => !described.includes(a.id)).map((a) => a.id);
    if (described.length > 0 && undescribed.length > 0)
      add({
        path: formatPath([...at, 'weather', 'pv']),
        message: `describe every pv asset or none (missing: ${undescribed.join(', ')})`,
        code: 'custom',
      });
    sites.push({
      site,
      gateway,
      // The spot-indexed tariff's currency also where the fallback is shown (before any plan).
      tariff: {
        ...((tariffId && top.tariffs[tariffId]) || DEFAULT_TARIFF),
        ...(siteTariff ? { currency: siteTariff.currency } : {}),
      },
      ...(siteTariff ? { siteTariff } : {}),
      ...(run.data.prices ? { prices: run.data.prices } : {}),
      ...(run.data.weather ? { weather: run.data.weather } : {}),
      optimizer: run.data.optimizer,
    });
  });
  // Central consumes only its own tenant's topics when it names one: an edge of another would never be heard.
  for (const key of Object.keys(top.uplink?.edges ?? {})) {
    const tenant = key.split('/')[0];
    if (top.uplink?.tenant && tenant !== top.uplink.tenant)
      add({
        path: formatPath(['uplink', 'edges', key]),
        message: `tenant "${tenant}" is not this central's tenant "${top.uplink.tenant}"`,
        code: 'custom',
      });
  }
  const portfolios = PortfoliosConfigSchema.safeParse({ portfolios: top.market.portfolios ?? [] });
  if (!portfolios.success) for (const i of issuesFromZod(portfolios.error, ['market'])) add(i);
  top.ledger.communities.forEach((c, ci) => {
    if (typeof c === 'string') return;
    const r = CommunitySchema.safeParse(c);
    if (!r.success) for (const i of issuesFromZod(r.error, ['ledger', 'communities', ci])) add(i);
  });
  for (const i of issues.values()) ctx.addIssue({ code: 'custom', path: pathOf(i.path), message: i.message });
  if (issues.size > 0) return z.NEVER;
  return {
    listen: top.listen,
    privacy: top.privacy,
    ...(top.uplink ? { uplink: top.uplink } : {}),
    database: top.database,
    gateway: top.gateway,
    sites,
    market: {
      productsFile: top.market.products,
      portfolios: portfolios.success ? portfolios.data.portfolios : [],
    },
    ledger: {
      every: top.ledger.every,
      communities: top.ledger.communities.map((c) => (typeof c === 'string' ? c : CommunitySchema.parse(c))),
    },
  };
});

/** `a.b[2].c` back to a zod path, so `issuesFromZod` prints it as it was found. */
function pathOf(p: string): (string | number)[] {
  return p
    .split(/\.|\[(\d+)\]/)
    .filter((s) => s !== undefined && s !== '')
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

type Parsed = z.output<typeof GridflexConfigSchema>;

/** The configuration `startGridflex` takes: the file checked, community files read, products loaded. */
export interface GridflexConfig extends Omit<Parsed, 'market' | 'ledger'> {
  market: { productsFile: string; portfolios: Portfolio[] };
  ledger: { every: number; communities: CommunityConfig[] };
}

/**
 * What the schema cannot see on its own (it reads no files): community files, the product
 * catalogue, and that portfolios and communities name sites and points that exist.
 */
export async function resolveGridflexConfig(parsed: Parsed, fileName: string): Promise<GridflexConfig> {
  const base = dirname(resolve(fileName));
  const issues: FieldIssue[] = [];
  const communities: CommunityConfig[] = [];
  for (const [ci, c] of parsed.ledger.communities.entries()) {
    const community = typeof c === 'string' ? await loadConfigFile(CommunitySchema, resolve(base, c)) : c;
    communities.push(community);
    const points = new Set(
      parsed.sites.flatMap(({ site }) =>
        site.buildings.flatMap((b) =>
          b.devices.flatMap((d) => d.points.map((p) => `${site.id}/${d.id}/${p.id}`)),
        ),
      ),
    );
    for (const [meter, key] of Object.entries(community.points ?? {}))
      if (!points.has(key))
        issues.push({
          path: formatPath(['ledger', 'communities', ci, 'points', meter]),
          message: `meter ${meter} reads "${key}", which no device of the configured sites has`,
          code: 'custom',
        });
  }
  const productsFile = parsed.market.productsFile
    ? resolve(base, parsed.market.productsFile)
    : DEFAULT_PRODUCTS_FILE;
  const catalog = await loadProducts(productsFile);
  let portfolios: Portfolio[] = [];
  try {
    portfolios = checkPortfolios(
      { portfolios: parsed.market.portfolios },
      parsed.sites.map((s) => s.site),
      catalog,
      fileName,
    );
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    issues.push(...err.issues.map((i) => ({ ...i, path: `market.${i.path}` })));
  }
  if (issues.length > 0)
    throw new ValidationError(`${fileName} is invalid`, issues, APP_ERRORS.configInvalid);
  // Files a site names (spot-price CSV, weather cache) are relative to this file, like the others.
  const sites = parsed.sites.map((s) => ({
    ...s,
    ...(s.prices?.kind === 'csv' ? { prices: { ...s.prices, file: resolve(base, s.prices.file) } } : {}),
    ...(s.weather?.cacheFile
      ? { weather: { ...s.weather, cacheFile: resolve(base, s.weather.cacheFile) } }
      : {}),
  }));
  return {
    ...parsed,
    sites,
    market: { productsFile, portfolios },
    ledger: { every: parsed.ledger.every, communities },
  };
}

/** Read, check and resolve `gridflex.yaml` (YAML or JSON). */
export async function loadGridflexConfig(fileName: string): Promise<GridflexConfig> {
  return resolveGridflexConfig(await loadConfigFile(GridflexConfigSchema, fileName), fileName);
}

/** The same for text in hand (tests, the demo's generated configuration). */
export async function parseGridflexConfig(text: string, fileName: string): Promise<GridflexConfig> {
  const parsed = validateConfig(GridflexConfigSchema, parseConfigText(text, fileName), fileName);
  return resolveGridflexConfig(parsed, fileName);
}

/** The same for an object in hand; relative file names resolve against `baseFile`'s folder. */
export async function gridflexConfigFrom(data: unknown, baseFile: string): Promise<GridflexConfig> {
  return resolveGridflexConfig(validateConfig(GridflexConfigSchema, data, baseFile), baseFile);
}

/**
 * The devices of one site as the gateway reads them, for `gridflex read|write|scan|browse`:
 * from `gridflex.yaml` (`site` is needed when it lists several sites) or from an old gateway
 * file, narrowed to `devices` when given. Unknown names are errors naming what exists.
 */
export async function loadGatewayView(
  fileName: string,
  o: { site?: string | undefined; devices?: readonly string[] | undefined } = {},
): Promise<GatewayConfig> {
  const raw = await loadConfigFile(z.unknown(), fileName);
  let cfg: GatewayConfig;
  if (raw && typeof raw === 'object' && 'sites' in raw) {
    const parsed = validateConfig(GridflexConfigSchema, raw, fileName);
    const ids = parsed.sites.map((s) => s.site.id);
    if (!o.site && ids.length > 1)
      throw new GridflexError(
        APP_ERRORS.configInvalid,
        `${fileName} lists several sites: give --site (${ids.join(', ')})`,
        { kind: 'input' },
      );
    const chosen = o.site ? parsed.sites.find((s) => s.site.id === o.site) : parsed.sites[0];
    if (!chosen)
      throw new GridflexError(
        APP_ERRORS.configInvalid,
        `${fileName} has no site "${o.site}" (it has: ${ids.join(', ')})`,
        { kind: 'input' },
      );
    if (!chosen.gateway)
      throw new GridflexError(
        APP_ERRORS.configInvalid,
        `site ${chosen.site.id} in ${fileName} has no devices`,
        { kind: 'input' },
      );
    cfg = chosen.gateway;
  } else {
    cfg = validateConfig(GatewayConfigSchema, raw, fileName);
    if (o.site && o.site !== cfg.site)
      throw new GridflexError(
        APP_ERRORS.configInvalid,
        `${fileName} is the gateway file of site "${cfg.site}", not "${o.site}"`,
        { kind: 'input' },
      );
  }
  if (!o.devices || o.devices.length === 0) return cfg;
  const known = cfg.devices.map((d) => d.id);
  const missing = o.devices.filter((d) => !known.includes(d));
  if (missing.length > 0)
    throw new GridflexError(
      APP_ERRORS.configInvalid,
      `site ${cfg.site} has no device ${missing.map((m) => `"${m}"`).join(', ')} (it has: ${known.join(', ')})`,
      { kind: 'input' },
    );
  return { ...cfg, devices: cfg.devices.filter((d) => o.devices!.includes(d.id)) };
}
