import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Subscription } from 'rxjs';
import { validateConfig } from '../../config/load.js';
import { Gateway, GatewayConfigSchema } from '../../gateway/index.js';
import { type Reading, type Site, SiteSchema } from '../../model/index.js';
import { gatewayConfigFor } from '../../sim/gateway-config.js';
import type { SimDevice } from '../../sim/physics/building.js';
import { type RunningSimulator, startSimulator } from '../../sim/runner.js';
import { type Scenario, ScenarioSchema } from '../../sim/scenario.js';
import { freePortPair } from '../../sim/testing.js';
import { Hub } from '../../stream/index.js';
import { type BatteryAsset, BatteryAssetSchema, type FanAsset, FanAssetSchema } from './assets.js';
import { type ExecutorSite, GatewayExecutor, type GatewayExecutorOptions } from './executor.js';

/**
 * Tests and the bench only: a simulated building (sim/) over real Modbus and OPC UA on
 * loopback, the real gateway polling it with its safety layer, and the runtime assets that
 * match the simulated devices.
 */

type GatewayPoint = Record<string, unknown> & { id: string; writable?: boolean };
type GatewayDevice = { id: string; protocol: string; points: GatewayPoint[] } & Record<string, unknown>;

export interface Rig {
  sim: RunningSimulator;
  gateway: Gateway;
  hub: Hub;
  /** The simulation's clock (the gateway stamps readings and writes with it). */
  clock: () => number;
  site: string;
  /** Latest good value per hub key (`site/device/point`). */
  latest: Map<string, { ts: number; value: number }>;
  /** Every good reading of these keys since the rig started, in arrival order. */
  history: (key: string) => { ts: number; value: number }[];
  stop(): Promise<void>;
}

export interface RigOptions {
  speed: number;
  startMs: number;
  seed?: number;
  /** Keep only the generated gateway devices for which this is true (default all). */
  devices?: (device: GatewayDevice) => boolean;
  /** Keep only the generated points for which this is true (default all). */
  keepPoint?: (device: GatewayDevice, point: GatewayPoint) => boolean;
  /** Change a generated point (e.g. a poll interval or a tighter min/max). */
  point?: (device: GatewayDevice, point: GatewayPoint) => GatewayPoint;
  /** Extra devices appended to the gateway file as they are. */
  extraDevices?: (generated: GatewayDevice[]) => GatewayDevice[];
}

/** A scenario from plain data (the sim's own schema with its defaults). */
export function scenario(data: unknown): Scenario {
  return ScenarioSchema.parse(data);
}

export async function startRig(s: Scenario, o: RigOptions): Promise<Rig> {
  const pki = mkdtempSync(join(tmpdir(), 'gfx-market-rig-'));
  const portBase = await freePortPair();
  const realStart = Date.now();
  const clock = () => o.startMs + (Date.now() - realStart) * o.speed;
  const sim = await startSimulator(s, {
    seed: o.seed ?? 7,
    speed: o.speed,
    host: '127.0.0.1',
    portBase,
    pkiDir: join(pki, 'server'),
    startMs: o.startMs,
    now: () => Date.now(),
  });
  const generated = gatewayConfigFor(sim.sim, sim.endpoints) as { devices: GatewayDevice[] } & Record<
    string,
    unknown
  >;
  const devices = generated.devices
    .filter((d) => o.devices?.(d) ?? true)
    .map((d) => ({
      ...d,
      points: d.points.filter((p) => o.keepPoint?.(d, p) ?? true).map((p) => o.point?.(d, p) ?? p),
    }));
  const cfg = validateConfig(
    GatewayConfigSchema,
    { ...generated, devices: [...devices, ...(o.extraDevices?.(devices) ?? [])] },
    'market test gateway',
  );
  const hub = new Hub();
  const gateway = new Gateway(cfg, hub, {
    clock,
    opcua: { pkiDir: join(pki, 'client'), acceptUnknownCertificates: true },
  });
  const latest = new Map<string, { ts: number; value: number }>();
  const all = new Map<string, { ts: number; value: number }[]>();
  const sub: Subscription = hub.readings$.subscribe((r: Reading) => {
    if (r.value === null || r.quality === 'bad') return;
    const v = { ts: r.ts, value: r.value };
    latest.set(r.pointId, v);
    const list = all.get(r.pointId) ?? [];
    if (list.length === 0) all.set(r.pointId, list);
    list.push(v);
  });
  gateway.start();
  // Every device's first reading: its session/link is up before anything writes to it (writes
  // racing a first OPC UA connect would each open a session of their own).
  const ids = cfg.devices.filter((d) => d.points.length > 0).map((d) => `${generated.site}/${d.id}/`);
  const up = () => ids.every((id) => [...latest.keys()].some((k) => k.startsWith(id)));
  await until('a first reading from every device', up, 120_000);
  return {
    sim,
    gateway,
    hub,
    clock,
    site: String(generated.site),
    latest,
    history: (key) => all.get(key) ?? [],
    async stop() {
      sub.unsubscribe();
      await gateway.stop();
      hub.close();
      await sim.stop();
      rmSync(pki, { recursive: true, force: true });
    },
  };
}

