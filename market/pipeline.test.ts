import { describe, expect, it } from 'vitest';
import { planActivation } from './activation.js';
import { availability, type HeadroomPlan } from './availability.js';
import { meterBeforeBaseline } from './baseline.js';
import { acceptBids, buildBids } from './bids.js';
import { settlementRows } from './delivery.js';
import { type DispatchAsset, dispatch } from './dispatch.js';
import { findProduct, loadProducts } from './product.js';

const HOUR = 3_600_000;
const Q = HOUR / 4;
const T0 = Date.UTC(2026, 11, 1, 8);

describe('the pure market chain: plan → availability → bids → obligation → activation → dispatch → settlement', () => {
  it('delivers an mFRR activation across two schools and settles it', async () => {
    const mfrr = findProduct(await loadProducts(), 'mfrr');
    // Two sites, 15-min slots for 3 hours: a battery at one, ventilation fans at both.
    const plan: HeadroomPlan = {
      startMs: T0,
      slotMs: Q,
      slots: 12,
      sites: [
        {
          siteId: 'school-a',
          assets: [
            {
              kind: 'battery',
              id: 'battery',
              initialKwh: 400,
              minKwh: 50,
              maxKwh: 500,
              maxChargeKw: 500,
              maxDischargeKw: 500,
              chargeEfficiency: 0.95,
              dischargeEfficiency: 0.95,
              plannedKw: Array(12).fill(0),
            },
            {
              kind: 'sheddable',
              id: 'fans',
              plannedKw: Array(12).fill(300),
              maxShedKw: 240,
              maxShedMinutes: 30,
            },
          ],
        },
        {
          siteId: 'school-b',
          assets: [
            {
              kind: 'sheddable',
              id: 'fans',
              plannedKw: Array(12).fill(500),
              maxShedKw: 400,
              maxShedMinutes: 30,
            },
          ],
        },
      ],
    };

    const avail = availability(plan, mfrr);
    // The battery holds 350 kWh × 0.95 over 17.5 min → power-limited at 500 kW.
    expect(avail.slots[0]!.sites.map((s) => s.upKw)).toEqual([740, 400]);

    const { bids } = buildBids(avail, mfrr, { kind: 'fixed', priceCentsPerMwh: 800 });
    const first = bids.find((b) => b.startMs === T0)!;
    expect(first.kw).toBe(1000); // 1,140 kW floored to whole MW

    const obligations = acceptBids(bids, [{ bidId: first.id }], mfrr);
    const activation = planActivation(
      { id: 'A39-42', productId: 'mfrr', startMs: T0 + 60_000, durationMs: 10 * 60_000, kw: 1000 },
      mfrr,
      obligations,
    );
    const share = Object.fromEntries(activation.sites.map((s) => [s.siteId, s.kw]));
    expect(share['school-a']! + share['school-b']!).toBeCloseTo(1000, 9);

    // Each site dispatches its share over its assets; at school B the fans are all it has.
    const request = (kw: number) => ({
      requestKw: kw,
      durationMs: 10 * 60_000,
      withinMs: mfrr.fullActivation,
    });
    const assetsA: DispatchAsset[] = [
      {
        id: 'fans',
        siteId: 'school-a',
        headroomKw: 240,
        rampKwPerS: 10,
        costPerKwh: 1,
        comfortMargin: 0.5,
        online: true,
      },
      {
        id: 'battery',
        siteId: 'school-a',
        headroomKw: 500,
        rampKwPerS: 100,
        energyKwh: 332,
        costPerKwh: 3,
        comfortMargin: 1,
        online: true,
      },
    ];
    const a = dispatch(request(share['school-a']!), assetsA);
    const b = dispatch(request(share['school-b']!), [
      {
        id: 'fans',
        siteId: 'school-b',
        headroomKw: 400,
        rampKwPerS: 10,
        costPerKwh: 1,
        comfortMargin: 1,
        online: true,
      },
    ]);
    expect(a.shortfallKw + b.shortfallKw).toBe(0);
    expect(a.allocations[0]).toMatchObject({ id: 'fans', kw: 240 }); // cheapest first

    // Metering: 1-min means; school A delivers fully, school B's fans give 90 %.
    const minutes = Array.from({ length: 20 }, (_, m) => T0 + m * 60_000);
    const loadA = 300 + 20;
    const loadB = 500 + 30;
    const metered = (base: number, kw: number, k: number) =>
      minutes[k]! < activation.startMs ? base : base - kw;
    const samplesA = minutes.map((tMs, k) => ({ tMs, kw: metered(loadA, a.allocatedKw, k) }));
    const samplesB = minutes.map((tMs, k) => ({ tMs, kw: metered(loadB, 0.9 * b.allocatedKw, k) }));
    const during = (xs: { tMs: number; kw: number }[]) =>
      xs.filter((x) => x.tMs >= activation.startMs && x.tMs < activation.endMs).map((x) => x.kw);

    const rows = settlementRows([
      {
        activationId: activation.id,
        productId: 'mfrr',
        direction: 'up',
        startMs: activation.startMs,
        intervalMs: 60_000,
        sites: [
          {
            siteId: 'school-a',
            requestedKw: share['school-a']!,
            baselineKw: Array(10).fill(meterBeforeBaseline(samplesA, activation.startMs, 60_000)),
            meteredKw: during(samplesA),
          },
          {
            siteId: 'school-b',
            requestedKw: share['school-b']!,
            baselineKw: Array(10).fill(meterBeforeBaseline(samplesB, activation.startMs, 60_000)),
            meteredKw: during(samplesB),
          },
        ],
      },
    ]);
    const byId = Object.fromEntries(rows.map((r) => [r.siteId, r]));
    expect(byId['school-a']!.performanceRatio).toBe(1);
    expect(byId['school-b']!.performanceRatio).toBe(0.9);
    const portfolio = byId.portfolio!;
    expect(portfolio.requestedWh).toBe(166_667); // 1,000 kW for 10 min, rounded once per site
    expect(portfolio.deliveredWh).toBe(Math.round((a.allocatedKw + 0.9 * b.allocatedKw) * (10 / 60) * 1000));
    expect(portfolio.shortfallWh).toBe(Math.round(0.1 * b.allocatedKw * (10 / 60) * 1000));
  });
});
