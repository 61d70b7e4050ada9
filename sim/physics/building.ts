import type { Scenario, SimBuildingSpec, SimDeviceSpec } from '../scenario.js';
import { expandIds } from '../scenario.js';
import { type BatteryParams, stepBattery } from './battery.js';
import type { LocalTime } from './clock.js';
import { type EvSession, evPowerW, sessionOfDay } from './ev.js';
import { expired, refresh, type Watchdog, watchdog } from './failsafe.js';
import { type LoadProfile, occupied, profileFraction, sheddablePowerW } from './load.js';
import { accumulate, type MeterState, meter } from './meter.js';
import { pvAcPowerW } from './pv.js';
import { keyOf, smoothNoise, uniform } from './random.js';
import { stepZone, type ZoneParams } from './thermal.js';

/** What every device sees during one step. */
export interface Environment {
  tMs: number;
  local: LocalTime;
  day: number;
  tzOffsetMs: number;
  outdoorC: number;
  /** Irradiance on the panels' plane (horizontal here), W/m². */
  ghi: number;
  seed: number;
}

interface Base {
  id: string;
  key: number;
  /** Power drawn from the building bus, W: positive = consumption, negative = generation. */
  meter: MeterState;
  watchdog: Watchdog;
}

export interface LoadDevice extends Base {
  type: 'load';
  profile: LoadProfile;
  peakW: number;
  noise: number;
}
export interface SheddableDevice extends Base {
  type: 'sheddable';
  spec: Extract<SimDeviceSpec, { type: 'sheddable' }>;
  /** Speed % written by the controller, or null: the schedule decides. */
  setpointPct: number | null;
  /** Speed the device runs at in the last step. */
  speedPct: number;
}
export interface PvDevice extends Base {
  type: 'pv';
  kwp: number;
  inverterKw: number;
  performanceRatio: number;
  /** Active-power limit in % of the inverter rating. */
  limitPct: number;
  limitEnabled: boolean;
  /** Power the panels could give without the limit, W. */
  availableW: number;
}
export interface BatteryDevice extends Base {
  type: 'battery';
  params: BatteryParams;
  storedWh: number;
  /** AC setpoint, W (positive = charge); 0 = idle. */
  setpointW: number;
}
export interface HeatPumpDevice extends Base {
  type: 'heat_pump';
  zone: string;
  params: ZoneParams;
  indoorC: number;
  heating: boolean;
  defaults: { setpointC: number; bandC: number };
  ctl: { setpointC: number; bandC: number; enabled: boolean; limitPct: number };
}
export interface EvChargerDevice extends Base {
  type: 'ev_charger';
  maxW: number;
  minW: number;
  /** Setpoint W written by the controller, or null: charge at full power. */
  setpointW: number | null;
  session: EvSession | null;
  deliveredWh: number;
  connected: boolean;
}

export type SimDevice =
  | LoadDevice
  | SheddableDevice
  | PvDevice
  | BatteryDevice
  | HeatPumpDevice
  | EvChargerDevice;

function makeDevice(spec: SimDeviceSpec, id: string, timeoutMs: number): SimDevice {
  const base = { id, key: keyOf(id), meter: meter(), watchdog: watchdog(timeoutMs) };
  switch (spec.type) {
    case 'load':
      return { ...base, type: 'load', profile: spec.profile, peakW: spec.peakKw * 1000, noise: spec.noise };
    case 'sheddable':
      return { ...base, type: 'sheddable', spec, setpointPct: null, speedPct: 0 };
    case 'pv':
      return {
        ...base,
        type: 'pv',
        kwp: spec.kwp,
        inverterKw: spec.inverterKw,
        performanceRatio: spec.performanceRatio,
        limitPct: 100,
        limitEnabled: false,
        availableW: 0,
      };
    case 'battery': {
      const params: BatteryParams = {
        capacityWh: spec.capacityKwh * 1000,
        maxChargeW: spec.maxChargeKw * 1000,
        maxDischargeW: spec.maxDischargeKw * 1000,
        chargeEfficiency: spec.chargeEfficiency,
        dischargeEfficiency: spec.dischargeEfficiency,
        minSocPct: spec.minSocPct,
        maxSocPct: spec.maxSocPct,
      };
      const soc = Math.min(spec.maxSocPct, Math.max(spec.minSocPct, spec.initialSocPct));
      return { ...base, type: 'battery', params, storedWh: (params.capacityWh * soc) / 100, setpointW: 0 };
    }
    case 'heat_pump':
      return {
        ...base,
        type: 'heat_pump',
        zone: spec.zone,
        params: {
          capacitanceKwhPerK: spec.capacitanceKwhPerK,
          resistanceKPerKw: spec.resistanceKPerKw,
          maxW: spec.maxKw * 1000,
          cop: spec.cop,
        },
        indoorC: spec.initialC,
        heating: false,
        defaults: { setpointC: spec.setpointC, bandC: spec.bandC },
        ctl: { setpointC: spec.setpointC, bandC: spec.bandC, enabled: true, limitPct: 100 },
      };
    case 'ev_charger':
      return {
        ...base,
        type: 'ev_charger',
        maxW: spec.maxKw * 1000,
        minW: spec.minKw * 1000,
        setpointW: null,
        session: null,
        deliveredWh: 0,
        connected: false,
      };
  }
}