export const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wait (real time) until `ok()`; a generous timeout, never a timing assertion. */
export async function until(what: string, ok: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await wait(50);
  }
}

/** The runtime asset of a simulated battery (its SunSpec 124 points as the sim's gateway file names them). */
export function batteryAsset(rig: Rig, building: string, extra: Partial<BatteryAsset> = {}): BatteryAsset {
  const d = rig.sim.sim.building(building)?.device('battery');
  if (d?.type !== 'battery') throw new Error(`${building} has no battery`);
  return BatteryAssetSchema.parse({
    kind: 'battery',
    id: `${building}-battery`,
    siteId: rig.site,
    device: `${building}-battery`,
    building,
    modePoint: 'mode',
    chargePoint: 'charge_rate',
    dischargePoint: 'discharge_rate',
    ratedKw: d.params.maxChargeW / 1000,
    maxChargeKw: d.params.maxChargeW / 1000,
    maxDischargeKw: d.params.maxDischargeW / 1000,
    storedKwh: d.storedWh / 1000,
    maxKwh: d.params.capacityWh / 1000,
    ...extra,
  });
}

/** The runtime assets of a building's simulated fans (OPC UA speed setpoints on `<building>-bms`). */
export function fanAssets(rig: Rig, building: string, extra: Partial<FanAsset> = {}): FanAsset[] {
  const b = rig.sim.sim.building(building);
  if (!b) throw new Error(`no building ${building}`);
  return b.devices.flatMap((d) =>
    d.type === 'sheddable'
      ? [
          FanAssetSchema.parse({
            kind: 'fan',
            id: `${building}-${d.id}`,
            siteId: rig.site,
            device: `${building}-bms`,
            building,
            point: `${d.id}-speed`,
            ratedKw: d.spec.ratedKw,
            law: d.spec.law,
            basePct: d.spec.defaultPct,
            minPct: d.spec.minPct,
            maxPct: d.spec.maxPct,
            ...extra,
          }),
        ]
      : [],
  );
}

/** Mean of a key's readings with `fromMs ≤ ts < toMs` (simulation time). */
export function meanOf(rig: Rig, key: string, fromMs: number, toMs: number): number | undefined {
  const xs = rig.history(key).filter((r) => r.ts >= fromMs && r.ts < toMs);
  return xs.length === 0 ? undefined : xs.reduce((a, r) => a + r.value, 0) / xs.length;
}

/**
 * A Finnish site for the market rigs (Lappeenranta, Helsinki time): no random grid events and a
 * one-hour fail-safe timeout, so only the test's own activations move the devices.
 */
export function finnishSite(s: {
  id: string;
  name?: string;
  climate?: unknown;
  buildings: unknown[];
}): Scenario {
  const { id, name = id, climate, buildings } = s;
  return scenario({
    id,
    name,
    location: { lat: 61.06, lon: 28.19 },
    timezone: 'Europe/Helsinki',
    ...(climate === undefined ? {} : { climate }),
    grid: { eventsPerDay: 0, activationProbability: 0 },
    failsafeTimeoutS: 3600,
    buildings,
  });
}

/** A Finnish site of one building, `school` (kind school), with these devices. */
export const finnishSchool = (
  site: { id: string; name: string; climate?: unknown },
  devices: unknown[],
): Scenario => finnishSite({ ...site, buildings: [{ id: 'school', kind: 'school', devices }] });

/** A school's metered base load (no Modbus of its own). */
export const schoolLoad = (peakKw: number, noise: number) => ({
  id: 'base-load',
  type: 'load',
  profile: 'school',
  peakKw,
  noise,
  modbus: 'none',
});

/** `count` ventilation fans (`ahu-1`…): 3.7 kW, 70 % base, 40–85 %, on the school's schedule. */
export const ahuFans = (count: number) => ({
  id: 'ahu',
  count,
  type: 'sheddable',
  kind: 'ventilation',
  ratedKw: 3.7,
  defaultPct: 70,
  minPct: 40,
  maxPct: 85,
  schedule: 'school',
});

/** A school zone's 40 kW heat pump (zone `main`: 300 kWh/K, 0.25 K/kW) on its thermostat. */
export const schoolHeatPump = (setpointC = 21, bandC = 1) => ({
  id: 'heat-pump',
  type: 'heat_pump',
  zone: 'main',
  maxKw: 40,
  cop: 3.5,
  capacitanceKwhPerK: 300,
  resistanceKPerKw: 0.25,
  setpointC,
  bandC,
});

