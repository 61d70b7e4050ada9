import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reading } from '../model/index.js';
import type { Store } from './store.js';
import { openStore } from './store.js';
import { announceSkip, testBackends } from './testing.js';

const T0 = Date.UTC(2026, 2, 2, 0, 0, 0); // a Monday, on the bucket grid
const MIN = 60_000;

/** Power every 30 s for 3 hours: value = minute index, so every aggregate is known in closed form. */
function powerSeries(point: string): Reading[] {
  return Array.from({ length: 360 }, (_, i) => ({
    pointId: point,
    ts: T0 + i * 30_000,
    value: Math.floor(i / 2),
    quality: 'good' as const,
  }));
}

for (const backend of testBackends) {
  announceSkip(backend, 'store');
  describe.skipIf(backend.skipReason !== null)(`store on ${backend.name}`, () => {
    let store: Store;
    beforeAll(async () => {
      store = await backend.open();
    });
    afterAll(async () => {
      await store?.close();
    });

    it('uses TimescaleDB exactly where the extension exists', () => {
      expect(store.flavour).toBe(backend.name === 'pglite-timescale' ? 'timescale' : 'plain');
    });

    it('ingests a batch idempotently: a re-sent batch stores nothing twice', async () => {
      const batch = powerSeries('t/idem/p');
      expect(await store.readings.ingest(batch)).toEqual({ inserted: 360, duplicates: 0 });
      expect(await store.readings.ingest(batch)).toEqual({ inserted: 0, duplicates: 360 });
      const overlap = [
        ...batch.slice(300),
        { pointId: 't/idem/p', ts: T0 + 360 * 30_000, value: 1, quality: 'good' as const },
      ];
      expect(await store.readings.ingest(overlap)).toEqual({ inserted: 1, duplicates: 60 });
      expect(await store.readings.count('t/idem/p')).toBe(361);
    });

    it('treats a duplicate inside one batch as a duplicate, keeping the first value', async () => {
      const r = { pointId: 't/dup/p', ts: T0, quality: 'good' as const };
      expect(
        await store.readings.ingest([
          { ...r, value: 1 },
          { ...r, value: 2 },
        ]),
      ).toEqual({ inserted: 1, duplicates: 1 });
      const raw = await store.readings.range({ pointId: 't/dup/p', from: T0, to: T0 + 1, bucketMs: null });
      expect(raw.raw).toEqual([{ ts: T0, value: 1, quality: 'good' }]);
    });

    it('keeps rollups exact for a batch cut into chunks in flight, replayed in part, out of order', async () => {
      // 25,000 readings: more than two COPY chunks, so two are in flight at once on the server.
      const points = ['t/chunk/a', 't/chunk/b', 't/chunk/c', 't/chunk/d', 't/chunk/e'];
      let seed = 7;
      const rnd = () => {
        seed = (seed * 16807) % 2147483647;
        return Math.round((seed / 2147483647) * 1000) / 10;
      };
      const batch: Reading[] = Array.from({ length: 25_000 }, (_, i) => ({
        pointId: points[i % points.length]!,
        ts: T0 + Math.floor(i / points.length) * 5_000,
        value: rnd(),
        quality: i % 97 === 0 ? ('bad' as const) : ('good' as const),
      }));
      const odd = batch.filter((_, i) => i % 2 === 1);
      const even = batch.filter((_, i) => i % 2 === 0);
      // Odd readings first, then all of them newest first with changed values: the stored
      // (first) values win, the even ones arrive out of order and fill the buckets' edges.
      expect(await store.readings.ingest(odd)).toEqual({ inserted: odd.length, duplicates: 0 });
      const again = [...batch].reverse().map((r, i) => (i % 2 === 0 ? { ...r, value: -1 } : r));
      expect(await store.readings.ingest(again)).toEqual({ inserted: even.length, duplicates: odd.length });
      const stored = new Map(batch.map((r) => [`${r.pointId}@${r.ts}`, r]));
      for (const pointId of points) {
        const q = await store.readings.range({
          pointId,
          from: T0,
          to: T0 + 9 * 60 * MIN,
          bucketMs: 15 * MIN,
        });
        const mine = [...stored.values()].filter((r) => r.pointId === pointId && r.quality !== 'bad');
        expect(q.buckets).toHaveLength(28);
        for (const b of q.buckets) {
          const inside = mine
            .filter((r) => r.ts >= b.ts && r.ts < b.ts + 15 * MIN)
            .sort((x, y) => x.ts - y.ts);
          const values = inside.map((r) => r.value!);
          expect(b.count).toBe(inside.length);
          expect(b.min).toBe(Math.min(...values));
          expect(b.max).toBe(Math.max(...values));
          expect(b.first).toBe(values[0]);
          expect(b.last).toBe(values.at(-1));
          expect(b.mean).toBeCloseTo(values.reduce((x, y) => x + y, 0) / values.length, 9);
        }
        const hourly = await store.readings.range({
          pointId,
          from: T0,
          to: T0 + 9 * 60 * MIN,
          bucketMs: 60 * MIN,
        });
        expect(hourly.buckets.reduce((n, b) => n + b.count, 0)).toBe(mine.length);
      }
    });

    it('aggregates 15-minute and hourly buckets (min, max, mean, first, last)', async () => {
      await store.readings.ingest(powerSeries('t/agg/p'));
      const q = await store.readings.range({
        pointId: 't/agg/p',
        from: T0,
        to: T0 + 180 * MIN,
        bucketMs: 15 * MIN,
      });
      expect(q.buckets).toHaveLength(12);
      // Bucket k holds minutes 15k..15k+14, each value twice: mean = 15k + 7.
      q.buckets.forEach((b, k) => {
        expect(b).toMatchObject({
          ts: T0 + k * 15 * MIN,
          count: 30,
          min: 15 * k,
          max: 15 * k + 14,
          first: 15 * k,
          last: 15 * k + 14,
        });
        expect(b.mean).toBeCloseTo(15 * k + 7, 9);
      });
      const h = await store.readings.range({
        pointId: 't/agg/p',
        from: T0,
        to: T0 + 180 * MIN,
        bucketMs: 60 * MIN,
      });
      expect(h.buckets.map((b) => [b.count, b.min, b.max, b.mean])).toEqual([
        [120, 0, 59, 29.5],
        [120, 60, 119, 89.5],
        [120, 120, 179, 149.5],
      ]);
    });

    it('answers any bucket size from the finest source that fits it', async () => {
      await store.readings.ingest(powerSeries('t/any/p'));
      const five = await store.readings.range({
        pointId: 't/any/p',
        from: T0,
        to: T0 + 30 * MIN,
        bucketMs: 5 * MIN,
      });
      expect(five.buckets.map((b) => b.mean)).toEqual([2, 7, 12, 17, 22, 27]);
      const thirty = await store.readings.range({
        pointId: 't/any/p',
        from: T0,
        to: T0 + 180 * MIN,
        bucketMs: 30 * MIN,
      });
      expect(thirty.buckets.map((b) => b.max)).toEqual([29, 59, 89, 119, 149, 179]);
      const day = await store.readings.range({
        pointId: 't/any/p',
        from: T0,
        to: T0 + 86_400_000,
        bucketMs: 86_400_000,
      });
      expect(day.buckets).toEqual([
        expect.objectContaining({ ts: T0, count: 360, min: 0, max: 179, last: 179 }),
      ]);
    });

    it('widens a range that is off the bucket grid to whole buckets and says so', async () => {
      await store.readings.ingest(powerSeries('t/snap/p'));
      const q = await store.readings.range({
        pointId: 't/snap/p',
        from: T0 + 7 * MIN,
        to: T0 + 40 * MIN,
        bucketMs: 15 * MIN,
      });
      expect([q.from, q.to]).toEqual([T0, T0 + 45 * MIN]);
      expect(q.buckets.map((b) => b.ts)).toEqual([T0, T0 + 15 * MIN, T0 + 30 * MIN]);
    });

    it('leaves bad readings out of aggregates but keeps them in raw queries', async () => {
      const p = 't/quality/p';
      await store.readings.ingest([
        { pointId: p, ts: T0, value: 10, quality: 'good' },
        { pointId: p, ts: T0 + MIN, value: null, quality: 'bad' },
        { pointId: p, ts: T0 + 2 * MIN, value: 9999, quality: 'bad' },
        { pointId: p, ts: T0 + 3 * MIN, value: 20, quality: 'uncertain' },
      ]);
      const agg = await store.readings.range({ pointId: p, from: T0, to: T0 + 15 * MIN, bucketMs: 15 * MIN });
      expect(agg.buckets[0]).toMatchObject({ count: 2, min: 10, max: 20, mean: 15, last: 20 });
      const raw = await store.readings.range({ pointId: p, from: T0, to: T0 + 15 * MIN, bucketMs: null });
      expect(raw.raw.map((r) => r.quality)).toEqual(['good', 'bad', 'bad', 'uncertain']);
      expect(raw.raw[1]!.value).toBeNull();
    });

    it('reports energy deltas for counters, across bucket edges, and refuses to invent one after a reset', async () => {
      const p = 't/energy/import';
      await store.readings.describePoints([{ key: p, kind: 'energy_import', unit: 'Wh' }]);
      // 1 Wh per minute for 45 minutes, then the meter is replaced and restarts at 0.
      const rows: Reading[] = Array.from({ length: 45 }, (_, i) => ({
        pointId: p,
        ts: T0 + i * MIN,
        value: 1000 + i,
        quality: 'good',
      }));
      rows.push(
        { pointId: p, ts: T0 + 45 * MIN, value: 0, quality: 'good' },
        { pointId: p, ts: T0 + 50 * MIN, value: 5, quality: 'good' },
      );
      await store.readings.ingest(rows);
      const q = await store.readings.range({
        pointId: p,
        from: T0 + 15 * MIN,
        to: T0 + 60 * MIN,
        bucketMs: 15 * MIN,
      });
      expect(q.unit).toBe('Wh');
      // Delta counts from the last reading of the previous bucket, so minute 14→29 is 15 Wh.
      expect(q.buckets.map((b) => b.delta)).toEqual([15, 15, null]);
      const power = await store.readings.range({
        pointId: 't/agg/p',
        from: T0,
        to: T0 + 15 * MIN,
        bucketMs: 15 * MIN,
      });
      expect(power.buckets[0]!.delta).toBeUndefined();
    });

    it('returns the newest reading of each point', async () => {
      await store.readings.ingest(powerSeries('t/latest/p'));
      const latest = await store.readings.latest(['t/latest/p', 't/none/p']);
      expect(latest.get('t/latest/p')).toEqual({ ts: T0 + 359 * 30_000, value: 179, quality: 'good' });
      expect(latest.has('t/none/p')).toBe(false);
    });

    it('says which point is unknown', async () => {
      await expect(
        store.readings.range({ pointId: 'no/such/point', from: 0, to: 1, bucketMs: null }),
      ).rejects.toMatchObject({
        code: 'GFX_STORE_UNKNOWN_POINT',
        kind: 'not_found',
      });
    });

    it('records applied migrations and re-running them is a no-op', async () => {
      const { loadMigrations } = await import('./migrate.js');
      const set = await loadMigrations('store', new URL('./migrations/', import.meta.url));
      expect(await store.migrate(set)).toEqual([]);
      const rows = await store.db.query<{ version: number; flavour: string }>(
        `SELECT version, flavour FROM schema_migrations WHERE module = 'store' ORDER BY version`,
      );
      expect(rows.rows.map((r) => r.version)).toEqual(set.migrations.map((m) => m.version));
    });

    if (backend.name === 'pglite-timescale') {
      it('makes readings a compressed hypertable with a retention policy and continuous aggregates', async () => {
        const ht = await store.db.query<{ hypertable_name: string; compression_enabled: boolean }>(
          `SELECT hypertable_name, compression_enabled FROM timescaledb_information.hypertables`,
        );
        expect(ht.rows).toEqual([{ hypertable_name: 'readings', compression_enabled: true }]);
        const caggs = await store.db.query<{ view_name: string; materialized_only: boolean }>(
          `SELECT view_name, materialized_only FROM timescaledb_information.continuous_aggregates ORDER BY view_name`,
        );
        expect(caggs.rows).toEqual([
          { view_name: 'readings_15m', materialized_only: false },
          { view_name: 'readings_1h', materialized_only: false },
        ]);
        const jobs = await store.db.query<{ proc_name: string }>(
          `SELECT proc_name FROM timescaledb_information.jobs WHERE hypertable_name IN ('readings', 'readings_15m', 'readings_1h') ORDER BY proc_name`,
        );
        expect(jobs.rows.map((j) => j.proc_name)).toEqual([
          'policy_compression',
          'policy_refresh_continuous_aggregate',
          'policy_refresh_continuous_aggregate',
          'policy_retention',
        ]);
      });

      it('gives the same answers from materialized aggregates and compressed chunks', async () => {
        const p = 't/materialized/p';
        await store.readings.ingest(powerSeries(p));
        const before = await store.readings.range({
          pointId: p,
          from: T0,
          to: T0 + 180 * MIN,
          bucketMs: 15 * MIN,
        });
        await store.db.exec(`CALL refresh_continuous_aggregate('readings_15m', NULL, NULL)`);
        await store.db.exec(`CALL refresh_continuous_aggregate('readings_1h', NULL, NULL)`);
        await store.db.query(
          `SELECT compress_chunk(c, if_not_compressed => true) FROM show_chunks('readings') c`,
        );
        const after = await store.readings.range({
          pointId: p,
          from: T0,
          to: T0 + 180 * MIN,
          bucketMs: 15 * MIN,
        });
        expect(after).toEqual(before);
        // Late data into a compressed chunk is still deduplicated.
        expect(await store.readings.ingest(powerSeries(p).slice(0, 10))).toEqual({
          inserted: 0,
          duplicates: 10,
        });
        expect(
          (await store.readings.range({ pointId: p, from: T0, to: T0 + 3 * 3_600_000, bucketMs: null })).raw,
        ).toHaveLength(360);
      });
    }
  });
}

describe('embedded store on disk', () => {
  it('keeps history across a restart and refuses a second process on the same folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gfx-data-'));
    const first = await openStore({ dataDir: dir });
    await first.readings.ingest(powerSeries('t/persist/p'));
    await expect(openStore({ dataDir: dir })).rejects.toMatchObject({ code: 'GFX_STORE_LOCKED' });
    await first.close();
    const second = await openStore({ dataDir: dir });
    expect(await second.readings.count('t/persist/p')).toBe(360);
    await second.close();
  });
});
