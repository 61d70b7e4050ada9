import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  BUILTIN_PROFILES,
  Gateway,
  type GatewayConfig,
  GatewayConfigSchema,
  type GatewayDevice,
  type Profile,
} from '../../gateway/index.js';
import {
  DeviceSchema,
  GridflexError,
  IdSchema,
  issuesFromZod,
  listPoints,
  PointKindSchema,
  parseOrThrow,
  QualitySchema,
  type Site,
  unitOf,
  ValidationError,
} from '../../model/index.js';
import type { Db, Store } from '../../store/index.js';
import { Hub } from '../../stream/index.js';
import type { AppContext, DeviceHost } from '../context.js';
import type { Services } from '../services.js';

/** A device saved over the API, as stored in `site_devices`. */
export interface SavedDevice {
  site: string;
  building: string;
  device: GatewayDevice;
  profiles: Record<string, Profile>;
  updatedBy: string | null;
  updatedAt: string;
}

/** Devices added or re-mapped by a manager, kept in the server's `site_devices` table. */
export class SiteDeviceRepository {
  constructor(private readonly db: Db) {}

  /**
   * Keep the device as the manager wrote it (durations as "5s", defaults left out), not the
   * parsed form: `list` validates it again with the schema of the version that reads it.
   */
  async save(d: {
    site: string;
    building: string;
    deviceId: string;
    written: { device: unknown; profiles: unknown };
    updatedBy: string | null;
  }): Promise<void> {
    await this.db.query(
      `INSERT INTO site_devices (site, device_id, building, config, updated_by) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (site, device_id) DO UPDATE
       SET building = EXCLUDED.building, config = EXCLUDED.config, updated_by = EXCLUDED.updated_by, updated_at = now()`,
      [d.site, d.deviceId, d.building, JSON.stringify(d.written), d.updatedBy],
    );
  }

  /**
   * Every saved device, re-validated with the gateway's schema (a stored row written by an
   * older version that no longer validates is an error naming the row, not a silent skip).
   */
  async list(site?: string): Promise<SavedDevice[]> {
    const res = await this.db.query<{
      site: string;
      building: string;
      config: string | { device: unknown; profiles: unknown };
      updated_by: string | null;
      updated_at: Date;
    }>(
      `SELECT site, building, config, updated_by, updated_at FROM site_devices
       WHERE $1::text IS NULL OR site = $1 ORDER BY site, device_id`,
      [site ?? null],
    );
    return res.rows.map((r) => {
      const raw = typeof r.config === 'string' ? JSON.parse(r.config) : r.config;
      const cfg = parseDevice(r.site, raw.device, raw.profiles ?? {}, `stored device of ${r.site}`);
      return {
        site: r.site,
        building: r.building,
        device: cfg.devices[0]!,
        profiles: cfg.profiles,
        updatedBy: r.updated_by,
        updatedAt: new Date(r.updated_at).toISOString(),
      };
    });
  }
}

/**
 * A one-device gateway file, checked by the gateway's own schema (profile known, registers
 * exist, writable only where the register is). Issue paths start at `device`, as in the body.
 */
export function parseDevice(
  site: string,
  device: unknown,
  profiles: unknown,
  what = 'device',
): GatewayConfig {
  const res = GatewayConfigSchema.safeParse({ site, profiles, devices: [device] });
  if (res.success) return res.data;
  const issues = issuesFromZod(res.error).map((i) => ({
    ...i,
    path: i.path.replace(/^devices\[0\]/, 'device'),
  }));
  throw new ValidationError(`${what} is invalid`, issues);
}

/**
 * Put a saved device into the in-memory site (replacing one with the same id wherever it is),
 * so the sites list, the live stream and the readings scope know its points.
 */
export function placeDevice(site: Site, building: string, device: GatewayDevice): void {
  const model = DeviceSchema.parse({
    id: device.id,
    name: device.name,
    protocol: device.protocol,
    profile: device.profile,
    connection: device.connection,
    points: device.points.map((p) => ({
      id: p.id,
      name: p.name,
      kind: p.kind,
      unit: p.unit,
      writable: p.writable,
      min: p.min,
      max: p.max,
    })),
  });
  for (const b of site.buildings) b.devices = b.devices.filter((d) => d.id !== device.id);
  const target = site.buildings.find((b) => b.id === building);
  if (!target)
    throw new ValidationError('device is invalid', [
      { path: 'building', message: `site ${site.id} has no building "${building}"`, code: 'custom' },
    ]);
  target.devices.push(model);
}

/** Store a saved device's points and put it into the site; the caller starts polling it. */
export async function applySavedDevice(store: Store, sites: Site[], saved: SavedDevice): Promise<boolean> {
  const site = sites.find((s) => s.id === saved.site);
  if (!site) return false;
  placeDevice(site, saved.building, saved.device);
  await store.readings.describePoints(listPoints([site]).filter((p) => p.deviceId === saved.device.id));
  return true;
}

