import { describe, expect, it } from 'vitest';
import { PROOF_DEVICE, proofPoints, proofReadings } from './proof-log.js';

describe('the frequency-response proof as readings', () => {
  it('gives frequency, the response requested and the metered power in W, at the sample instant', () => {
    const t = Date.UTC(2026, 11, 7, 10);
    expect(
      proofReadings('bern', { tMs: t, hz: 49.95, responseKw: 2.5, active: true, meteredKw: -1.25 }),
    ).toEqual([
      { pointId: `bern/${PROOF_DEVICE}/frequency`, ts: t, value: 49.95, quality: 'good' },
      { pointId: `bern/${PROOF_DEVICE}/requested`, ts: t, value: 2500, quality: 'good' },
      { pointId: `bern/${PROOF_DEVICE}/metered`, ts: t, value: -1250, quality: 'good' },
    ]);
  });

  it('leaves the metered power out before the first meter reading, and names each point once', () => {
    const r = proofReadings('bern', { tMs: 0, hz: 50, responseKw: 0, active: false });
    expect(r.map((x) => x.pointId)).toEqual([
      `bern/${PROOF_DEVICE}/frequency`,
      `bern/${PROOF_DEVICE}/requested`,
    ]);
    expect(proofPoints('bern').map((p) => `${p.kind} ${p.unit}`)).toEqual([
      'frequency Hz',
      'active_power W',
      'active_power W',
    ]);
  });
});
