import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type DispatchAsset, dispatch, meritOrder, restoreSchedule } from './dispatch.js';

const MIN = 60_000;
const asset = (id: string, over: Partial<DispatchAsset> = {}): DispatchAsset => ({
  id,
  siteId: 'school',
  headroomKw: 50,
  rampKwPerS: 10,
  costPerKwh: 0,
  comfortMargin: 1,
  online: true,
  ...over,
});
const kwOf = (r: { allocations: { id: string; kw: number }[] }) =>
  Object.fromEntries(r.allocations.map((a) => [a.id, a.kw]));
const mfrr = { requestKw: 100, durationMs: 15 * MIN, withinMs: 750_000 };

describe('signal dispatch by merit order', () => {
  it('fills the cheapest assets first', () => {
    const r = dispatch(mfrr, [
      asset('pool', { costPerKwh: 5 }),
      asset('battery', { costPerKwh: 2 }),
      asset('fans', { costPerKwh: 8 }),
    ]);
    expect(kwOf(r)).toEqual({ battery: 50, pool: 50 });
    expect(r).toMatchObject({ allocatedKw: 100, shortfallKw: 0 });
  });

  it('at equal cost prefers comfort margin, then ramp, then remaining energy', () => {
    const order = meritOrder([
      asset('near-edge', { comfortMargin: 0.1 }),
      asset('slow', { rampKwPerS: 1 }),
      asset('small-store', { energyKwh: 10 }),
      asset('big-store', { energyKwh: 100 }),
    ]);
    expect(order.map((a) => a.id)).toEqual(['big-store', 'small-store', 'slow', 'near-edge']);
  });

  it('gives no asset more than it can reach by its ramp in time or hold with its energy', () => {
    const r = dispatch({ requestKw: 100, durationMs: 60 * MIN, withinMs: 30_000 }, [
      asset('slow-pump', { rampKwPerS: 0.5 }), // 15 kW in 30 s
      asset('small-battery', { energyKwh: 20 }), // 20 kW for an hour
      asset('fans', { costPerKwh: 1, headroomKw: 40 }),
    ]);
    expect(kwOf(r)).toEqual({ 'slow-pump': 15, 'small-battery': 20, fans: 40 });
    expect(r.shortfallKw).toBe(25);
  });

  it('leaves out offline assets and says why', () => {
    const r = dispatch(mfrr, [asset('a', { online: false }), asset('b', { headroomKw: 0 }), asset('c')]);
    expect(kwOf(r)).toEqual({ c: 50 });
    expect(r.excluded).toEqual([
      { id: 'a', reason: 'offline' },
      { id: 'b', reason: 'no_capacity' },
    ]);
    expect(r.shortfallKw).toBe(50);
  });

  it('re-dispatches the shortfall when an asset drops out, keeping the others as they are', () => {
    const assets = [
      asset('a', { costPerKwh: 1 }),
      asset('b', { costPerKwh: 2 }),
      asset('c', { costPerKwh: 3 }),
    ];
    const first = dispatch(mfrr, assets);
    expect(kwOf(first)).toEqual({ a: 50, b: 50 });
    const after = dispatch(
      { ...mfrr, withinMs: 3000 },
      assets.map((x) => (x.id === 'a' ? { ...x, online: false } : x)),
      first.allocations,
    );
    // c can ramp only 30 kW in the 3 s left
    expect(kwOf(after)).toEqual({ b: 50, c: 30 });
    expect(after.shortfallKw).toBe(20);
  });

  it('sheds the most expensive first when the request falls', () => {
    const assets = [asset('a', { costPerKwh: 1 }), asset('b', { costPerKwh: 2 })];
    const first = dispatch(mfrr, assets);
    const lower = dispatch({ ...mfrr, requestKw: 60 }, assets, first.allocations);
    expect(kwOf(lower)).toEqual({ a: 50, b: 10 });
  });

  it('never allocates more than requested or than an asset can hold', () => {
    const arb = fc.array(
      fc.record({
        headroomKw: fc.double({ min: 0, max: 100, noNaN: true }),
        rampKwPerS: fc.double({ min: 0.01, max: 50, noNaN: true }),
        energyKwh: fc.option(fc.double({ min: 0, max: 100, noNaN: true }), { nil: undefined }),
        costPerKwh: fc.integer({ min: 0, max: 5 }),
        online: fc.boolean(),
      }),
      { maxLength: 8 },
    );
    fc.assert(
      fc.property(arb, fc.double({ min: 0, max: 400, noNaN: true }), (specs, requestKw) => {
        const assets = specs.map((s, i) => asset(`a${i}`, s));
        const req = { requestKw, durationMs: 30 * MIN, withinMs: 60_000 };
        const r = dispatch(req, assets);
        expect(r.allocatedKw).toBeLessThanOrEqual(requestKw + 1e-9);
        expect(r.allocatedKw + r.shortfallKw).toBeCloseTo(requestKw, 6);
        for (const a of r.allocations) {
          const spec = assets.find((x) => x.id === a.id)!;
          expect(spec.online).toBe(true);
          expect(a.kw).toBeLessThanOrEqual(spec.headroomKw + 1e-9);
          expect(a.kw).toBeLessThanOrEqual(spec.rampKwPerS * 60 + 1e-9);
          if (spec.energyKwh !== undefined) expect(a.kw * 0.5).toBeLessThanOrEqual(spec.energyKwh + 1e-9);
        }
      }),
    );
  });
});

