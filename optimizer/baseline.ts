import { horizon, type Problem, slotHours, thermostatAt, valueAt, window } from './problem.js';
import type { AssetSchedule, Schedule } from './schedule.js';

/**
 * The same site with no control (README "Baseline"): batteries idle, shiftable loads and EVs
 * at full power from their earliest slot until done, sheddable loads at their baseline, heat
 * pumps on a thermostat, all PV used, the grid taking the difference (limits not enforced:
 * an uncontrolled site may well break them, and `checkSchedule` will say so).
 */
export function baselineSchedule(p: Problem): Schedule {
  const T = horizon(p);
  const dt = slotHours(p);
  const net = Array.from({ length: T }, (_, t) => p.baseLoadKw[t]! - p.pvKw[t]!);
  const assets: Record<string, AssetSchedule> = {};
  for (const a of p.assets) {
    switch (a.type) {
      case 'battery':
        assets[a.id] = {
          type: 'battery',
          chargeKw: Array(T).fill(0),
          dischargeKw: Array(T).fill(0),
          socKwh: Array(T + 1).fill(a.initialKwh),
        };
        break;
      case 'shiftable':
      case 'ev': {
        const [start, end] = window(a, T);
        let left = a.energyKwh;
        const powerKw = Array.from({ length: T }, (_, t) => {
          if (t < start || t >= end || left <= 0) return 0;
          const x = Math.min(a.maxKw, left / dt);
          left -= x * dt;
          net[t]! += x;
          return x;
        });
        assets[a.id] = { type: a.type, powerKw };
        break;
      }
      case 'sheddable': {
        const powerKw = Array.from({ length: T }, (_, t) => valueAt(a.baselineKw, t));
        powerKw.forEach((x, t) => {
          net[t]! += x;
        });
        assets[a.id] = { type: 'sheddable', shedKw: Array(T).fill(0), powerKw };
        break;
      }
      case 'thermal': {
        // A modulating thermostat: each slot, the power that brings the zone to the setpoint
        // by the end of the slot, within the heat pump's range.
        const loss = dt / (a.capacitanceKwhPerK * a.resistanceKPerKw);
        const gain = (dt * a.cop) / a.capacitanceKwhPerK;
        const temperatureC = [a.initialC];
        const powerKw: number[] = [];
        for (let t = 0; t < T; t++) {
          const th = temperatureC[t]!;
          const drift = (1 - loss) * th + loss * valueAt(a.outdoorC, t);
          const q = Math.min(a.maxKw, Math.max(0, (thermostatAt(a, Math.min(t + 1, T - 1)) - drift) / gain));
          powerKw.push(q);
          temperatureC.push(drift + gain * q);
          net[t]! += q;
        }
        assets[a.id] = { type: 'thermal', powerKw, temperatureC };
        break;
      }
    }
  }
  return {
    importKw: net.map((n) => Math.max(0, n)),
    exportKw: net.map((n) => Math.max(0, -n)),
    pvUsedKw: [...p.pvKw],
    assets,
  };
}
