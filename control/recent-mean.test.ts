import { describe, expect, it } from 'vitest';
import type { Reading } from '../model/index.js';
import { RecentMeans } from './recent-mean.js';

const MIN = 60_000;
const r = (ts: number, value: number | null, quality: Reading['quality'] = 'good'): Reading => ({
  pointId: 's/bms/hp',
  ts,
  value,
  quality,
});

describe('recent mean of a stepwise signal', () => {
  it('weights each value by how long it held, not by how often it was read', () => {
    const m = new RecentMeans({ tauMs: 60 * MIN, minSpanMs: 15 * MIN });
    // An on/off pump reported only on change: 40 kW for 10 minutes, off for 30, on again.
    m.update(r(0, 0));
    m.update(r(20 * MIN, 40));
    m.update(r(30 * MIN, 0));
    expect(m.get('s/bms/hp', 10 * MIN)).toBeUndefined();
    const at60 = m.get('s/bms/hp', 60 * MIN)!;
    // Exact: 40 kW held from 20 to 30 min, weighted by e^{-(60−t)/60} over the window.
    const exact = 40 * (Math.exp(-30 / 60) - Math.exp(-40 / 60));
    expect(at60).toBeCloseTo(exact, 9);
    // Many repeated readings of the same value change nothing.
    const n = new RecentMeans({ tauMs: 60 * MIN, minSpanMs: 15 * MIN });
    n.update(r(0, 0));
    n.update(r(20 * MIN, 40));
    for (let t = 21; t < 30; t++) n.update(r(t * MIN, 40));
    n.update(r(30 * MIN, 0));
    expect(n.get('s/bms/hp', 60 * MIN)).toBeCloseTo(exact, 9);
  });

  it('starts again after a bad reading, and ignores late ones', () => {
    const m = new RecentMeans({ tauMs: 60 * MIN, minSpanMs: 15 * MIN });
    m.update(r(0, 10));
    m.update(r(20 * MIN, null, 'bad'));
    expect(m.get('s/bms/hp', 30 * MIN)).toBeUndefined();
    m.update(r(30 * MIN, 20));
    m.update(r(25 * MIN, 99));
    expect(m.get('s/bms/hp', 50 * MIN)).toBeCloseTo(20, 9);
  });
});