function makeDevices(spec: SimDeviceSpec, timeoutMs: number): SimDevice[] {
  return expandIds(spec).map((id) => makeDevice(spec, id, timeoutMs));
}

/** Back to the device's own behaviour when the controller stopped refreshing its setpoints. */
function revertToDefault(d: SimDevice): void {
  switch (d.type) {
    case 'pv':
      d.limitEnabled = false;
      d.limitPct = 100;
      break;
    case 'battery':
      d.setpointW = 0;
      break;
    case 'sheddable':
      d.setpointPct = null;
      break;
    case 'heat_pump':
      d.ctl = { ...d.defaults, enabled: true, limitPct: 100 };
      break;
    case 'ev_charger':
      d.setpointW = null;
      break;
    case 'load':
      break;
  }
  d.watchdog.lastRefreshMs = null;
}

/** Power of one device over the coming step (and its internal state after it). */
function stepDevice(d: SimDevice, env: Environment, dtS: number): number {
  if (expired(d.watchdog, env.tMs)) revertToDefault(d);
  switch (d.type) {
    case 'load': {
      const f = profileFraction(d.profile, env.local);
      const n = 1 + d.noise * smoothNoise(env.seed, d.key, env.tMs, 600_000);
      return Math.max(0, d.peakW * f * n);
    }
    case 'sheddable': {
      const s = d.spec;
      const scheduled = occupied(s.schedule, env.local) ? s.defaultPct : 0;
      d.speedPct = d.setpointPct === null ? scheduled : Math.min(s.maxPct, Math.max(s.minPct, d.setpointPct));
      return sheddablePowerW(s.ratedKw * 1000, d.speedPct, s.law);
    }
    case 'pv': {
      const p = { kwp: d.kwp, inverterKw: d.inverterKw, performanceRatio: d.performanceRatio };
      d.availableW = pvAcPowerW(p, env.ghi, 100);
      const w = pvAcPowerW(p, env.ghi, d.limitEnabled ? d.limitPct : 100);
      return w > 0 ? -w : 0;
    }
    case 'battery': {
      const r = stepBattery(d.params, d.storedWh, d.setpointW, dtS);
      d.storedWh = r.storedWh;
      return r.powerW;
    }
    case 'heat_pump': {
      const r = stepZone(d.params, { indoorC: d.indoorC, heating: d.heating }, d.ctl, env.outdoorC, dtS);
      d.indoorC = r.indoorC;
      d.heating = r.heating;
      return r.powerW;
    }
    case 'ev_charger': {
      const s = currentSession(env, d.key);
      if (s !== d.session && (s === null || d.session === null || s.arriveMs !== d.session.arriveMs)) {
        d.session = s;
        d.deliveredWh = 0;
      }
      d.connected = d.session !== null;
      const remaining = d.session ? d.session.needWh - d.deliveredWh : 0;
      const p = evPowerW(d.connected, remaining, d.setpointW ?? d.maxW, { minW: d.minW, maxW: d.maxW }, dtS);
      d.deliveredWh += (p * dtS) / 3600;
      return p;
    }
  }
}

function currentSession(env: Environment, key: number): EvSession | null {
  for (const day of [env.day - 1, env.day]) {
    const s = sessionOfDay(env.seed, key, day, env.tzOffsetMs);
    if (s && env.tMs >= s.arriveMs && env.tMs < s.departMs) return s;
  }
  return null;
}

/**
 * One building: its devices, their meters and the main grid meter. `step` advances the
 * physics; the grid meter always registers the sum of the device powers (energy balance).
 */
export class Building {
  readonly id: string;
  readonly spec: SimBuildingSpec;
  readonly devices: SimDevice[];
  readonly gridMeter: MeterState = meter();
  /** BMS heartbeat: refreshes the watchdog of every device of the building. */
  heartbeat = 0;

  constructor(spec: SimBuildingSpec, scenario: Scenario, seed: number) {
    this.id = spec.id;
    this.spec = spec;
    const timeoutMs = scenario.failsafeTimeoutS * 1000;
    this.devices = spec.devices.flatMap((d) => makeDevices(d, timeoutMs));
    // Meters come with history: counters start at a seeded non-zero reading, as installed
    // meters do (and SunSpec reads an accumulator of 0 as "not implemented").
    for (const d of this.devices) {
      d.meter.importWh = 1000 + Math.floor(uniform(seed, d.key, 1) * 2_000_000);
      if (d.type === 'pv' || d.type === 'battery')
        d.meter.exportWh = 1000 + Math.floor(uniform(seed, d.key, 2) * 20_000_000);
      this.gridMeter.importWh += d.meter.importWh;
      this.gridMeter.exportWh += d.meter.exportWh;
    }
  }

  device(id: string): SimDevice | undefined {
    return this.devices.find((d) => d.id === id);
  }

  step(env: Environment, dtS: number): void {
    let total = 0;
    for (const d of this.devices) {
      const p = stepDevice(d, env, dtS);
      accumulate(d.meter, p, dtS);
      total += p;
    }
    accumulate(this.gridMeter, total, dtS);
  }

  /** A heartbeat from the BMS controller: keeps every active setpoint of the building alive. */
  beat(value: number, nowMs: number): void {
    this.heartbeat = value;
    for (const d of this.devices) if (d.watchdog.lastRefreshMs !== null) refresh(d.watchdog, nowMs);
  }
}
