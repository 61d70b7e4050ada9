import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reading } from '../model/index.js';
import { openStore, type Store } from '../store/index.js';
import { DiskQueue } from './disk-queue.js';
import { Hub } from './hub.js';
import { type ReadingSink, StoreWriter } from './store-writer.js';

let store: Store;
beforeAll(async () => {
  store = await openStore({ dataDir: 'memory://' });
});
afterAll(async () => {
  await store.close();
});

/** The real store, with a switch that makes it refuse writes the way an unreachable server does. */
class Outage implements ReadingSink {
  down = false;
  calls: number[] = [];
  constructor(private readonly inner: ReadingSink) {}
  async ingest(batch: readonly Reading[]) {
    this.calls.push(batch.length);
    if (this.down) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
    return this.inner.ingest(batch);
  }
}

function readings(point: string, n: number, start = Date.UTC(2026, 0, 1)): Reading[] {
  return Array.from({ length: n }, (_, i) => ({
    pointId: point,
    ts: start + i * 1000,
    value: i,
    quality: 'good' as const,
  }));
}

const until = async (cond: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('store writer', () => {
  it('writes full batches at once and the remainder after the delay', async () => {
    const hub = new Hub();
    const sink = new Outage(store.readings);
    const writer = new StoreWriter(sink, { maxBatch: 100, maxDelayMs: 200 }).start(hub.readings$);
    hub.publishReadings(readings('w/batch/p', 250));
    await until(() => sink.calls.length >= 2);
    expect(sink.calls.slice(0, 2)).toEqual([100, 100]);
    await until(() => writer.status().stored === 250);
    expect(sink.calls).toEqual([100, 100, 50]);
    await writer.stop();
    expect(await store.readings.count('w/batch/p')).toBe(250);
  });

  it('survives a store outage: spills to disk and replays in order, nothing lost or doubled', async () => {
    const hub = new Hub();
    const sink = new Outage(store.readings);
    const disk = await DiskQueue.open(await mkdtemp(join(tmpdir(), 'gfx-spill-')));
    const writer = new StoreWriter(sink, {
      maxBatch: 500,
      maxDelayMs: 50,
      minRetryMs: 20,
      maxRetryMs: 100,
      disk,
    });
    writer.start(hub.readings$);
    const all = readings('w/outage/p', 5000);
    hub.publishReadings(all.slice(0, 1000));
    await until(() => writer.status().stored === 1000);

    sink.down = true;
    hub.publishReadings(all.slice(1000, 3000));
    await until(() => writer.status().state === 'retrying' && disk.pendingReadings >= 2000);
    expect(writer.status().pendingMemory).toBeLessThanOrEqual(500);
    expect(writer.status().lastError).toMatch(/ECONNREFUSED/);

    sink.down = false;
    hub.publishReadings(all.slice(3000));
    await until(() => writer.status().stored === 5000 && disk.pendingReadings === 0);
    const status = await writer.stop();
    expect(status).toMatchObject({
      received: 5000,
      stored: 5000,
      duplicates: 0,
      dropped: 0,
      state: 'stopped',
    });
    expect(await store.readings.count('w/outage/p')).toBe(5000);
    const raw = await store.readings.range({
      pointId: 'w/outage/p',
      from: 0,
      to: Date.UTC(2027, 0, 1),
      bucketMs: null,
    });
    expect(raw.raw.map((r) => r.value)).toEqual(all.map((r) => r.value));
  });

  it('keeps what the store refused at shutdown on disk for the next start', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gfx-spill-'));
    const hub = new Hub();
    const sink = new Outage(store.readings);
    sink.down = true;
    const w1 = new StoreWriter(sink, {
      maxBatch: 100,
      maxDelayMs: 20,
      disk: await DiskQueue.open(dir),
    }).start(hub.readings$);
    hub.publishReadings(readings('w/restart/p', 321));
    const s1 = await w1.stop();
    expect(s1).toMatchObject({ stored: 0, dropped: 0, pendingDisk: 321 });

    sink.down = false;
    const w2 = new StoreWriter(sink, { maxBatch: 100, maxDelayMs: 20, disk: await DiskQueue.open(dir) });
    w2.start(new Hub().readings$);
    await until(() => w2.status().stored === 321);
    await w2.stop();
    expect(await store.readings.count('w/restart/p')).toBe(321);
  });

  for (const failure of ['refuses writes', 'hangs'] as const) {
    it(`puts every reading on disk within the spool bound while the store ${failure}, without waiting for a full batch`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'gfx-bound-'));
      const hub = new Hub();
      let calls = 0;
      // A store that refuses (server down) or never answers (a connection that hangs).
      const sink: ReadingSink = {
        ingest: () => {
          calls += 1;
          return failure === 'hangs' ? new Promise(() => {}) : Promise.reject(new Error('ECONNREFUSED'));
        },
      };
      const writer = new StoreWriter(sink, {
        maxDelayMs: 20,
        spoolAfterMs: 200,
        disk: await DiskQueue.open(dir),
      }).start(hub.readings$);
      // A gateway's trickle: far fewer readings than a batch.
      const all = readings('w/bound/p', 40);
      for (const r of all.slice(0, 20)) hub.publishReadings([r]);
      await until(() => calls > 0);
      for (const r of all.slice(20)) hub.publishReadings([r]);
      // What a restart after kill -9 would find: a copy of the queue's files, reopened.
      const copy = await mkdtemp(join(tmpdir(), 'gfx-bound-copy-'));
      const snapshot = async () => {
        await cp(dir, copy, { recursive: true, force: true });
        const n = await (async () => {
          const q = await DiskQueue.open(copy);
          let count = 0;
          for (let batch = await q.peek(1000); batch; batch = await q.peek(1000)) {
            count += batch.length;
            await q.ack();
          }
          await q.close();
          return count;
        })();
        await rm(copy, { recursive: true, force: true });
        return n;
      };
      const end = Date.now() + 10_000;
      let found = 0;
      while (found < all.length && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 50));
        found = await snapshot();
      }
      expect(found).toBeGreaterThanOrEqual(all.length);
      expect(writer.status().pendingMemory).toBe(0);
      hub.close();
      if (failure === 'refuses writes') await writer.stop();
    });
  }

  it('without a disk queue, holds at most maxMemory readings and counts the ones it drops', async () => {
    const hub = new Hub();
    const sink = new Outage(store.readings);
    sink.down = true;
    const writer = new StoreWriter(sink, {
      maxBatch: 100,
      maxMemory: 1000,
      maxDelayMs: 10,
      minRetryMs: 10_000,
    });
    writer.start(hub.readings$);
    hub.publishReadings(readings('w/bounded/p', 5000));
    await until(() => writer.status().state === 'retrying');
    expect(writer.status().pendingMemory).toBeLessThanOrEqual(1000);
    expect(writer.status().dropped).toBe(4000);
    sink.down = false;
    const status = await writer.stop();
    expect(status.stored).toBe(1000);
    // The newest readings are the ones kept.
    const raw = await store.readings.range({
      pointId: 'w/bounded/p',
      from: 0,
      to: Date.UTC(2027, 0, 1),
      bucketMs: null,
    });
    expect(raw.raw[0]!.value).toBe(4000);
  });

  it('flushes when the hub closes', async () => {
    const hub = new Hub();
    const writer = new StoreWriter(store.readings, { maxBatch: 1000, maxDelayMs: 60_000 }).start(
      hub.readings$,
    );
    hub.publishReadings(readings('w/close/p', 10));
    hub.close();
    await until(() => writer.status().stored === 10);
    await writer.stop();
  });
});
