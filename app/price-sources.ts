import { readFile } from 'node:fs/promises';
import { ValidationError } from '../model/index.js';
import { EntsoePriceSource, WeatherSource } from '../optimizer/index.js';
import type { SpotSource } from '../optimizer/live-prices.js';
import { parsePriceCsv } from '../optimizer/tariffs/csv.js';
import type { PriceSourceConfig, WeatherConfig } from './config.js';
import { APP_ERRORS } from './errors.js';

/**
 * Day-ahead prices from a CSV file, re-read on every request (an operator or a cron job
 * replaces it daily). A file that cannot be read or parsed keeps the prices read last, marked
 * stale with the reason, like the ENTSO-E source.
 */
export function csvSpotSource(file: string, currency: string): SpotSource {
  let known: ReturnType<typeof parsePriceCsv> = [];
  return {
    async get(fromMs, toMs) {
      let error: string | undefined;
      try {
        known = parsePriceCsv(await readFile(file, 'utf8'), { currency });
      } catch (e) {
        error = `price CSV ${file}: ${(e as Error).message}`;
      }
      const prices = known.filter((p) => p.endMs > fromMs && p.startMs < toMs);
      return { prices, stale: error !== undefined, ...(error ? { error } : {}) };
    },
  };
}

/** The configured spot-price source of a site (`sites[i].prices`); the ENTSO-E token from the environment. */
export function spotSource(
  c: PriceSourceConfig,
  o: { currency: string; env: NodeJS.ProcessEnv; at: string },
): SpotSource {
  if (c.kind === 'csv') return csvSpotSource(c.file, o.currency);
  const token = o.env[c.tokenEnv];
  if (!token)
    throw new ValidationError(
      'the configuration cannot run',
      [
        {
          path: `${o.at}.tokenEnv`,
          message: `the environment variable ${c.tokenEnv} (the ENTSO-E security token) is not set`,
          code: 'custom',
        },
      ],
      APP_ERRORS.configInvalid,
    );
  return new EntsoePriceSource({
    securityToken: token,
    zone: c.zone,
    ...(c.baseUrl ? { baseUrl: c.baseUrl } : {}),
    ...(c.timeoutMs ? { timeoutMs: c.timeoutMs } : {}),
    ...(c.maxAge !== undefined ? { maxAgeMs: c.maxAge } : {}),
    now: Date.now,
  });
}

/** The configured weather source of a site at its location (`sites[i].weather`). */
export function weatherSource(c: WeatherConfig, location: { lat: number; lon: number }): WeatherSource {
  return new WeatherSource({
    latitude: location.lat,
    longitude: location.lon,
    ...(c.baseUrl ? { baseUrl: c.baseUrl } : {}),
    ...(c.cacheFile ? { cacheFile: c.cacheFile } : {}),
    ...(c.timeoutMs ? { timeoutMs: c.timeoutMs } : {}),
    now: Date.now,
  });
}
