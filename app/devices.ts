import { BlockList, isIP } from 'node:net';
import { join } from 'node:path';
import { z } from 'zod';
import { toModelDevice } from '../gateway/config.js';
import {
  Gateway,
  type GatewayConfig,
  GatewayConfigSchema,
  type GatewayDevice,
  type Profile,
} from '../gateway/index.js';
import {
  DeviceSchema,
  GridflexError,
  IdSchema,
  issuesFromZod,
  listPoints,
  type ModbusConnection,
  type OpcUaConnection,
  PointKindSchema,
  type Site,
  UnitSchema,
  unitOf,
  ValidationError,
} from '../model/index.js';
import type { Db, Store } from '../store/index.js';
import { Hub } from '../stream/index.js';
import { DEVICE_ERRORS } from './errors.js';

/** Where devices saved over the API are polled: the running gateways of the process, if any. */
export interface DeviceHost {
  /** Start polling the file's devices (replacing devices of the same ids) into the hub. */
  add(cfg: GatewayConfig): Promise<void>;
}

const PortSchema = z.number().int().min(1).max(65535);
const CidrSchema = z
  .string()
  .regex(/^[0-9a-fA-F:.]+\/\d{1,3}$/, 'expected an address range like 192.168.10.0/24')
  .refine((s) => {
    const [addr, bits] = s.split('/');
    const v = isIP(addr!);
    return v !== 0 && Number(bits) <= (v === 4 ? 32 : 128);
  }, 'expected an IPv4 or IPv6 address range like 192.168.10.0/24');

/**
 * What an administrator allows the managers of one site to configure over the API. Nothing
 * is allowed without one: a manager can only reach the devices the administrator expects.
 * Administrators are not confined by it (they write it); the configuration file's devices and
 * one-site-per-physical-device hold for everyone.
 */
export const DevicePolicySchema = z.object({
  /** Address ranges (IP literals only: a host name could later resolve anywhere) and their ports. */
  networks: z
    .array(
      z.object({
        cidr: CidrSchema,
        ports: z
          .array(z.union([PortSchema, z.object({ from: PortSchema, to: PortSchema })]))
          .min(1, 'list at least one port or port range'),
      }),
    )
    .max(100)
    .default([]),
  /** Serial lines (RS-485) by their device path, e.g. /dev/ttyUSB0. */
  serialPorts: z
    .array(z.string().regex(/^\/dev\/[A-Za-z0-9._/-]+$/, 'expected a device path like /dev/ttyUSB0'))
    .max(32)
    .default([]),
  /**
   * Writable points managers may map: each needs a matching entry (kind, and unit when given)
   * and its own min and max inside it. No entry: read-only devices only.
   */
  writes: z
    .array(
      z.object({
        kind: PointKindSchema.exclude(['heartbeat']),
        unit: UnitSchema.optional(),
        min: z.number().finite(),
        max: z.number().finite(),
      }),
    )
    .max(32)
    .default([]),
  /** Whether a saved device may have a watchdog heartbeat, and how often at most. */
  heartbeat: z.object({ minInterval: z.number().int().min(1000) }).optional(),
});
export type DevicePolicy = z.infer<typeof DevicePolicySchema>;

/** A device saved over the API, as stored in `site_devices`. */
export interface SavedDevice {
  site: string;
  building: string;
  device: GatewayDevice;
  profiles: Record<string, Profile>;
  updatedBy: string | null;
  updatedAt: string;
}

/** Who asks: managers are confined by the site's policy, admins are not. */
export interface Actor {
  username: string | null;
  role: string;
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

  async policy(site: string): Promise<DevicePolicy | null> {
    const res = await this.db.query<{ policy: string | object }>(
      'SELECT policy FROM site_device_policies WHERE site = $1',
      [site],
    );
    const row = res.rows[0];
    if (!row) return null;
    return DevicePolicySchema.parse(typeof row.policy === 'string' ? JSON.parse(row.policy) : row.policy);
  }