describe('restore after an activation', () => {
  const q = 15 * MIN;

  it('puts the energy back under the grid limit, most urgent first', () => {
    const s = restoreSchedule({
      startMs: 0,
      slotMs: q,
      siteLoadKw: [70, 75, 60, 60],
      gridLimitKw: 80,
      assets: [
        { id: 'battery', energyKwh: 5, maxKw: 20, priority: 1 },
        { id: 'gym', energyKwh: 2, maxKw: 8, priority: 0 },
      ],
    });
    expect(s.slots.map((x) => x.assets)).toEqual([
      { gym: 8, battery: 2 }, // 10 kW of room: the gym first
      { battery: 5 }, // 5 kW of room; 3.25 kWh still owed after it
      { battery: 13 }, // 3.25 kWh in a quarter hour
      {},
    ]);
    for (const slot of s.slots) expect(slot.siteKw).toBeLessThanOrEqual(80);
    expect(s.unrestoredKwh).toEqual({});
  });

  it('caps the rebound and reports what did not fit', () => {
    const s = restoreSchedule({
      startMs: 0,
      slotMs: q,
      siteLoadKw: [10, 90, 10],
      gridLimitKw: 80,
      maxReboundKw: 20,
      assets: [{ id: 'hp', energyKwh: 15, maxKw: 30, priority: 0 }],
    });
    expect(s.slots.map((x) => x.assets.hp ?? 0)).toEqual([20, 0, 20]);
    expect(s.unrestoredKwh.hp).toBeCloseTo(5, 9);
  });

  it('never pushes the site over the grid limit', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 120, noNaN: true }), { minLength: 1, maxLength: 12 }),
        fc.array(
          fc.record({
            energyKwh: fc.double({ min: 0, max: 50, noNaN: true }),
            maxKw: fc.double({ min: 0.1, max: 40, noNaN: true }),
          }),
          {
            maxLength: 5,
          },
        ),
        (loads, specs) => {
          const s = restoreSchedule({
            startMs: 0,
            slotMs: q,
            siteLoadKw: loads,
            gridLimitKw: 100,
            assets: specs.map((x, i) => ({ id: `a${i}`, priority: 0, ...x })),
          });
          s.slots.forEach((slot, i) => {
            const restoring = slot.siteKw - loads[i]!;
            expect(restoring).toBeGreaterThanOrEqual(0);
            if (restoring > 0) expect(slot.siteKw).toBeLessThanOrEqual(100 + 1e-9);
          });
        },
      ),
    );
  });
});