/** The longest a connection test may take: a manager waits for it in the browser. */
const TEST_TIMEOUT_MS = 15_000;

/** Where a device is, as a manager typed it: host and port, serial port, or endpoint URL. */
function addressOf(device: GatewayDevice): string {
  if (device.protocol === 'opcua') return device.connection.endpointUrl;
  const c = device.connection;
  return c.transport === 'rtu' ? c.path : `${c.host}:${c.port}`;
}

/**
 * One read of a device that is not polled yet, through a throw-away gateway. A device that
 * does not answer at all is an error (502 `GFX_DEVICE_UNREACHABLE`); one that answers with
 * some bad points is a result, each point with its quality.
 */
export async function testDevice(cfg: GatewayConfig) {
  const gateway = new Gateway(cfg, new Hub(), { link: { maxBackoffMs: 1000 } });
  try {
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      gateway.pollOnce(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new GridflexError('GFX_DEVICE_TIMEOUT', 'the device did not answer within 15 s', {
                status: 504,
              }),
            ),
          TEST_TIMEOUT_MS,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    const device = cfg.devices[0]!;
    const byKey = new Map(outcome.readings.map((r) => [r.pointId, r]));
    if (outcome.unreachable && !outcome.readings.some((r) => r.quality !== 'bad'))
      throw new GridflexError(
        'GFX_DEVICE_UNREACHABLE',
        `the device at ${addressOf(device)} did not answer: check the address, the port and that it is switched on${
          outcome.errors.length > 0 ? ` (${outcome.errors.map((e) => String(e)).join('; ')})` : ''
        }`,
        { status: 502 },
      );
    return {
      points: device.points.map((p) => {
        const r = byKey.get(`${cfg.site}/${device.id}/${p.id}`);
        return {
          point: p.id,
          kind: p.kind,
          unit: unitOf(p),
          value: r?.value ?? null,
          quality: r?.quality ?? ('bad' as const),
          ts: r?.ts ?? null,
        };
      }),
      errors: outcome.errors.map((e) => String(e)),
      unreachable: outcome.unreachable,
    };
  } finally {
    await gateway.stop();
  }
}

/**
 * `{ device, profiles?, building? }`. Checked in the handler, after the scope check (fastify
 * validates bodies first, which would tell an outsider more than 404), with the gateway's
 * schema so every cross-field rule applies; issue paths start at the body's fields.
 */
const DeviceBodySchema = z.object({
  device: z.unknown().describe('A gateway device (gateway/README.md, "The gateway file")'),
  profiles: z
    .record(z.string(), z.unknown())
    .default({})
    .describe('Generic register maps the device may use'),
});
const SaveBodySchema = DeviceBodySchema.extend({
  building: IdSchema.describe('The building of the site the device belongs to'),
});
const LooseBodySchema = z.record(z.string(), z.unknown());

const TestResultSchema = z.object({
  points: z.array(
    z.object({
      point: z.string(),
      kind: z.string(),
      unit: z.string(),
      value: z.number().nullable(),
      quality: QualitySchema,
      ts: z.number().nullable(),
    }),
  ),
  errors: z.array(z.string()),
  unreachable: z.boolean(),
});

const SITE_SCOPE = { kind: 'site', param: 'site' } as const;
const MANAGERS = ['admin', 'manager'] as const;

/**
 * The points of a site's power flows, from the bindings in the sites file: the grid
 * connection's `measure.power`, and the PV and battery assets' `measure` points. A sites file
 * without a grid binding falls back to devices named `grid-meter` (the simulator's name).
 */
export function flowPoints(site: Site) {
  const assets = site.buildings.flatMap((b) => b.assets);
  const bound = (type: string, what: string) =>
    assets.flatMap((a) => (a.type === type && a.measure[what] ? [a.measure[what]] : []));
  const gridMeters = listPoints([site])
    .filter(
      (p) => p.kind === 'active_power' && (p.deviceId === 'grid-meter' || p.deviceId.endsWith('-grid-meter')),
    )
    .map((p) => p.key);
  return {
    grid: site.grid.measure?.power ? [site.grid.measure.power] : gridMeters,
    pv: bound('pv', 'power'),
    battery: bound('battery', 'power'),
    soc: bound('battery', 'soc'),
  };
}

