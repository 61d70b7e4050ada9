import { GridflexError } from '../model/index.js';
import type { Store } from '../store/index.js';
import { canonicalJson, sha256 } from './canonical.js';
import type { CommunityConfig } from './community.js';
import { LEDGER_ERRORS } from './errors.js';
import { Flag, QUARTER_MS, type ReadingsBatch } from './readings.js';

const WEEK_MS = 7 * 24 * 3_600_000;

/**
 * Readings from the store (gateway data) instead of a CSV: each meter is an energy counter
 * point (`energy_import`/`energy_export`, stored in Wh); its 15-minute energy is the store's
 * counter `delta` per bucket, rounded to the mWh. A bucket whose counter went backwards (reset,
 * meter exchange) or that has no readings stays a gap, estimated and flagged like any other.
 * One week either side is read too, for the gap estimation. The batch hash covers the values,
 * so reading the same data twice is recognised like the same file.
 */
export async function readingsFromStore(
  store: Store,
  pointOfMeter: Readonly<Record<string, string>>,
  startMs: number,
  endMs: number,
): Promise<ReadingsBatch> {
  const meters = new Map<string, Map<number, [number, number]>>();
  let rows = 0;
  for (const [meter, pointId] of Object.entries(pointOfMeter)) {
    const range = await store.readings.range({
      pointId,
      from: startMs - WEEK_MS,
      to: endMs + WEEK_MS,
      bucketMs: QUARTER_MS,
    });
    const series = new Map<number, [number, number]>();
    for (const b of range.buckets) {
      if (b.delta === null || b.delta === undefined || b.delta < 0) continue;
      series.set(b.ts, [Math.round(b.delta * 1000), Flag.measured]);
      rows++;
    }
    meters.set(meter, series);
  }
  const digest = sha256(
    canonicalJson(
      [...meters]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([m, s]) => [m, [...s].sort((a, b) => a[0] - b[0]).map(([t, v]) => [t, v[0]])]),
    ),
  );
  return { meters, rows, duplicates: 0, clamped: 0, sha256: digest };
}

/** The meters a bill cannot do without: production, battery and every unit. */
export function billedMeters(config: CommunityConfig): string[] {
  return [
    ...config.production.map((p) => p.meter),
    ...(config.battery ? [config.battery.chargeMeter, config.battery.dischargeMeter] : []),
    ...config.units.map((u) => u.meter),
  ];
}

/**
 * A community's readings from the store through its `points` map (meter → counter point).
 * A billed meter without a point is refused by name; the grid meter is read when it is mapped.
 */
export async function communityReadingsFromStore(
  store: Store,
  config: CommunityConfig,
  startMs: number,
  endMs: number,
): Promise<ReadingsBatch> {
  const points = config.points ?? {};
  const missing = billedMeters(config).filter((m) => !points[m]);
  if (missing.length > 0)
    throw new GridflexError(
      LEDGER_ERRORS.NO_POINT,
      `points: meter ${missing.join(', ')} of community ${config.id} has no store point; add "points: { ${missing[0]}: site/device/point }" to the community file`,
      { kind: 'input', details: { meters: missing } },
    );
  return readingsFromStore(store, points, startMs, endMs);
}
