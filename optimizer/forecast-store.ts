import { type ReadingsRepository, UnknownPointError } from '../store/index.js';
import {
  type BaseLoadForecast,
  baseLoadForecast,
  clearSkyPvKw,
  type ForecastError,
  forecastError,
  type Location,
  yieldFactor,
} from './forecast.js';

const WEEK_MS = 7 * 86_400_000;
const DAY_MS = 86_400_000;

/** A power point (W) and its sign in a sum, e.g. base load = grid import + PV output − heat pump. */
export interface PowerTerm {
  pointId: string;
  sign: 1 | -1;
}

/**
 * Forecasts from the store's history (the edge around forecast.ts): 15-minute buckets of the
 * ReadingsRepository's range query, one query per point and window.
 */
export class ForecastStore {
  constructor(
    private readonly readings: ReadingsRepository,
    private readonly slotMinutes = 15,
  ) {}

  private get slotMs(): number {
    return this.slotMinutes * 60_000;
  }

  /** Mean power per slot of one point in kW; null where the slot has no good reading. */
  private async pointKw(pointId: string, fromMs: number, slots: number): Promise<(number | null)[]> {
    const out: (number | null)[] = Array(slots).fill(null);
    let res: Awaited<ReturnType<ReadingsRepository['range']>>;
    try {
      res = await this.readings.range({
        pointId,
        from: fromMs,
        to: fromMs + slots * this.slotMs,
        bucketMs: this.slotMs,
      });
    } catch (e) {
      // A point never measured has no history yet: that is "no data", not a failure.
      if (e instanceof UnknownPointError) return out;
      throw e;
    }
    for (const b of res.buckets) {
      const t = Math.round((b.ts - fromMs) / this.slotMs);
      if (t >= 0 && t < slots && b.mean !== null) out[t] = b.mean / 1000;
    }
    return out;
  }

  /** Σ sign × power per slot, kW; null where any term is missing (a partial sum would mislead). */
  async seriesKw(terms: readonly PowerTerm[], fromMs: number, slots: number): Promise<(number | null)[]> {
    const parts = await Promise.all(terms.map((term) => this.pointKw(term.pointId, fromMs, slots)));
    return Array.from({ length: slots }, (_, t) => {
      let sum = 0;
      for (const [i, part] of parts.entries()) {
        const v = part[t];
        if (v === null || v === undefined) return null;
        sum += terms[i]!.sign * v;
      }
      return sum;
    });
  }

  /** Base load for the horizon from the same weekday and time over the last `weeks` weeks. */
  async baseLoad(o: {
    terms: readonly PowerTerm[];
    startMs: number;
    fallbackKw: readonly number[];
    weeks?: number;
  }): Promise<BaseLoadForecast> {
    const slots = o.fallbackKw.length;
    const history = await Promise.all(
      Array.from({ length: o.weeks ?? 4 }, (_, k) =>
        this.seriesKw(o.terms, o.startMs - (k + 1) * WEEK_MS, slots),
      ),
    );
    return baseLoadForecast(history, o.fallbackKw);
  }

  /**
   * Measured PV yield over the `days` before `endMs` divided by the clear-sky yield of the same
   * slots (slots without a measurement are left out of both), bounded (forecast.ts).
   */
  async pvYield(o: {
    term: PowerTerm;
    location: Location;
    kwp: number;
    endMs: number;
    days?: number;
  }): Promise<{ factor: number; measuredKwh: number; clearSkyKwh: number }> {
    const slots = Math.round(((o.days ?? 7) * DAY_MS) / this.slotMs);
    const from = o.endMs - slots * this.slotMs;
    const [measured, clear] = await Promise.all([
      this.seriesKw([o.term], from, slots),
      Promise.resolve(clearSkyPvKw(o.location, o.kwp, from, slots, this.slotMinutes)),
    ]);
    const h = this.slotMinutes / 60;
    let measuredKwh = 0;
    let clearSkyKwh = 0;
    measured.forEach((kw, t) => {
      if (kw === null) return;
      measuredKwh += Math.max(0, kw) * h;
      clearSkyKwh += clear[t]! * h;
    });
    return { factor: yieldFactor(measuredKwh, clearSkyKwh, o.kwp), measuredKwh, clearSkyKwh };
  }

  /** Error of a past forecast (slot 0 at `startMs`) against what the store measured since. */
  async error(
    forecastKw: readonly number[],
    terms: readonly PowerTerm[],
    startMs: number,
  ): Promise<ForecastError> {
    return forecastError(forecastKw, await this.seriesKw(terms, startMs, forecastKw.length));
  }
}
