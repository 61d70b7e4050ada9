/**
 * Regenerates deploy/examples/zev-bern-readings.csv.gz, the demo's bundled 15-minute readings of
 * the simulated zev-bern building (apartments apt-1…apt-12, the PV inverter and the grid
 * meter), from the simulator's physics: seed 1, 60 s steps, battery idle (its fail-safe), so
 * the file is the same on every run. Each interval's energy is the difference of the meter's
 * counter at its two boundaries, in whole mWh, so a meter's intervals sum to its counter.
 *
 *   npx tsx ledger/examples/generate-zev-bern-readings.ts 2026-09 2026-10
 */
import { writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { packageRoot } from '../../config/version.js';
import { Simulation } from '../../sim/physics/simulation.js';
import { loadScenario } from '../../sim/scenario.js';
import { monthPeriod } from '../time.js';

const QUARTER_MS = 900_000;
const months = process.argv.slice(2);
if (months.length === 0) throw new Error('usage: generate-zev-bern-readings.ts YYYY-MM…');
const scenario = await loadScenario('zev-bern');
const periods = months.map((m) => monthPeriod(m, scenario.timezone));
const startMs = Math.min(...periods.map((p) => p.startMs));
const endMs = Math.max(...periods.map((p) => p.endMs));
const sim = new Simulation(scenario, { seed: 1, startMs, maxStepS: 60 });
const house = sim.buildings[0]!;
const meters: { id: string; counter: () => number }[] = [
  ...house.devices
    .filter((d) => /^apt-\d+$/.test(d.id))
    .map((d) => ({ id: `house-${d.id}`, counter: () => d.meter.importWh })),
  ...house.devices
    .filter((d) => d.type === 'pv')
    .map((d) => ({ id: `house-${d.id}`, counter: () => d.meter.exportWh })),
  { id: 'house-grid-meter', counter: () => house.gridMeter.importWh },
];
const mwh = (wh: number) => Math.round(wh * 1000);
let last = meters.map((m) => mwh(m.counter()));
const lines = ['meter,start,kwh'];
for (let t = startMs; t < endMs; t += QUARTER_MS) {
  sim.advanceTo(t + QUARTER_MS);
  const now = meters.map((m) => mwh(m.counter()));
  const start = new Date(t).toISOString().replace('.000Z', 'Z');
  meters.forEach((m, i) => {
    const d = now[i]! - last[i]!;
    lines.push(`${m.id},${start},${Math.floor(d / 1e6)}.${String(d % 1e6).padStart(6, '0')}`);
  });
  last = now;
}
const out = `${packageRoot()}/deploy/examples/zev-bern-readings.csv.gz`;
await writeFile(out, gzipSync(`${lines.join('\n')}\n`, { level: 9 }));
console.log(`${out}: ${lines.length - 1} readings, ${months.join(', ')}`);