  async savePolicy(site: string, policy: DevicePolicy, updatedBy: string | null): Promise<void> {
    await this.db.query(
      `INSERT INTO site_device_policies (site, policy, updated_by) VALUES ($1, $2, $3)
       ON CONFLICT (site) DO UPDATE SET policy = EXCLUDED.policy, updated_by = EXCLUDED.updated_by, updated_at = now()`,
      [site, JSON.stringify(policy), updatedBy],
    );
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
  const model = DeviceSchema.parse(toModelDevice(device));
  const target = site.buildings.find((b) => b.id === building);
  if (!target)
    throw new ValidationError('device is invalid', [
      { path: 'building', message: `site ${site.id} has no building "${building}"`, code: 'custom' },
    ]);
  for (const b of site.buildings) b.devices = b.devices.filter((d) => d.id !== device.id);
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

/** A device's connection: a model device of the sites file or a gateway device alike. */
type Connected =
  | { protocol: 'modbus'; connection: ModbusConnection }
  | { protocol: 'opcua'; connection: OpcUaConnection };

/** Where a device is, as a manager typed it: host and port, serial port, or endpoint URL. */
function addressOf(device: Connected): string {
  if (device.protocol === 'opcua') return device.connection.endpointUrl;
  const c = device.connection;
  return c.transport === 'rtu' ? c.path : `${c.host}:${c.port}`;
}

/** An IP literal in one canonical spelling (IPv4-mapped IPv6 as IPv4, IPv6 lower case); else null. */
function canonicalIp(host: string): string | null {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  // The one name every resolver agrees on; other host names stay names (managers may not use them).
  if (h === 'localhost') return '127.0.0.1';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  if (mapped && isIP(mapped[1]!) === 4) return mapped[1]!;
  return isIP(h) === 0 ? null : h;
}

/** Host and port of an OPC UA endpoint URL (default port 4840). */
function endpointHostPort(url: string): { host: string; port: number } | null {
  const m = /^opc\.tcp:\/\/(\[[^\]]+\]|[^/:\s]+)(?::(\d+))?/.exec(url);
  if (!m) return null;
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: m[2] ? Number(m[2]) : 4840 };
}

/**
 * The physical device a connection reaches: `tcp:host:port:unit`, `serial:path:unit`,
 * `opcua:host:port`. Host names stay as written (lower case): managers may use IP literals only.
 */
export function physicalKey(device: Connected): string {
  if (device.protocol === 'opcua') {
    const hp = endpointHostPort(device.connection.endpointUrl);
    return hp
      ? `opcua:${canonicalIp(hp.host) ?? hp.host.toLowerCase()}:${hp.port}`
      : device.connection.endpointUrl;
  }
  const c = device.connection;
  if (c.transport === 'rtu') return `serial:${c.path}:${c.unitId}`;
  return `tcp:${canonicalIp(c.host) ?? c.host.toLowerCase()}:${c.port}:${c.unitId}`;
}

const notAllowed = (path: string, message: string) =>
  new GridflexError(DEVICE_ERRORS.notAllowed, `${path}: ${message}`, {
    kind: 'forbidden',
    details: { issues: [{ path, message }] },
  });

/**
 * A manager's device against the site's policy: address in an allowed range and port, serial
 * port listed, writable points inside an allowed kind's limits, heartbeat only when allowed.
 * Throws `GFX_DEVICE_NOT_ALLOWED` naming the field.
 */
