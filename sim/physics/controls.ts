import type {
  BatteryDevice,
  EvChargerDevice,
  HeatPumpDevice,
  PvDevice,
  SheddableDevice,
} from './building.js';
import { refresh } from './failsafe.js';

/** A setpoint outside what the device accepts (Modbus exception 3, OPC UA BadOutOfRange). */
export class IllegalValueError extends Error {}

function check(ok: boolean, what: string): void {
  if (!ok) throw new IllegalValueError(what);
}

/** Controller writes. Each one (re)starts the device's fail-safe timer. */
export const controls = {
  pvLimit(d: PvDevice, pct: number, enabled: boolean, nowMs: number): void {
    check(Number.isFinite(pct) && pct >= 0 && pct <= 100, 'PV limit must be 0…100 %');
    d.limitPct = pct;
    d.limitEnabled = enabled;
    refresh(d.watchdog, nowMs);
  },
  batteryPower(d: BatteryDevice, watts: number, nowMs: number): void {
    check(
      Number.isFinite(watts) && watts <= d.params.maxChargeW && -watts <= d.params.maxDischargeW,
      'battery setpoint beyond its power rating',
    );
    d.setpointW = watts;
    refresh(d.watchdog, nowMs);
  },
  fanSpeed(d: SheddableDevice, pct: number, nowMs: number): void {
    check(Number.isFinite(pct) && pct >= 0 && pct <= 100, 'speed must be 0…100 %');
    d.setpointPct = pct;
    refresh(d.watchdog, nowMs);
  },
  zone(d: HeatPumpDevice, ctl: Partial<HeatPumpDevice['ctl']>, nowMs: number): void {
    if (ctl.setpointC !== undefined)
      check(ctl.setpointC >= 5 && ctl.setpointC <= 30, 'setpoint must be 5…30 °C');
    if (ctl.limitPct !== undefined) check(ctl.limitPct >= 0 && ctl.limitPct <= 100, 'limit must be 0…100 %');
    d.ctl = { ...d.ctl, ...ctl };
    refresh(d.watchdog, nowMs);
  },
  evPower(d: EvChargerDevice, watts: number, nowMs: number): void {
    check(Number.isFinite(watts) && watts >= 0 && watts <= d.maxW, 'charging setpoint must be 0…max power');
    d.setpointW = watts;
    refresh(d.watchdog, nowMs);
  },
};
