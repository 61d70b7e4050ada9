import { beforeAll, describe, expect, it } from 'vitest';
import { availability, HeadroomPlanSchema } from '../market/availability.js';
import { findProduct, loadProducts, type Product } from '../market/product.js';
import { lpBattery } from '../testkit/lp-problems.js';
import { checkSchedule } from './check.js';
import { randomProblem } from './generate.js';
import { headroomFromSchedule } from './headroom.js';
import { SOLVERS } from './index.js';
import { optimize } from './optimize.js';
import { type ProblemInput, parseProblem } from './problem.js';
import { solveChecked } from './testing.js';

// dr-event: 15 min to full activation + 1 h minimum duration = 75 minutes held.
let drEvent: Product;
beforeAll(async () => {
  drEvent = findProduct(await loadProducts(), 'dr-event');
});
const SUSTAIN = 75;

const solve = (input: ProblemInput) => solveChecked(input);

describe('market reservations in the LP', () => {
  // Six hours; a 10 kWh battery (lossless, 5 kW) starts at 5 kWh; 4 kW of load in hours 2–3
  // at 0.5, charging at 0.1 in hours 0–1.
  const site: ProblemInput = {
    slotMinutes: 60,
    prices: { import: [0.1, 0.1, 0.5, 0.5, 0.5, 0.5], export: Array(6).fill(0) },
    baseLoadKw: [0, 0, 4, 4, 0, 0],
    pvKw: Array(6).fill(0),
    assets: [lpBattery({ initialKwh: 5 })],
  };
  const reserved: ProblemInput = {
    ...site,
    reservations: [{ id: 'dr', upKw: [0, 0, 2, 0, 0, 0], sustainMinutes: SUSTAIN }],
  };

  it('prices holding 2 kW up for 75 minutes from hour 2, as computed by hand', async () => {
    // Free: charge 3 kWh at 0.1 and cover the 8 kWh from the battery: 0.3.
    const free = await solve(site);
    expect(free.r.objective).toBeCloseTo(0.3, 9);
    // Held: an activation from any moment of hour 2 reaches hours 2–4, so discharge ≤ 3 kW
    // there (2 kW of 1 h imported at 0.5 in each of hours 2 and 3), and an activation from
    // the end of hour 2 must still find 2.5 kWh at hour 4: E(2) − 6 ≥ 2.5, so charge 3.5.
    // 0.35 + 1.0 = 1.35; holding the reservation costs 1.05.
    const held = await solve(reserved);
    expect(held.r.objective).toBeCloseTo(1.35, 9);
    const b = held.r.schedule!.assets.b1!;
    expect(b.type === 'battery' && b.dischargeKw.slice(2, 4)).toEqual(
      [3, 3].map((v) => expect.closeTo(v, 9)),
    );
    expect(held.r.schedule!.reserves!.dr!.upKw.b1![2]).toBeCloseTo(2, 9);
  });

  it('the checker finds a plan that does not leave the reserved headroom', async () => {
    const free = await solve(site);
    const p = parseProblem(reserved);
    const schedule = {
      ...free.r.schedule!,
      reserves: { dr: { upKw: { b1: [0, 0, 2, 0, 0, 0] }, downKw: {} } },
    };
    const violations = checkSchedule(p, schedule).violations;
    expect(
      violations.some((v) => v.startsWith('battery b1 up reserve of slot 2: 2 kW but only 1 kW free')),
    ).toBe(true);
    expect(
      violations.some((v) => /battery b1 up reserve of slot 2: an activation from .* leaves/.test(v)),
    ).toBe(true);
  });

  it('names the reservation and the slot when it cannot be held', async () => {
    const r = await optimize(
      parseProblem({ ...site, reservations: [{ id: 'dr', upKw: [0, 0, 0, 11, 0, 0], sustainMinutes: 30 }] }),
      SOLVERS.highs,
    );
    expect(r.status).toBe('infeasible');
    expect(r.infeasibility).toMatchObject({ family: 'reserve[dr]', slot: 3 });
    expect(r.message).toMatch(/reservation dr cannot be held at slot 3: 11 kW up for 30 minutes/);
  });

  it('hands the market a headroom plan in which availability finds the reserved 2 kW', async () => {
    const { p, r } = await solve(reserved);
    const plan = HeadroomPlanSchema.parse(
      headroomFromSchedule(p, r.schedule!, { siteId: 'school', startMs: 0 }),
    );
    const slot2 = availability(plan, drEvent).slots[2]!;
    expect(slot2.upKw).toBeGreaterThanOrEqual(2 - 1e-6);
    // Both the inverter (5 − 3 kW planned) and the stored energy bind at exactly 2 kW.
    expect(slot2.sites[0]!.assets[0]).toMatchObject({ id: 'b1', upKw: expect.closeTo(2, 6) });
  });

  it.each([31, 32, 33])(
    'random site %i: reserves up and down hold in the checker and in market availability, at a cost',
    async (seed) => {
      const input = randomProblem(seed, { assets: 10, negativeExport: seed % 2 === 0 });
      const T = input.prices.import.length;
      const during = (kw: number) => Array.from({ length: T }, (_, t) => (t >= 8 && t < 24 ? kw : 0));
      const free = await solve(input);
      const { p, r } = await solve({
        ...input,
        reservations: [
          { id: 'up', upKw: during(3), sustainMinutes: SUSTAIN },
          { id: 'down', downKw: during(2), sustainMinutes: SUSTAIN },
        ],
      });
      expect(r.objective!).toBeGreaterThanOrEqual(free.r.objective! - 1e-6);
      const slots = availability(
        HeadroomPlanSchema.parse(headroomFromSchedule(p, r.schedule!)),
        drEvent,
      ).slots;
      // Batteries and heat pumps: the market's own bound must find what the LP holds.
      for (let t = 8; t < 24; t++) {
        for (const [dir, id] of [
          ['up', 'up'],
          ['down', 'down'],
        ] as const) {
          const held = r.schedule!.reserves![id]![dir === 'up' ? 'upKw' : 'downKw'];
          for (const asset of slots[t]!.sites[0]!.assets) {
            if (p.assets.find((a) => a.id === asset.id)?.type === 'sheddable') continue;
            const kw = dir === 'up' ? asset.upKw : asset.downKw;
            expect(kw).toBeGreaterThanOrEqual((held[asset.id]?.[t] ?? 0) - 1e-6);
          }
        }
      }
    },
  );
});
