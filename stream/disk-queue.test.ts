import { appendFile, mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Reading } from '../model/index.js';
import { DiskQueue } from './disk-queue.js';

const tmp = () => mkdtemp(join(tmpdir(), 'gfx-queue-'));

function batch(start: number, n: number): Reading[] {
  return Array.from({ length: n }, (_, i) => ({
    pointId: 'site/meter/power',
    ts: start + i,
    value: i % 7 === 0 ? null : (start + i) * 1.5,
    quality: i % 7 === 0 ? ('bad' as const) : ('good' as const),
  }));
}

async function drain(q: DiskQueue): Promise<Reading[]> {
  const out: Reading[] = [];
  for (let b = await q.peek(); b; b = await q.peek()) {
    out.push(...b);
    await q.ack();
  }
  return out;
}

describe('disk queue', () => {
  it('returns batches in the order appended, across segments', async () => {
    const q = await DiskQueue.open(await tmp(), { segmentBytes: 2000 });
    const all: Reading[] = [];
    for (let i = 0; i < 20; i++) {
      const b = batch(i * 10, 10);
      all.push(...b);
      await q.append(b);
    }
    expect(q.pendingReadings).toBe(200);
    expect(await drain(q)).toEqual(all);
    expect(q.pendingReadings).toBe(0);
    expect(q.bytes).toBe(0);
    await q.close();
  });

  it('keeps unacknowledged batches across a restart and does not repeat acknowledged ones', async () => {
    const dir = await tmp();
    const q1 = await DiskQueue.open(dir, { segmentBytes: 1500 });
    for (let i = 0; i < 10; i++) await q1.append(batch(i * 10, 10));
    await q1.peek();
    await q1.ack();
    await q1.peek();
    await q1.ack();
    await q1.close();

    const q2 = await DiskQueue.open(dir, { segmentBytes: 1500 });
    expect(q2.pendingReadings).toBe(80);
    const rest = await drain(q2);
    expect(rest.map((r) => r.ts)).toEqual(Array.from({ length: 80 }, (_, i) => 20 + i));
    await q2.append(batch(500, 3));
    await q2.close();

    const q3 = await DiskQueue.open(dir);
    expect((await drain(q3)).map((r) => r.ts)).toEqual([500, 501, 502]);
    await q3.close();
  });

  it('ignores a torn last line left by a crash mid-write', async () => {
    const dir = await tmp();
    const q1 = await DiskQueue.open(dir);
    await q1.append(batch(0, 5));
    await q1.close();
    const [seg] = (await readdir(dir)).filter((f) => f.endsWith('.seg'));
    await appendFile(join(dir, seg!), '5\t[["site/meter/power",9,1,0');
    const q2 = await DiskQueue.open(dir);
    expect(q2.pendingReadings).toBe(5);
    expect((await drain(q2)).length).toBe(5);
    await q2.append(batch(100, 2));
    expect((await drain(q2)).map((r) => r.ts)).toEqual([100, 101]);
    await q2.close();
  });

  it('drops the oldest segment past its size bound and counts what was lost', async () => {
    const q = await DiskQueue.open(await tmp(), { maxBytes: 6000, segmentBytes: 1000 });
    for (let i = 0; i < 40; i++) await q.append(batch(i * 10, 10));
    expect(q.bytes).toBeLessThanOrEqual(6000);
    expect(q.dropped).toBeGreaterThan(0);
    const left = await drain(q);
    expect(left.length + q.dropped).toBe(400);
    // What survives is the newest data, still in order.
    expect(left.at(-1)!.ts).toBe(399);
    expect(left.map((r) => r.ts)).toEqual([...left.map((r) => r.ts)].sort((a, b) => a - b));
    await q.close();
  });
});
