import { describe, expect, it } from 'vitest';
import { frequencySettlementRow, PROOF_DEVICE, proofPoints, proofReadings } from './proof-log.js';

describe('the frequency-response proof as readings', () => {
  it('gives frequency, the response requested and the metered power in W, at the sample instant', () => {
    const t = Date.UTC(2026, 11, 7, 10);
    expect(
      proofReadings('bern', {
        tMs: t,
        hz: 49.95,
        responseKw: 2.5,
        active: true,
        meteredKw: -1.25,
        deliveredKw: 2.4,
      }),
    ).toEqual([
      { pointId: `bern/${PROOF_DEVICE}/frequency`, ts: t, value: 49.95, quality: 'good' },
      { pointId: `bern/${PROOF_DEVICE}/requested`, ts: t, value: 2500, quality: 'good' },
      { pointId: `bern/${PROOF_DEVICE}/metered`, ts: t, value: -1250, quality: 'good' },
      { pointId: `bern/${PROOF_DEVICE}/delivered`, ts: t, value: 2400, quality: 'good' },
    ]);
  });

  it('leaves the metered power and the delivery out before their first readings, and names each point once', () => {
    const r = proofReadings('bern', { tMs: 0, hz: 50, responseKw: 0, active: false });
    expect(r.map((x) => x.pointId)).toEqual([
      `bern/${PROOF_DEVICE}/frequency`,
      `bern/${PROOF_DEVICE}/requested`,
    ]);
    expect(proofPoints('bern').map((p) => `${p.kind} ${p.unit}`)).toEqual([
      'frequency Hz',
      'active_power W',
      'active_power W',
      'active_power W',
    ]);
  });
});

describe('an FCR hour settled from its proof', () => {
  const H0 = Date.UTC(2026, 10, 18, 8);
  const obligation = {
    obligationId: 'fcr-n:2026-11-18T08:00:00.000Z:0',
    productId: 'fcr-n',
    siteId: 'lapp',
    startMs: H0,
    endMs: H0 + 3_600_000,
    heldKw: 100,
  };

  it('integrates requested and delivered kW over the hour, delivery counted in the direction asked', () => {
    // 30 min at +10 kW requested, 30 min at −20 kW; delivered 9 kW up, then 20 kW down.
    const requested = { ts: [H0, H0 + 1_800_000], kw: [10, -20] };
    const delivered = { ts: [H0, H0 + 1_800_000], kw: [9, -20] };
    // Samples repeat every second as the runtime logs them; the step integral is the same.
    const every = (s: { ts: number[]; kw: number[] }) => {
      const out = { ts: [] as number[], kw: [] as number[] };
      for (let t = H0; t < H0 + 3_600_000; t += 1000) {
        out.ts.push(t);
        out.kw.push(t < H0 + 1_800_000 ? s.kw[0]! : s.kw[1]!);
      }
      return out;
    };
    const row = frequencySettlementRow(obligation, every(requested), every(delivered));
    expect(row).toMatchObject({
      start: '2026-11-18T08:00:00.000Z',
      end: '2026-11-18T09:00:00.000Z',
      heldKw: 100,
      coveredS: 3600,
      deliveryMeteredS: 3600,
      requestedWh: 15_000, // 10 kW × 0.5 h + 20 kW × 0.5 h
      deliveredWh: 14_500, // 9 × 0.5 + 20 × 0.5
      performanceRatio: 0.9667,
    });
    // Delivered against the request (more drawn while less was asked) counts negative.
    const wrong = frequencySettlementRow(obligation, every(requested), every({ ts: [], kw: [-9, 0] }));
    expect(wrong.deliveredWh).toBe(-4_500);
  });

  it('counts a hole in the proof as not covered, and gives no ratio without a delivery reading', () => {
    const requested = { ts: [H0, H0 + 10_000], kw: [5, 5] };
    const row = frequencySettlementRow(obligation, requested, { ts: [], kw: [] });
    // Each sample holds for 5 s (maxGapMs) after it: seconds 0–5 and 10–15, the rest is a hole.
    expect(row.coveredS).toBe(12);
    expect(row.deliveryMeteredS).toBe(0);
    expect(row.performanceRatio).toBeNull();
  });
});