export function checkPolicy(device: GatewayDevice, policy: DevicePolicy | null): void {
  const p = policy ?? DevicePolicySchema.parse({});
  const inNetworks = (host: string, port: number, path: string) => {
    const ip = isIP(host.replace(/^\[|\]$/g, '')) === 0 ? null : canonicalIp(host);
    if (!ip) throw notAllowed(path, 'give the device as an IP address, not a host name');
    const family = isIP(ip) === 4 ? 'ipv4' : 'ipv6';
    const ok = p.networks.some((n) => {
      const [addr, bits] = n.cidr.split('/');
      const list = new BlockList();
      list.addSubnet(addr!, Number(bits), isIP(addr!) === 4 ? 'ipv4' : 'ipv6');
      return (
        list.check(ip, family) &&
        n.ports.some((r) => (typeof r === 'number' ? r === port : port >= r.from && port <= r.to))
      );
    });
    if (!ok)
      throw notAllowed(
        path,
        `${host}:${port} is outside the address ranges the administrator allows this site`,
      );
  };
  if (device.protocol === 'opcua') {
    const hp = endpointHostPort(device.connection.endpointUrl);
    if (!hp) throw notAllowed('device.connection.endpointUrl', 'expected opc.tcp://address:port');
    inNetworks(hp.host, hp.port, 'device.connection.endpointUrl');
  } else if (device.connection.transport === 'rtu') {
    if (!p.serialPorts.includes(device.connection.path))
      throw notAllowed(
        'device.connection.path',
        'this serial port is not one the administrator allows this site',
      );
  } else {
    inNetworks(device.connection.host, device.connection.port, 'device.connection.host');
  }
  device.points.forEach((pt, i) => {
    if (!pt.writable) return;
    const unit = unitOf(pt);
    const rule = p.writes.find((w) => w.kind === pt.kind && (w.unit === undefined || w.unit === unit));
    if (!rule)
      throw notAllowed(
        `device.points[${i}].writable`,
        `writing ${pt.kind} points is not allowed on this site`,
      );
    if (pt.min === undefined || pt.max === undefined || pt.min < rule.min || pt.max > rule.max)
      throw notAllowed(
        `device.points[${i}].${pt.min === undefined || pt.min < rule.min ? 'min' : 'max'}`,
        `a writable ${pt.kind} point needs min and max within ${rule.min}…${rule.max}`,
      );
  });
  if (device.protocol === 'modbus' && device.heartbeat) {
    if (!p.heartbeat) throw notAllowed('device.heartbeat', 'heartbeats are not allowed on this site');
    if (device.heartbeat.interval < p.heartbeat.minInterval)
      throw notAllowed('device.heartbeat.interval', `at least ${p.heartbeat.minInterval} ms on this site`);
  }
}

/** A bare file name in the PKI folder: no folders, no dot files. */
const PKI_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

/**
 * OPC UA certificate users over the API: certificate and key are named, not given as paths,
 * and taken from `<pkiDir>/user/`. Returns the device with absolute paths for the gateway.
 */
function certificatesFromPki(device: GatewayDevice, pkiDir: string | undefined): GatewayDevice {
  if (device.protocol !== 'opcua' || device.connection.auth.type !== 'certificate') return device;
  const auth = device.connection.auth;
  for (const field of ['certificateFile', 'privateKeyFile'] as const) {
    if (!PKI_NAME.test(auth[field]))
      throw notAllowed(
        `device.connection.auth.${field}`,
        "give the file's name in the PKI folder's user/ folder, not a path",
      );
  }
  if (!pkiDir)
    throw notAllowed('device.connection.auth', 'certificate users need the OPC UA PKI folder configured');
  return {
    ...device,
    connection: {
      ...device.connection,
      auth: {
        type: 'certificate',
        certificateFile: join(pkiDir, 'user', auth.certificateFile),
        privateKeyFile: join(pkiDir, 'user', auth.privateKeyFile),
      },
    },
  };
}

/** The longest a connection test may take: a manager waits for it in the browser. */
const TEST_TIMEOUT_MS = 15_000;

/** A connection test's answer: each point with its value, unit and quality. */
export interface TestResult {
  points: {
    point: string;
    kind: string;
    unit: string;
    value: number | null;
    quality: 'good' | 'uncertain' | 'bad';
    ts: number | null;
  }[];
  errors: string[];
  unreachable: boolean;
}

