import { GridflexError } from '../model/index.js';
import { MARKET_ERRORS } from './errors.js';
import type { Activation, Product } from './product.js';

type DroopActivation = Extract<Activation, { kind: 'frequency_droop' }>;
type ThresholdActivation = Extract<Activation, { kind: 'frequency_threshold' }>;

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));

/**
 * Share of the held capacity a droop product asks for at frequency `hz`: +1 is full up
 * (under-frequency), −1 full down. Inside the deadband nothing; outside it the straight line
 * from `startHz` to `fullHz`, saturated at 100 %.
 */
export function droopFraction(activation: DroopActivation, hz: number): number {
  // The tolerance keeps a reading of exactly the deadband edge (49.99 Hz) inside it.
  if (Math.abs(hz - activation.nominalHz) <= activation.deadbandHz + 1e-9) return 0;
  const { up, down } = activation;
  if (up && hz < up.startHz) return clamp((up.startHz - hz) / (up.startHz - up.fullHz), 0, 1);
  if (down && hz > down.startHz) return -clamp((hz - down.startHz) / (down.fullHz - down.startHz), 0, 1);
  return 0;
}

/** The FFR trigger the provider chose; `hz` undefined picks the highest (earliest) one. */
export function ffrTrigger(
  activation: ThresholdActivation,
  hz?: number,
): { hz: number; fullActivation: number } {
  const sorted = [...activation.triggers].sort((a, b) => b.hz - a.hz);
  const chosen = hz === undefined ? sorted[0] : sorted.find((t) => t.hz === hz);
  if (!chosen)
    throw new GridflexError(MARKET_ERRORS.FFR_TRIGGER, `FFR has no trigger at ${hz} Hz`, {
      kind: 'input',
      details: { triggers: sorted.map((t) => t.hz) },
    });
  return chosen;
}

/**
 * The least share of a requested change that must be reached `elapsedMs` after the trigger
 * (the product's step deadlines; 0 before the first).
 */
export function requiredFraction(product: Product, elapsedMs: number): number {
  let fraction = 0;
  for (const step of product.steps) if (elapsedMs >= step.within) fraction = step.fraction;
  return fraction;
}

/**
 * The slowest constant ramp, in kW/s, that still meets every step deadline of a change from
 * zero to `capacityKw`: the steepest segment of the step envelope. Ramping any slower misses a
 * deadline; ramping faster than needed only stresses the assets.
 */
export function rampRateKwPerS(product: Product, capacityKw: number, ffrTriggerHz?: number): number {
  if (product.activation.kind === 'frequency_threshold') {
    return capacityKw / (ffrTrigger(product.activation, ffrTriggerHz).fullActivation / 1000);
  }
  let steepest = 0;
  let prev = { within: 0, fraction: 0 };
  for (const step of product.steps) {
    steepest = Math.max(steepest, (step.fraction - prev.fraction) / ((step.within - prev.within) / 1000));
    prev = step;
  }
  return capacityKw * steepest;
}

/** Move from `currentKw` towards `targetKw` by at most `rateKwPerS` over `dtMs`. */
export function rampToward(currentKw: number, targetKw: number, dtMs: number, rateKwPerS: number): number {
  const maxStep = (rateKwPerS * Math.max(0, dtMs)) / 1000;
  return currentKw + clamp(targetKw - currentKw, -maxStep, maxStep);
}

export interface LocalResponseConfig {
  product: Product;
  /** Capacity held for this product at this controller, kW. */
  capacityKw: number;
  /** FFR only: the trigger frequency chosen at prequalification (default the highest). */
  ffrTriggerHz?: number;
}

export interface LocalResponseState {
  tMs: number;
  /** Power change being delivered, kW (+ up, − down). */
  kw: number;
  /** What the droop curve or trigger asks for now, before ramp limiting. */
  targetKw: number;
  /** FFR: when full support began (trigger time + full-activation time); undefined when idle. */
  ffrSupportFromMs?: number;
}

export function initialLocalResponse(tMs: number): LocalResponseState {
  return { tMs, kw: 0, targetKw: 0 };
}

/**
 * One step of the local frequency response (FCR-N, FCR-D, FFR) for a frequency sample at
 * `tMs`. Pure: the gateway-side runtime calls it per sample and writes `kw` as a change to
 * its assets' baseline.
 */
export function stepLocalResponse(
  config: LocalResponseConfig,
  state: LocalResponseState,
  sample: { tMs: number; hz: number },
): LocalResponseState {
  const { product, capacityKw } = config;
  const dtMs = sample.tMs - state.tMs;
  const activation = product.activation;
  if (activation.kind === 'frequency_droop') {
    const targetKw = capacityKw * droopFraction(activation, sample.hz);
    const rate = rampRateKwPerS(product, capacityKw);
    return { tMs: sample.tMs, targetKw, kw: rampToward(state.kw, targetKw, dtMs, rate) };
  }
  if (activation.kind === 'frequency_threshold') {
    const trigger = ffrTrigger(activation, config.ffrTriggerHz);
    const below = sample.hz <= trigger.hz;
    let supportFrom = state.ffrSupportFromMs;
    // A dip while idle or while deactivating starts a new activation with its own support time.
    if (below && state.targetKw === 0) supportFrom = sample.tMs + trigger.fullActivation;
    const supporting = supportFrom !== undefined && (below || sample.tMs < supportFrom + product.minDuration);
    if (supporting) {
      const rate = rampRateKwPerS(product, capacityKw, trigger.hz);
      return {
        tMs: sample.tMs,
        targetKw: capacityKw,
        kw: rampToward(state.kw, capacityKw, dtMs, rate),
        ffrSupportFromMs: supportFrom,
      };
    }
    const kw = rampToward(state.kw, 0, dtMs, capacityKw * activation.maxDeactivationPerSecond);
    return { tMs: sample.tMs, targetKw: 0, kw, ...(kw > 0 ? { ffrSupportFromMs: supportFrom } : {}) };
  }
  throw new GridflexError(
    MARKET_ERRORS.NOT_LOCAL,
    `${product.name} is activated by the operator, not by local frequency`,
    { kind: 'input', details: { product: product.id } },
  );
}
