import { describe, expect, it } from 'vitest';
import { LatestValues } from './latest.js';

describe('latest values with one freshness and quality policy', () => {
  it('uses good and uncertain values while fresh, never a bad one, and ignores late arrivals', () => {
    const v = new LatestValues({ maxAgeMs: 60_000 });
    v.update({ pointId: 's/d/p', ts: 1_000, value: 5, quality: 'good' });
    v.update({ pointId: 's/d/p', ts: 2_000, value: null, quality: 'bad' });
    expect(v.get('s/d/p', 30_000)).toBe(5);
    v.update({ pointId: 's/d/p', ts: 3_000, value: 6, quality: 'uncertain' });
    v.update({ pointId: 's/d/p', ts: 2_500, value: 7, quality: 'good' });
    expect(v.get('s/d/p', 30_000)).toBe(6);
    expect(v.get('s/d/p', 63_001)).toBeUndefined();
    expect(v.last('s/d/p')).toEqual({ ts: 3_000, value: 6, quality: 'uncertain' });
    const strict = new LatestValues({ acceptUncertain: false });
    strict.update({ pointId: 's/d/p', ts: 3_000, value: 6, quality: 'uncertain' });
    expect(strict.get('s/d/p', 3_000)).toBeUndefined();
  });
});
