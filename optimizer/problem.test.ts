import { describe, expect, it } from 'vitest';
import { ValidationError } from '../model/index.js';
import { parseProblem } from './problem.js';

const base = (T: number) => ({
  prices: { import: Array(T).fill(0.2), export: Array(T).fill(0.05) },
  baseLoadKw: Array(T).fill(1),
  pvKw: Array(T).fill(0),
});

function messageOf(input: unknown): string {
  try {
    parseProblem(input);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).issues.map((i) => `${i.path}: ${i.message}`).join('\n');
  }
  throw new Error('expected a validation error');
}

describe('problem schema', () => {
  it('fills defaults: 15-minute slots, no grid limits, no assets', () => {
    const p = parseProblem(base(96));
    expect(p.slotMinutes).toBe(15);
    expect(p.grid).toEqual({});
    expect(p.assets).toEqual([]);
  });

  it('names the array whose length does not match the horizon', () => {
    const input = base(96);
    input.prices.export = Array(95).fill(0);
    expect(messageOf(input)).toContain('prices.export: expected 96 values, got 95');
    expect(
      messageOf({ ...base(96), slots: 96, prices: { import: Array(95).fill(0), export: Array(96).fill(0) } }),
    ).toContain('prices.import: expected 96 values, got 95');
    expect(messageOf({ ...base(4), grid: { importLimitKw: [1, 2, 3] } })).toContain(
      'grid.importLimitKw: expected 4 values, got 3',
    );
  });

  it('checks asset fields against the horizon and each other', () => {
    const msg = messageOf({
      ...base(4),
      assets: [
        { type: 'shiftable', id: 'a', maxKw: 1, energyKwh: 1, deadlineSlot: 5 },
        { type: 'ev', id: 'e', maxKw: 7, energyKwh: 1, arrivalSlot: 3, departureSlot: 2 },
        { type: 'battery', id: 'b', capacityKwh: 5, maxChargeKw: 1, maxDischargeKw: 1, initialKwh: 6 },
        {
          type: 'thermal',
          id: 'z',
          maxKw: 1,
          cop: 3,
          capacitanceKwhPerK: 0.1,
          resistanceKPerKw: 1,
          initialC: 20,
          outdoorC: [1, 2, 3],
          minC: 20,
          maxC: 19,
        },
        { type: 'sheddable', id: 'a', baselineKw: 1, maxShedFraction: 0.5 },
      ],
    });
    expect(msg).toContain('assets[0].deadlineSlot: must be at most 4 (the horizon)');
    expect(msg).toContain('assets[1].arrivalSlot: must be before departureSlot');
    expect(msg).toContain('assets[2].initialKwh: must not exceed capacityKwh');
    expect(msg).toContain('assets[3].outdoorC: expected 4 values, got 3');
    expect(msg).toContain('assets[3].resistanceKPerKw: time constant R·C');
    expect(msg).toContain('assets[3].maxC: must not be below minC');
    expect(msg).toContain('assets[4].id: duplicate asset id "a"');
  });

  it('refuses an export price above the import price when the grid is unlimited (unbounded LP)', () => {
    const input = base(2);
    input.prices.export = [0.05, 0.3];
    expect(messageOf(input)).toContain('prices.export[1]: above the import price');
    expect(() => parseProblem({ ...input, grid: { importLimitKw: 10, exportLimitKw: 10 } })).not.toThrow();
  });
});
