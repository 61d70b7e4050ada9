import { initialLocalResponse, stepLocalResponse } from './droop.js';
import type { Product } from './product.js';

export interface FrequencySample {
  tMs: number;
  hz: number;
  /** Provider's power baseline and the metered power, consumption positive, kW. */
  baselineKw: number;
  meteredKw: number;
}

export interface FrequencyResponseCheck {
  /** Per sample: the reference response and what was delivered (baseline − metered), kW, + up. */
  expectedKw: number[];
  deliveredKw: number[];
  expectedKwh: number;
  /** Delivered in the expected direction, capped at the expected per sample (over-delivery earns nothing). */
  creditedKwh: number;
  shortfallKwh: number;
  /** Largest per-sample deficit beyond the tolerance, kW. */
  worstDeficitKw: number;
  /** creditedKwh / expectedKwh (1 when nothing was expected). */
  performanceRatio: number;
}

/**
 * Verify a local frequency response (FCR-N, FCR-D, FFR) against the reference the product
 * defines: the droop curve or FFR trigger of markets.md B6.5, ramp-limited to the product's
 * step deadlines (the same reducer the gateway runs, so the reference is reproducible from the
 * frequency log). Samples are taken as evenly spaced at the product's measurement resolution;
 * each weighs one resolution step. A deficit up to `toleranceKw` per sample is not counted.
 * The shortfall is the distance below the reference, so moving the wrong way counts more than
 * not moving at all.
 */
export function checkFrequencyResponse(
  product: Product,
  capacityKw: number,
  samples: FrequencySample[],
  options: { toleranceKw?: number; ffrTriggerHz?: number } = {},
): FrequencyResponseCheck {
  const tolerance = options.toleranceKw ?? 0;
  const h = product.measurementResolution / 3_600_000;
  const config = { product, capacityKw, ffrTriggerHz: options.ffrTriggerHz };
  let state = initialLocalResponse(samples[0]?.tMs ?? 0);
  const expectedKw: number[] = [];
  const deliveredKw: number[] = [];
  let expectedKwh = 0;
  let creditedKwh = 0;
  let shortfallKwh = 0;
  let worstDeficitKw = 0;
  for (const s of samples) {
    state = stepLocalResponse(config, state, { tMs: s.tMs, hz: s.hz });
    const expected = state.kw;
    const delivered = s.baselineKw - s.meteredKw;
    expectedKw.push(expected);
    deliveredKw.push(delivered);
    const size = Math.abs(expected);
    const along = expected === 0 ? 0 : delivered * Math.sign(expected);
    const deficit = Math.max(0, size - along - tolerance);
    expectedKwh += size * h;
    creditedKwh += Math.min(size, Math.max(0, along)) * h;
    shortfallKwh += deficit * h;
    worstDeficitKw = Math.max(worstDeficitKw, deficit);
  }
  return {
    expectedKw,
    deliveredKw,
    expectedKwh,
    creditedKwh,
    shortfallKwh,
    worstDeficitKw,
    performanceRatio: expectedKwh === 0 ? 1 : creditedKwh / expectedKwh,
  };
}