/**
 * One read of a device that is not polled yet, through a throw-away gateway. A device that
 * does not answer at all, or not in time, is one error (502 `GFX_DEVICE_UNREACHABLE`, "did not
 * answer") whatever the cause: refused, silent, a missing certificate, so the test endpoint
 * cannot be used to tell the server's open ports or files apart.
 */
export async function testDevice(cfg: GatewayConfig): Promise<TestResult> {
  const device = cfg.devices[0]!;
  const unreachable = () =>
    new GridflexError(
      DEVICE_ERRORS.unreachable,
      `the device at ${addressOf(device)} did not answer: check the address, the port and that it is switched on`,
      { kind: 'unavailable' },
    );
  const gateway = new Gateway(cfg, new Hub(), { link: { maxBackoffMs: 1000 } });
  try {
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      gateway.pollOnce(),
      new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), TEST_TIMEOUT_MS);
      }),
    ]).finally(() => clearTimeout(timer));
    if (!outcome || (outcome.unreachable && !outcome.readings.some((r) => r.quality !== 'bad')))
      throw unreachable();
    const byKey = new Map(outcome.readings.map((r) => [r.pointId, r]));
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
      // The device answered: its own complaints (Modbus exceptions per point) help the mapping.
      errors: outcome.errors.map((e) => String(e)),
      unreachable: outcome.unreachable,
    };
  } finally {
    await gateway.stop();
  }
}

/** What `describe` records of a device for the audit log: where it is, and what may be written. */
function auditView(d: GatewayDevice) {
  return {
    address: addressOf(d),
    unitId: 'unitId' in d.connection ? d.connection.unitId : null,
    heartbeat: d.protocol === 'modbus' && d.heartbeat ? d.heartbeat : null,
    points: d.points.map((p) => ({
      id: p.id,
      kind: p.kind,
      writable: p.writable,
      min: p.min ?? null,
      max: p.max ?? null,
    })),
  };
}

/** `{ device, profiles? }` of the test and save bodies. */
export const DeviceBodySchema = z.object({
  device: z.unknown().describe('A gateway device (gateway/README.md, "The gateway file")'),
  profiles: z
    .record(z.string(), z.unknown())
    .default({})
    .describe('Generic register maps the device may use'),
});
export const SaveBodySchema = DeviceBodySchema.extend({
  building: IdSchema.describe('The building of the site the device belongs to'),
});

/** Appends a `config_change` to the audit log (server/audit.ts `AuditLog.append`). */
export type AuditSink = (e: {
  actor: string | null;
  action: string;
  target?: string;
  ip?: string;
  details?: Record<string, unknown>;
}) => Promise<unknown>;

export interface SiteDevicesOptions {
  store: Store;
  /** The running sites; saved devices are placed into them. Snapshotted at construction as "configured". */
  sites: Site[];
  /** Where saved devices are polled (absent: saved, polled at the next start). */
  host?: DeviceHost;
  /** The OPC UA PKI folder: certificate users over the API are named files in its `user/` folder. */
  pkiDir?: string;
  /**
   * Gateway files of the configuration whose devices are not (yet) in `sites`: their devices
   * count as configured too (cannot be replaced, their addresses are taken).
   */
  gateways?: readonly GatewayConfig[];
  /** Policies from the configuration file, per site (the API's own, when saved, take precedence). */
  policies?: Record<string, DevicePolicy>;
}

/**
 * Devices configured over the API: list, test, save (policy-confined, audited, hot-added) and
 * restore at start. The devices of the configuration file (the sites as given at construction)
 * can be neither replaced nor shadowed, and one physical device belongs to one site.
 */
export class SiteDevices {
  readonly repo: SiteDeviceRepository;
  /** `site/device` of every device the configuration defines. */
  private readonly configured = new Set<string>();
  /** Physical device → `site/device` of the configured devices (saved ones are read from the store). */
  private readonly fileOwners = new Map<string, string>();

