import type { Scenario } from '../scenario.js';
import { Building, type Environment } from './building.js';
import { localDay, localTime, utcOffsetMs } from './clock.js';
import {
  type ActivationRequest,
  activationRequests,
  dayAheadPrice,
  type FrequencyEvent,
  frequencyHz,
} from './grid.js';
import { clearSkyGhi, sunPosition } from './sun.js';
import { cloudCover, cloudyGhi, outdoorTempC } from './weather.js';

export interface SimulationOptions {
  seed: number;
  /** Simulated start, ms since epoch (UTC). */
  startMs: number;
  /** Longest physics step, seconds; longer advances are split. */
  maxStepS?: number;
}

/**
 * A scenario's buildings and grid, advanced in simulated time. Pure apart from its own state:
 * no clock is read and all randomness derives from the seed, so equal seeds give equal runs.
 */
export class Simulation {
  readonly scenario: Scenario;
  readonly seed: number;
  readonly buildings: Building[];
  readonly maxStepS: number;
  tMs: number;
  private extraEvents: FrequencyEvent[] = [];
  private frequencyProfile: ((tMs: number) => number | null) | null = null;

  constructor(scenario: Scenario, opts: SimulationOptions) {
    this.scenario = scenario;
    this.seed = opts.seed >>> 0;
    this.tMs = opts.startMs;
    this.maxStepS = opts.maxStepS ?? 1;
    this.buildings = scenario.buildings.map((b) => new Building(b, scenario, this.seed));
  }

  building(id: string): Building | undefined {
    return this.buildings.find((b) => b.id === id);
  }

  environment(tMs = this.tMs): Environment {
    const { lat, lon } = this.scenario.location;
    const tz = this.scenario.timezone;
    const local = localTime(tMs, tz);
    const sun = sunPosition(lat, lon, tMs);
    const clear = clearSkyGhi(sun.elevationDeg);
    return {
      tMs,
      local,
      day: localDay(tMs, tz),
      tzOffsetMs: utcOffsetMs(tz, tMs),
      outdoorC: outdoorTempC(this.scenario.climate, this.seed, lon, tMs),
      ghi: cloudyGhi(clear, cloudCover(this.scenario.climate, this.seed, tMs)),
      seed: this.seed,
    };
  }

  /** Advance to `toMs` in steps of at most `maxStepS`. */
  advanceTo(toMs: number): void {
    while (this.tMs < toMs) {
      const dtMs = Math.min(toMs - this.tMs, this.maxStepS * 1000);
      const env = this.environment();
      for (const b of this.buildings) b.step(env, dtMs / 1000);
      this.tMs += dtMs;
    }
  }

  advanceBy(seconds: number): void {
    this.advanceTo(this.tMs + seconds * 1000);
  }

  frequencyHz(tMs = this.tMs): number {
    const forced = this.frequencyProfile?.(tMs);
    if (forced !== undefined && forced !== null) return forced;
    return frequencyHz(this.seed, this.scenario.grid, tMs, this.extraEvents);
  }

  /**
   * Force the grid frequency (a prequalification test's step sequence or sine sweep): the
   * profile's value wherever it gives one, the scenario's frequency elsewhere; null removes it.
   */
  setFrequencyProfile(profile: ((tMs: number) => number | null) | null): void {
    this.frequencyProfile = profile;
  }

  /** Start an under-frequency event now (e.g. to test an FCR response). */
  triggerFrequencyEvent(nadirHz: number, holdS = 20): void {
    this.extraEvents = this.extraEvents.filter((e) => this.tMs - e.startMs < 3_600_000);
    this.extraEvents.push({ startMs: this.tMs, holdMs: holdS * 1000, recoveryMs: 60_000, nadirHz });
  }

  priceEurMwh(tMs = this.tMs): number {
    return dayAheadPrice(this.seed, this.scenario.grid, tMs, utcOffsetMs(this.scenario.timezone, tMs));
  }

  activations(fromMs: number, toMs: number): ActivationRequest[] {
    return activationRequests(this.seed, this.scenario.grid, fromMs, toMs);
  }
}
