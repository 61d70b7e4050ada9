import { z } from 'zod';
import { parseOrThrow } from '../../model/index.js';
import { OPT_ERRORS } from '../errors.js';

/**
 * The Open-Meteo forecast JSON (`/v1/forecast`, reference tariffs-weather.md §2), hourly
 * variables only. Pure: parsed JSON in, a `WeatherForecast` out; a field that does not fit is a
 * ValidationError (GFX_OPT_WEATHER) naming it, e.g. `hourly.temperature_2m[3]`.
 *
 * Radiation values are means over the hour *before* their timestamp; temperature and cloud
 * cover are instants. Times are `unixtime` (what the source asks for), or `iso8601` only with
 * `utc_offset_seconds` 0: local wall-clock times without an offset cannot be placed on a
 * clock-change night, and JavaScript would read them as process-local time.
 */
export const OPEN_METEO_HOURLY = [
  'temperature_2m',
  'shortwave_radiation',
  'direct_radiation',
  'diffuse_radiation',
  'cloud_cover',
] as const;

const value = z.number().refine(Number.isFinite, 'expected a finite number').nullable();

const OpenMeteoSchema = z
  .object({
    latitude: z.number().min(-90).max(90),
    longitude: z.number().min(-180).max(180),
    elevation: z.number().optional(),
    utc_offset_seconds: z.number().int(),
    hourly_units: z.object({ time: z.enum(['iso8601', 'unixtime']) }).passthrough(),
    hourly: z.object({
      time: z.array(z.union([z.number(), z.string()])).min(1),
      temperature_2m: z.array(value),
      shortwave_radiation: z.array(value),
      direct_radiation: z.array(value),
      diffuse_radiation: z.array(value),
      cloud_cover: z.array(value),
    }),
  })
  .superRefine((d, ctx) => {
    const n = d.hourly.time.length;
    for (const key of OPEN_METEO_HOURLY)
      if (d.hourly[key].length !== n)
        ctx.addIssue({
          code: 'custom',
          path: ['hourly', key],
          message: `expected ${n} values (one per hourly.time), got ${d.hourly[key].length}`,
        });
    const unix = d.hourly_units.time === 'unixtime';
    if (!unix && d.utc_offset_seconds !== 0)
      ctx.addIssue({
        code: 'custom',
        path: ['utc_offset_seconds'],
        message: 'iso8601 times must be GMT (offset 0); ask for timeformat=unixtime',
      });
    d.hourly.time.forEach((t, i) => {
      const ok = unix
        ? typeof t === 'number' && Number.isInteger(t)
        : typeof t === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d$/.test(t);
      if (!ok)
        ctx.addIssue({
          code: 'custom',
          path: ['hourly', 'time', i],
          message: unix ? 'expected unix seconds' : 'expected YYYY-MM-DDTHH:MM',
        });
    });
  });

/** One forecast hour. Irradiances (W/m²) are means over [startMs, endMs); null = not given. */
export interface WeatherHour {
  startMs: number;
  endMs: number;
  /** Air temperature at endMs (°C). */
  temperatureC: number | null;
  /** Global horizontal (shortwave) irradiance. */
  ghi: number | null;
  /** Direct irradiance on the horizontal plane. */
  directHorizontal: number | null;
  diffuse: number | null;
  /** Cloud cover at endMs (%). */
  cloudCoverPercent: number | null;
}

export interface WeatherForecast {
  latitude: number;
  longitude: number;
  hours: WeatherHour[];
}

/** A forecast from Open-Meteo's parsed JSON. */
export function parseOpenMeteo(json: unknown): WeatherForecast {
  const d = parseOrThrow(OpenMeteoSchema, json, 'Open-Meteo forecast', OPT_ERRORS.weather);
  const h = d.hourly;
  const hours = h.time.map((t, i): WeatherHour => {
    const endMs = typeof t === 'number' ? t * 1000 : Date.parse(`${t}Z`);
    return {
      startMs: endMs - 3_600_000,
      endMs,
      temperatureC: h.temperature_2m[i] ?? null,
      ghi: h.shortwave_radiation[i] ?? null,
      directHorizontal: h.direct_radiation[i] ?? null,
      diffuse: h.diffuse_radiation[i] ?? null,
      cloudCoverPercent: h.cloud_cover[i] ?? null,
    };
  });
  return { latitude: d.latitude, longitude: d.longitude, hours };
}
