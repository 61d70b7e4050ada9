/**
 * Ledger speed: allocation and billing of 100 units × one year of 15-minute data (3.5 M
 * consumption readings). Target: allocation under 2 s on the 2-core development machine.
 *
 *   npx tsx bench/ledger.ts [--units 100] [--days 365]
 */
import { parseArgs } from 'node:util';
import {
  allocate,
  billPeriod,
  CommunitySchema,
  compileCommunity,
  hashId,
  type Method,
  monthPeriod,
} from '../ledger/index.js';
import type { ReadingsBatch } from '../ledger/readings.js';

const { values } = parseArgs({
  options: { units: { type: 'string', default: '100' }, days: { type: 'string', default: '365' } },
});
const n = Number(values.units);
const T = Number(values.days) * 96;
const Q = 900_000;
const start = Date.UTC(2025, 11, 31, 23); // 2026-01-01 00:00 in Zurich

// Deterministic pseudo-random data: a daily PV bell and noisy household loads, integer mWh.
let seed = 42;
const rnd = () => {
  seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
  return seed / 2 ** 32;
};
const production = new Float64Array(T);
const consumption = new Float64Array(T * n);
for (let t = 0; t < T; t++) {
  const h = ((t % 96) / 4 + 1) % 24;
  production[t] =
    h > 6 && h < 19 ? Math.floor(12_000_000 * Math.sin(((h - 6) / 13) * Math.PI) * (0.5 + rnd() / 2)) : 0;
  for (let i = 0; i < n; i++)
    consumption[t * n + i] = Math.floor(rnd() * 400_000 + (h > 17 && h < 22 ? 300_000 : 50_000));
}
const shares = Array.from({ length: n }, () => Math.floor(1_000_000 / n));
const idHashes = Array.from({ length: n }, (_, i) => hashId(`u${i}`));

console.log(`ledger bench: ${n} units × ${T} intervals = ${((n * T) / 1e6).toFixed(2)} M readings`);
for (const method of ['static', 'dynamic', 'hybrid'] as Method[]) {
  allocate({
    method,
    sharesPpm: shares,
    production: production.subarray(0, 96),
    consumption: consumption.subarray(0, 96 * n),
    startMs: start,
    stepMs: Q,
    idHashes,
  });
  const t0 = performance.now();
  const r = allocate({
    method,
    sharesPpm: shares,
    production,
    consumption,
    startMs: start,
    stepMs: Q,
    idHashes,
  });
  const ms = performance.now() - t0;
  const allocated = r.solar.reduce((s, x) => s + x, 0);
  console.log(
    `  allocate ${method.padEnd(7)} ${ms.toFixed(0).padStart(6)} ms  (${((n * T) / ms / 1000).toFixed(1)} M readings/s, self-consumed ${(allocated / 1e9).toFixed(1)} MWh)`,
  );
}

// Billing: twelve monthly runs through the full pipeline (series, allocation, tariffs, money).
const config = CommunitySchema.parse({
  id: 'bench',
  name: 'Bench',
  timezone: 'Europe/Zurich',
  currency: 'CHF',
  allocation: { method: 'hybrid', hybridVariant: 'residual-demand' },
  gridMeter: 'grid',
  production: [{ meter: 'pv' }],
  units: Array.from({ length: n }, (_, i) => ({
    id: `u${i}`,
    name: `Unit ${i}`,
    kind: 'apartment',
    meter: `m${i}`,
    sharePercent: (100 / n).toFixed(4).replace(/\.?0+$/, ''),
    owner: 'Owner',
  })),
  members: Array.from({ length: n }, (_, i) => ({
    id: `t${i}`,
    name: `Tenant ${i}`,
    unit: `u${i}`,
    role: 'tenant',
    from: '2026-01-01',
  })),
  tariffs: [
    {
      version: '2026',
      validFrom: '2026-01-01',
      solar: { variant: 'flat-80', price: '0.20', referencePrice: '0.30' },
      grid: {
        zones: [
          { name: 'peak', price: '0.31', windows: [{ days: [1, 2, 3, 4, 5], from: '07:00', to: '20:00' }] },
          { name: 'off-peak', price: '0.24' },
        ],
      },
      feedIn: { price: '0.08' },
      fees: [{ name: 'Metering', perMonth: '1.00' }],
      vatPercent: '8.1',
    },
  ],
  feedInKey: [{ party: 'Owner', percent: 100 }],
});
const community = compileCommunity(config);
const t1 = performance.now();
const meters = new Map<string, Map<number, [number, number]>>();
const pv = new Map<number, [number, number]>();
for (let t = 0; t < T; t++) pv.set(start + t * Q, [production[t]!, 0]);
meters.set('pv', pv);
for (let i = 0; i < n; i++) {
  const m = new Map<number, [number, number]>();
  for (let t = 0; t < T; t++) m.set(start + t * Q, [consumption[t * n + i]!, 0]);
  meters.set(`m${i}`, m);
}
const batch: ReadingsBatch = { meters, rows: T * (n + 1), duplicates: 0, clamped: 0, sha256: '' };
const tBatch = performance.now() - t1;
const months = T >= 365 * 96 ? 12 : Math.floor(T / 96 / 31);
const t2 = performance.now();
let bills = 0;
let total = 0;
for (let m = 1; m <= months; m++) {
  const billing = billPeriod(
    community,
    monthPeriod(`2026-${String(m).padStart(2, '0')}`, 'Europe/Zurich'),
    batch,
  );
  bills += billing.bills.length;
  total += billing.summary.billsTotalMinor;
}
const tBill = performance.now() - t2;
console.log(`  readings index (in-memory batch)  ${tBatch.toFixed(0).padStart(6)} ms`);
console.log(
  `  bill ${months} months (hybrid, ToU)     ${tBill.toFixed(0).padStart(6)} ms  (${bills} bills, CHF ${(total / 100).toFixed(2)})`,
);