  constructor(private readonly o: SiteDevicesOptions) {
    this.repo = new SiteDeviceRepository(o.store.db);
    for (const site of o.sites)
      for (const b of site.buildings)
        for (const d of b.devices) {
          this.configured.add(`${site.id}/${d.id}`);
          this.fileOwners.set(physicalKey(d), `${site.id}/${d.id}`);
        }
    for (const g of o.gateways ?? [])
      for (const d of g.devices) {
        this.configured.add(`${g.site}/${d.id}`);
        this.fileOwners.set(physicalKey(d), `${g.site}/${d.id}`);
      }
  }

  private site(id: string): Site {
    const site = this.o.sites.find((s) => s.id === id);
    if (!site) throw new GridflexError(DEVICE_ERRORS.notFound, `no site "${id}"`, { kind: 'not_found' });
    return site;
  }

  async policy(site: string): Promise<DevicePolicy | null> {
    this.site(site);
    return (await this.repo.policy(site)) ?? this.o.policies?.[site] ?? null;
  }

  async setPolicy(
    site: string,
    body: unknown,
    actor: Actor,
    audit: AuditSink,
    ip?: string,
  ): Promise<DevicePolicy> {
    this.site(site);
    const policy = parsePolicy(body);
    const before = await this.policy(site);
    await this.repo.savePolicy(site, policy, actor.username);
    await audit({
      actor: actor.username,
      action: 'config_change',
      target: site,
      ...(ip ? { ip } : {}),
      details: { change: 'device_policy', before, after: policy },
    });
    return policy;
  }

  /** Saved devices of a site (OPC UA passwords left out). */
  async list(site: string): Promise<SavedDevice[]> {
    this.site(site);
    const saved = await this.repo.list(site);
    return saved.map((d) => ({
      ...d,
      device:
        d.device.protocol === 'opcua' && d.device.connection.auth.type === 'username'
          ? {
              ...d.device,
              connection: { ...d.device.connection, auth: { ...d.device.connection.auth, password: '' } },
            }
          : d.device,
    }));
  }

  /** Parse and confine a manager's (or admin's) device; the gateway file to run it with. */
  private async admit(site: Site, body: unknown, actor: Actor, deviceId?: string) {
    const parsed = SaveBodySchema.partial({ building: true }).safeParse(body);
    if (!parsed.success) throw new ValidationError('request body is invalid', issuesFromZod(parsed.error));
    const cfg = parseDevice(site.id, parsed.data.device, parsed.data.profiles);
    const device = cfg.devices[0]!;
    const id = deviceId ?? device.id;
    if (device.id !== id)
      throw new ValidationError('device is invalid', [
        { path: 'device.id', message: `must be "${id}" as in the address`, code: 'custom' },
      ]);
    if (this.configured.has(`${site.id}/${id}`))
      throw new GridflexError(
        DEVICE_ERRORS.configured,
        `device "${id}" is defined in the configuration file; change it there`,
        {
          kind: 'conflict',
          details: { issues: [{ path: 'device.id', message: 'defined in the configuration file' }] },
        },
      );
    const owner = await this.ownerOf(physicalKey(device), `${site.id}/${id}`);
    if (owner)
      throw new GridflexError(
        DEVICE_ERRORS.taken,
        `${addressOf(device)} (unit ${'unitId' in device.connection ? device.connection.unitId : '-'}) is already configured as another device`,
        {
          kind: 'conflict',
          details: { issues: [{ path: 'device.connection', message: 'already configured elsewhere' }] },
        },
      );
    if (actor.role !== 'admin') checkPolicy(device, await this.policy(site.id));
    const run = certificatesFromPki(device, this.o.pkiDir);
    return { cfg: { ...cfg, devices: [run] }, device: run, written: parsed.data };
  }

  /**
   * Which other device (`site/device`) already reaches this physical device: a configured one,
   * or one saved over the API by any site (read from the store, so every instance agrees).
   */
  private async ownerOf(physical: string, self: string): Promise<string | null> {
    const file = this.fileOwners.get(physical);
    if (file && file !== self) return file;
    for (const d of await this.repo.list()) {
      const key = `${d.site}/${d.device.id}`;
      if (key !== self && !this.configured.has(key) && physicalKey(d.device) === physical) return key;
    }
    return null;
  }