/** Device management for managers: profiles, connection test, save (audited, hot-added), flows. */
export function deviceRoutes(ctx: AppContext, s: Services, host?: DeviceHost): FastifyPluginAsyncZod {
  const repo = new SiteDeviceRepository(ctx.store.db);
  const siteOf = (id: string) => {
    const site = ctx.sites.find((x) => x.id === id);
    if (!site) throw new GridflexError('GFX_NOT_FOUND', `no site "${id}"`, { status: 404 });
    return site;
  };
  return async (app) => {
    app.get(
      '/api/profiles',
      {
        config: { access: { roles: [...MANAGERS] } },
        schema: {
          summary:
            'Built-in Modbus device profiles and their registers, and the point kinds a mapping may use',
          tags: ['devices'],
          response: {
            200: z.object({
              profiles: z.array(
                z.object({
                  id: z.string(),
                  registers: z.array(z.object({ name: z.string(), unit: z.string(), writable: z.boolean() })),
                }),
              ),
              pointKinds: z.array(PointKindSchema),
            }),
          },
        },
      },
      async () => ({
        profiles: Object.entries(BUILTIN_PROFILES).map(([id, p]) => ({
          id,
          registers: Object.entries(p.registers).map(([name, r]) => ({
            name,
            unit: r.unit ?? '',
            writable: r.writable,
          })),
        })),
        // Heartbeats are the gateway's own watchdog writes, configured in its file, not mapped here.
        pointKinds: PointKindSchema.options.filter((k) => k !== 'heartbeat'),
      }),
    );

    app.post(
      '/api/sites/:site/devices/test',
      {
        config: { access: { roles: [...MANAGERS], scope: SITE_SCOPE } },
        schema: {
          summary: 'Read a device once (not saved): each point with its value, unit and quality',
          tags: ['devices'],
          params: z.object({ site: IdSchema }),
          body: LooseBodySchema.describe('{ device, profiles? }'),
          response: { 200: TestResultSchema },
        },
      },
      async (req) => {
        siteOf(req.params.site);
        const body = parseOrThrow(DeviceBodySchema, req.body, 'request body');
        return testDevice(parseDevice(req.params.site, body.device, body.profiles));
      },
    );

    app.get(
      '/api/sites/:site/devices',
      {
        config: { access: { roles: [...MANAGERS], scope: SITE_SCOPE } },
        schema: {
          summary: 'Devices added or re-mapped over the API (OPC UA passwords left out)',
          tags: ['devices'],
          params: z.object({ site: IdSchema }),
        },
      },
      async (req) => {
        siteOf(req.params.site);
        const saved = await repo.list(req.params.site);
        return {
          devices: saved.map((d) => ({
            ...d,
            device:
              d.device.protocol === 'opcua'
                ? { ...d.device, connection: { ...d.device.connection, password: undefined } }
                : d.device,
          })),
        };
      },
    );

    app.put(
      '/api/sites/:site/devices/:device',
      {
        config: { access: { roles: [...MANAGERS], scope: SITE_SCOPE } },
        schema: {
          summary: 'Save a device (new or re-mapped), audited, and start polling it',
          tags: ['devices'],
          params: z.object({ site: IdSchema, device: IdSchema }),
          body: LooseBodySchema.describe('{ device, building, profiles? }'),
          response: {
            200: z.object({ device: z.string(), polling: z.boolean(), points: z.array(z.string()) }),
          },
        },
      },
      async (req) => {
        const site = siteOf(req.params.site);
        const body = parseOrThrow(SaveBodySchema, req.body, 'request body');
        const cfg = parseDevice(site.id, body.device, body.profiles);
        const device = cfg.devices[0]!;
        if (device.id !== req.params.device)
          throw new ValidationError('device is invalid', [
            {
              path: 'device.id',
              message: `must be "${req.params.device}" as in the address`,
              code: 'custom',
            },
          ]);
        if (!site.buildings.some((b) => b.id === body.building))
          throw new ValidationError('device is invalid', [
            {
              path: 'building',
              message: `site ${site.id} has no building "${body.building}"`,
              code: 'custom',
            },
          ]);
        const actor = req.identity?.username ?? null;
        await repo.save({
          site: site.id,
          building: body.building,
          deviceId: device.id,
          written: { device: body.device, profiles: body.profiles },
          updatedBy: actor,
        });
        await applySavedDevice(ctx.store, ctx.sites, {
          site: site.id,
          building: body.building,
          device,
          profiles: cfg.profiles,
          updatedBy: actor,
          updatedAt: new Date().toISOString(),
        });
        await s.audit.append({
          actor,
          action: 'config_change',
          target: `${site.id}/${device.id}`,
          ip: req.ip,
          details: {
            change: 'device_saved',
            protocol: device.protocol,
            profile: device.profile,
            points: device.points.map((p) => p.id),
          },
        });
        if (host) await host.add(cfg);
        return {
          device: device.id,
          polling: host !== undefined,
          points: device.points.map((p) => `${site.id}/${device.id}/${p.id}`),
        };
      },
    );

    app.get(
      '/api/sites/:site/flows',
      {
        config: { access: { roles: ['admin', 'manager', 'operator'], scope: SITE_SCOPE } },
        schema: {
          summary: "The points of a site's power flows (grid meters, PV and battery by asset binding)",
          tags: ['devices'],
          params: z.object({ site: IdSchema }),
          response: {
            200: z.object({
              grid: z.array(z.string()),
              pv: z.array(z.string()),
              battery: z.array(z.string()),
              soc: z.array(z.string()),
            }),
          },
        },
      },
      async (req) => flowPoints(siteOf(req.params.site)),
    );
  };
}