/**
 * The rig's school as a gridflex.yaml describes it (model `Site`, Lappeenranta, Helsinki time,
 * import limit 200 kW): one building `school` with these assets, bound to the rig's points
 * (`<site>/school-bms/…`, `<site>/school-grid-meter/…`).
 */
export function schoolSite(id: string, name: string, assets: unknown[]): Site {
  return SiteSchema.parse({
    id,
    name,
    location: { lat: 61.06, lon: 28.19 },
    timezone: 'Europe/Helsinki',
    grid: { importLimitKw: 200, exportLimitKw: 0 },
    buildings: [{ id: 'school', name: 'School', kind: 'school', devices: [], assets }],
  });
}

/** The configuration's asset for `schoolHeatPump` of site `site`: its zone setpoint bound. */
export const schoolHeatPumpAsset = (site: string, band: { minC: number; maxC: number }) => ({
  id: 'heat-pump',
  type: 'thermal',
  maxKw: 40,
  cop: 3.5,
  capacitanceKwhPerK: 300,
  resistanceKPerKw: 0.25,
  ...band,
  hysteresisC: 1,
  measure: {
    temperature: `${site}/school-bms/main-temperature`,
    power: `${site}/school-bms/main-heat-pump-power`,
  },
  control: { setpoint: `${site}/school-bms/main-setpoint` },
});

/**
 * The configuration's assets for `ahuFans(count)` of site `site`: 3.7 kW fans at 70 % (1.27 kW),
 * shed at most 60 %, speed 40 % at least, each with its BMS speed setpoint bound.
 */
export const schoolFanAssets = (site: string, count: number, extra: (n: number) => object = () => ({})) =>
  Array.from({ length: count }, (_, i) => ({
    id: `ahu-${i + 1}`,
    type: 'sheddable',
    nominalKw: 1.27,
    ratedKw: 3.7,
    maxShedFraction: 0.6,
    minSpeedPct: 40,
    measure: { power: `${site}/school-bms/ahu-${i + 1}-power` },
    control: { speed: `${site}/school-bms/ahu-${i + 1}-speed` },
    ...extra(i + 1),
  }));

/** The rig's simulated device `id` in building `school`, which must be of `type`. */
export function schoolDevice<T extends SimDevice['type']>(
  rig: Rig,
  id: string,
  type: T,
): Extract<SimDevice, { type: T }> {
  const d = rig.sim.sim.building('school')?.device(id);
  if (d?.type !== type) throw new Error(`school has no ${type} ${id}`);
  return d as Extract<SimDevice, { type: T }>;
}

/** A 100 kWh battery, ±50 kW. */
export const SCHOOL_BATTERY = {
  id: 'battery',
  type: 'battery',
  capacityKwh: 100,
  maxChargeKw: 50,
  maxDischargeKw: 50,
};

/** True for the school grid meter's power: the point the delivery is measured on. */
export const isGridPower = (d: GatewayDevice, p: GatewayPoint) =>
  d.id === 'school-grid-meter' && p.id === 'power';

/**
 * The executor over the rig's one site (its id and gateway), on the rig's clock, following up
 * every 500 ms unless `options` say otherwise.
 */
export function rigExecutor(
  rig: Rig,
  site: Omit<ExecutorSite, 'siteId' | 'port'>,
  options: Partial<Omit<GatewayExecutorOptions, 'sites'>> = {},
): GatewayExecutor {
  return new GatewayExecutor({
    now: rig.clock,
    followUpMs: 500,
    ...options,
    sites: [{ siteId: rig.site, port: rig.gateway, ...site }],
  });
}

/** Wednesday 18 November 2026, 10:00 in Helsinki: the school's fans run on their schedule. */
export const SCHOOL_MORNING = Date.parse('2026-11-18T08:00:00Z');

/**
 * A rig over `finnishSchool(site, devices)` at 20× from SCHOOL_MORNING, its grid meter polled
 * every 250 ms (`point` changes the other points), returned once the grid meter has read.
 */
export async function startSchoolRig(
  site: { id: string; name: string },
  devices: unknown[],
  o: Pick<RigOptions, 'devices' | 'point'> = {},
): Promise<Rig> {
  const rig = await startRig(finnishSchool(site, devices), {
    speed: 20,
    startMs: SCHOOL_MORNING,
    devices: o.devices,
    point: (d, p) => (isGridPower(d, p) ? { ...p, pollInterval: '250ms' } : (o.point?.(d, p) ?? p)),
  });
  await until('the grid meter', () => rig.latest.has(`${site.id}/school-grid-meter/power`), 60_000);
  return rig;
}