  /** One read of a device, not saved (`testDevice`), after the same checks as a save. */
  async test(siteId: string, body: unknown, actor: Actor): Promise<TestResult> {
    const { cfg } = await this.admit(this.site(siteId), body, actor);
    return testDevice(cfg);
  }

  /** Save (new or re-mapped): stored, placed into the site, audited with before and after, polled. */
  async save(
    siteId: string,
    deviceId: string,
    body: unknown,
    actor: Actor,
    audit: AuditSink,
    ip?: string,
  ): Promise<{ device: string; polling: boolean; points: string[] }> {
    const site = this.site(siteId);
    const { cfg, device, written } = await this.admit(site, body, actor, deviceId);
    const building = written.building ?? '';
    if (!site.buildings.some((b) => b.id === building))
      throw new ValidationError('device is invalid', [
        { path: 'building', message: `site ${site.id} has no building "${building}"`, code: 'custom' },
      ]);
    const before = (await this.repo.list(site.id)).find((d) => d.device.id === device.id);
    await this.repo.save({
      site: site.id,
      building,
      deviceId: device.id,
      written: { device: written.device, profiles: written.profiles },
      updatedBy: actor.username,
    });
    await applySavedDevice(this.o.store, this.o.sites, {
      site: site.id,
      building,
      device,
      profiles: cfg.profiles,
      updatedBy: actor.username,
      updatedAt: new Date().toISOString(),
    });
    await audit({
      actor: actor.username,
      action: 'config_change',
      target: `${site.id}/${device.id}`,
      ...(ip ? { ip } : {}),
      details: {
        change: 'device_saved',
        protocol: device.protocol,
        profile: device.profile,
        before: before ? auditView(before.device) : null,
        after: auditView(device),
      },
    });
    if (this.o.host) await this.o.host.add(cfg);
    return {
      device: device.id,
      polling: this.o.host !== undefined,
      points: device.points.map((p) => `${site.id}/${device.id}/${p.id}`),
    };
  }

  /**
   * Devices saved in earlier runs: into the sites and polled (5 s). A saved device that now
   * collides with the configuration file (same id, or the same physical device) is skipped
   * and named in `skipped`: the file wins.
   */
  async restore(): Promise<{ restored: number; skipped: string[] }> {
    let restored = 0;
    const skipped: string[] = [];
    for (const saved of await this.repo.list()) {
      const key = `${saved.site}/${saved.device.id}`;
      const owner = this.fileOwners.get(physicalKey(saved.device));
      if (this.configured.has(key) || (owner && owner !== key)) {
        skipped.push(key);
        continue;
      }
      const device = certificatesFromPkiOrNull(saved.device, this.o.pkiDir);
      if (!device || !(await applySavedDevice(this.o.store, this.o.sites, { ...saved, device }))) {
        skipped.push(key);
        continue;
      }
      await this.o.host?.add({
        site: saved.site,
        pollInterval: 5000,
        profiles: saved.profiles,
        devices: [device],
      });
      restored += 1;
    }
    return { restored, skipped };
  }
}

function certificatesFromPkiOrNull(device: GatewayDevice, pkiDir: string | undefined): GatewayDevice | null {
  try {
    return certificatesFromPki(device, pkiDir);
  } catch {
    return null;
  }
}

/** A policy body, 400 naming the field. */
export function parsePolicy(body: unknown): DevicePolicy {
  const res = DevicePolicySchema.safeParse(body);
  if (!res.success) throw new ValidationError('device policy is invalid', issuesFromZod(res.error));
  for (const [i, w] of res.data.writes.entries())
    if (w.max < w.min)
      throw new ValidationError('device policy is invalid', [
        { path: `writes[${i}].max`, message: 'max is below min', code: 'custom' },
      ]);
  return res.data;
}
