import { describe, expect, it } from 'vitest';
import { type Site, SiteSchema, ValidationError } from '../model/index.js';
import { bernSite, house, PV_30KWP } from '../testkit/sites.js';
import { type SiteInputs, siteProblem } from './site-problem.js';

const site: Site = SiteSchema.parse(
  bernSite({
    name: 'Bern',
    grid: { importLimitKw: 80, exportLimitKw: 30 },
    buildings: [
      house(
        [],
        [
          { id: 'bat', type: 'battery', capacityKwh: 20, maxChargeKw: 10, maxDischargeKw: 8 },
          {
            id: 'zone',
            type: 'thermal',
            maxKw: 8,
            cop: 3.2,
            capacitanceKwhPerK: 40,
            resistanceKPerKw: 2,
            minC: 20,
            maxC: 22,
          },
          { id: 'fans', type: 'sheddable', nominalKw: 3, maxShedFraction: 0.4, costPerKwh: 0.05 },
          { id: 'ev', type: 'ev_charger', maxKw: 11 },
          { id: 'pool', type: 'shiftable', maxKw: 2, energyKwh: 4 },
          PV_30KWP,
        ],
      ),
    ],
  }),
);

const T = 4;
const inputs = (over: Partial<SiteInputs> = {}): SiteInputs => ({
  startMs: Date.UTC(2026, 5, 1),
  slots: T,
  state: { socPct: { bat: 50 }, temperatureC: { zone: 21 } },
  forecast: { pvKw: [0, 1, 2, 3], baseLoadKw: [4, 4, 4, 4], outdoorC: 5 },
  prices: { import: [0.3, 0.3, 0.2, 0.2], export: [0.05, 0.05, 0.05, 0.05] },
  ...over,
});

describe('siteProblem', () => {
  it('turns the site, its measured state and the forecasts into the optimiser problem', () => {
    const p = siteProblem(site, inputs());
    expect(p.prices.import).toEqual([0.3, 0.3, 0.2, 0.2]);
    expect(p.grid).toEqual({ importLimitKw: 80, exportLimitKw: 30 });
    expect(p.pvKw).toEqual([0, 1, 2, 3]);
    expect(p.baseLoadKw).toEqual([4, 4, 4, 4]);
    // 50 % of 20 kWh; band 10 %…100 % → 2…20 kWh; the end is not pinned (terminal value).
    expect(p.assets.find((a) => a.id === 'bat')).toMatchObject({
      type: 'battery',
      initialKwh: 10,
      minSocKwh: 2,
      capacityKwh: 20,
      maxChargeKw: 10,
      maxDischargeKw: 8,
    });
    expect(p.assets.find((a) => a.id === 'zone')).toMatchObject({
      type: 'thermal',
      initialC: 21,
      outdoorC: 5,
      minC: 20,
      maxC: 22,
      cop: 3.2,
    });
    expect(p.assets.find((a) => a.id === 'fans')).toMatchObject({
      type: 'sheddable',
      baselineKw: 3,
      maxShedFraction: 0.4,
    });
    // No EV session and no pool run requested: neither is planned.
    expect(p.assets.map((a) => a.id).sort()).toEqual(['bat', 'fans', 'zone']);
  });

  it('relaxes the battery band down to a SoC below it, and values the end instead of pinning it', () => {
    const p = siteProblem(site, inputs({ state: { socPct: { bat: 5 }, temperatureC: { zone: 21 } } }));
    // 5 % of 20 = 1 kWh, below the 2 kWh floor: the floor becomes 1 kWh.
    expect(p.assets.find((a) => a.id === 'bat')).toMatchObject({ initialKwh: 1, minSocKwh: 1 });
    const full = siteProblem(site, inputs({ state: { socPct: { bat: 100 }, temperatureC: { zone: 21 } } }));
    // Full battery: no end level; stored energy is worth the horizon's median import price.
    expect(full.assets.find((a) => a.id === 'bat')).not.toHaveProperty('finalMinKwh');
    expect(full.terminalPricePerKwh).toBeCloseTo(0.25, 12);
  });

  it('plans EV sessions and shiftable runs only when requested, and takes tighter grid limits', () => {
    const p = siteProblem(
      site,
      inputs({
        evSessions: { ev: { energyKwh: 5, arrivalSlot: 1, departureSlot: 4 } },
        shiftableRuns: { pool: { deadlineSlot: 3 } },
        grid: { importLimitKw: [50, 50, 40, 40] },
      }),
    );
    expect(p.assets.find((a) => a.id === 'ev')).toMatchObject({
      type: 'ev',
      maxKw: 11,
      energyKwh: 5,
      arrivalSlot: 1,
      departureSlot: 4,
    });
    expect(p.assets.find((a) => a.id === 'pool')).toMatchObject({
      type: 'shiftable',
      energyKwh: 4,
      earliestSlot: 0,
      deadlineSlot: 3,
    });
    expect(p.grid).toEqual({ importLimitKw: [50, 50, 40, 40], exportLimitKw: 30 });
  });

  it('refuses to plan without measured state, naming the missing value', () => {
    expect(() => siteProblem(site, inputs({ state: { socPct: {}, temperatureC: { zone: 21 } } }))).toThrow(
      /state\.socPct\.bat: no state of charge measured for battery bat/,
    );
    try {
      siteProblem(site, inputs({ state: {} }));
    } catch (e) {
      expect(e).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).issues.map((i) => i.path)).toEqual([
        'state.socPct.bat',
        'state.temperatureC.zone',
      ]);
    }
  });

  it('names the field when a forecast has the wrong length', () => {
    expect(() =>
      siteProblem(site, inputs({ forecast: { pvKw: [0, 1, 2], baseLoadKw: [4, 4, 4, 4], outdoorC: 5 } })),
    ).toThrow(/pvKw: expected 4 values, got 3/);
  });
});
