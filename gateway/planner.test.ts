import { describe, expect, it } from 'vitest';
import { planReads, type ReadItem, sliceItem } from './planner.js';

const reg = (key: string, address: number, count = 2, fn: ReadItem['function'] = 'holding'): ReadItem => ({
  key,
  function: fn,
  address,
  count,
});

describe('planReads', () => {
  it('merges contiguous and nearby registers into one request', () => {
    const plan = planReads([reg('c', 10), reg('a', 0), reg('b', 2)], { maxRegisters: 125, maxGap: 10 });
    expect(plan).toHaveLength(1);
    expect(plan[0]).toMatchObject({ function: 'holding', address: 0, count: 12 });
    expect(plan[0]!.items.map((i) => i.key)).toEqual(['a', 'b', 'c']);
  });

  it('does not bridge a gap larger than maxGap', () => {
    const plan = planReads([reg('a', 0), reg('b', 13)], { maxRegisters: 125, maxGap: 10 });
    expect(plan.map((r) => [r.address, r.count])).toEqual([
      [0, 2],
      [13, 2],
    ]);
  });

  it('never exceeds maxRegisters', () => {
    const items = Array.from({ length: 100 }, (_, i) => reg(`p${i}`, i * 2));
    const plan = planReads(items, { maxRegisters: 125, maxGap: 0 });
    expect(plan.map((r) => r.count)).toEqual([124, 76]);
    expect(planReads(items, { maxRegisters: 80, maxGap: 0 }).every((r) => r.count <= 80)).toBe(true);
    expect(plan.flatMap((r) => r.items)).toHaveLength(100);
  });

  it('does not read across a forbidden range even when the gap is small', () => {
    const forbidden = [{ from: 4, to: 5 }];
    const plan = planReads([reg('a', 0), reg('b', 8)], { maxRegisters: 125, maxGap: 10, forbidden });
    expect(plan).toHaveLength(2);
    const other = planReads([reg('a', 0), reg('b', 8)], {
      maxRegisters: 125,
      maxGap: 10,
      forbidden: [{ function: 'input', from: 4, to: 5 }],
    });
    expect(other).toHaveLength(1);
  });

  it('keeps tables apart and shares overlapping registers', () => {
    const plan = planReads(
      [reg('h', 0), reg('i', 0, 2, 'input'), reg('dup', 0), reg('c', 3, 1, 'coil'), reg('over', 1, 1)],
      { maxRegisters: 125, maxGap: 10 },
    );
    expect(plan.map((r) => [r.function, r.address, r.count, r.items.length])).toEqual([
      ['coil', 3, 1, 1],
      ['input', 0, 2, 1],
      ['holding', 0, 2, 3],
    ]);
  });

  it('slices each item out of the response', () => {
    const [req] = planReads([reg('a', 100, 1), reg('b', 103, 2)], { maxRegisters: 125, maxGap: 5 });
    const data = [10, 11, 12, 13, 14];
    expect(sliceItem(req!, data, req!.items[1]!)).toEqual([13, 14]);
  });
});
