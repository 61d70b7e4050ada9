import { readFile, rename, writeFile } from 'node:fs/promises';
import { GridflexError } from '../../model/index.js';
import { OPT_ERRORS } from '../errors.js';
import { httpText } from '../http-text.js';
import { OPEN_METEO_HOURLY, parseOpenMeteo, type WeatherForecast } from './open-meteo.js';

/**
 * The weather forecast of one location from an Open-Meteo-compatible HTTP endpoint, with a
 * cache: a forecast younger than `maxAgeMs` is served without asking; when the source fails
 * (HTTP error, timeout, malformed answer) the last good forecast is served marked `stale`
 * with the error, so the plan can say it planned on old weather. Only with no forecast at all
 * does `get()` throw. With `cacheFile`, the last good forecast survives a restart.
 *
 * The free api.open-meteo.com is for non-commercial use only: an operator sets `baseUrl` to
 * the paid customer endpoint (with its `apikey` in `extraParams`) or a self-hosted instance.
 */
export interface WeatherSourceOptions {
  latitude: number;
  longitude: number;
  /** Default https://api.open-meteo.com/v1/forecast */
  baseUrl?: string;
  forecastDays?: number;
  /** Hours of the past day kept (to measure the forecast and the yield against). */
  pastDays?: number;
  timeoutMs?: number;
  /** Refetch when the cached forecast is older (default one hour: the models update hourly at best). */
  maxAgeMs?: number;
  cacheFile?: string;
  extraParams?: Record<string, string>;
  /** The clock (ms); injected so tests pin time. */
  now: () => number;
}

export interface WeatherReading {
  forecast: WeatherForecast;
  /** When this forecast was fetched. */
  fetchedAtMs: number;
  /** True when the source failed and this is the last good forecast. */
  stale: boolean;
  /** Why it is stale. */
  error?: string;
}

interface Cached {
  forecast: WeatherForecast;
  fetchedAtMs: number;
}

export class WeatherSource {
  readonly #o: WeatherSourceOptions;
  #last: Cached | null = null;
  #loaded = false;

  constructor(options: WeatherSourceOptions) {
    this.#o = options;
  }

  /** The request URL (no secrets in it unless `extraParams` holds a key: do not log it then). */
  url(): string {
    const o = this.#o;
    const q = new URLSearchParams({
      latitude: String(o.latitude),
      longitude: String(o.longitude),
      hourly: OPEN_METEO_HOURLY.join(','),
      timeformat: 'unixtime',
      timezone: 'GMT',
      forecast_days: String(o.forecastDays ?? 3),
      past_days: String(o.pastDays ?? 1),
      ...o.extraParams,
    });
    return `${o.baseUrl ?? 'https://api.open-meteo.com/v1/forecast'}?${q}`;
  }

  async get(): Promise<WeatherReading> {
    const now = this.#o.now();
    const last = await this.#cached();
    if (last && now - last.fetchedAtMs < (this.#o.maxAgeMs ?? 3_600_000)) return { ...last, stale: false };
    try {
      const forecast = await this.#fetch();
      this.#last = { forecast, fetchedAtMs: now };
      if (this.#o.cacheFile) await this.#save(this.#o.cacheFile, this.#last);
      return { ...this.#last, stale: false };
    } catch (e) {
      if (!last) throw e;
      return { ...last, stale: true, error: (e as Error).message };
    }
  }

  async #fetch(): Promise<WeatherForecast> {
    const what = `weather forecast from ${this.#o.baseUrl ?? 'Open-Meteo'}`;
    const fail = (message: string, cause?: unknown) =>
      new GridflexError(OPT_ERRORS.weather, `${what}: ${message}`, { kind: 'unavailable', cause });
    const res = await httpText(this.url(), {
      timeoutMs: this.#o.timeoutMs ?? 10_000,
      what,
      code: OPT_ERRORS.weather,
    });
    const body = res.body;
    if (!res.ok) {
      // Open-Meteo explains a 400 as {"error": true, "reason": "…"}.
      let reason = '';
      try {
        reason = String((JSON.parse(body) as { reason?: unknown }).reason ?? '');
      } catch {}
      throw fail(`HTTP ${res.status}${reason ? `: ${reason}` : ''}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch (e) {
      throw fail(`the answer is not JSON (${(e as Error).message})`, e);
    }
    return parseOpenMeteo(json);
  }

  async #cached(): Promise<Cached | null> {
    if (!this.#loaded && this.#o.cacheFile) {
      this.#loaded = true;
      try {
        const c = JSON.parse(await readFile(this.#o.cacheFile, 'utf8')) as Cached;
        if (Number.isFinite(c.fetchedAtMs) && Array.isArray(c.forecast?.hours)) this.#last = c;
      } catch {
        // No cache yet or an unreadable one: fetch afresh.
      }
    }
    return this.#last;
  }

  async #save(file: string, c: Cached): Promise<void> {
    // Written aside and renamed, so a crash mid-write never leaves a half file as the cache.
    await writeFile(`${file}.tmp`, JSON.stringify(c));
    await rename(`${file}.tmp`, file);
  }
}
