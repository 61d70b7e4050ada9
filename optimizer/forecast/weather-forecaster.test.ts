import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Forecaster } from '../live.js';
import { parseOpenMeteo } from './open-meteo.js';
import { PvArraySchema, pvFromWeather, WEATHER_YIELD_DEFAULT } from './solar.js';
import { weatherForecaster } from './weather-forecaster.js';

const bern = parseOpenMeteo(
  JSON.parse(readFileSync(new URL('./fixtures/open-meteo-bern.json', import.meta.url), 'utf8')),
);
const south = PvArraySchema.parse({ kwp: 10, tiltDeg: 30, azimuthDeg: 180 });
// The fixture's two days and four hours past them (not covered: the base's values stay).
const START = Date.parse('2026-06-20T00:00Z');
const SLOTS = 208;
const base: Forecaster = async (_s, slots) => ({
  pvKw: Array(slots).fill(0.5),
  baseLoadKw: Array(slots).fill(3),
  outdoorC: 10,
});
const reading = { forecast: bern, fetchedAtMs: START, stale: false };

describe('weatherForecaster', () => {
  it('PV from the forecast on the arrays × the default yield, the base where the forecast ends; temperature per slot', async () => {
    const f = await weatherForecaster(base, { get: async () => reading }, [south])(START, SLOTS, 15);
    const raw = pvFromWeather(bern, [south], { startMs: START, slots: SLOTS, slotMinutes: 15 });
    expect(f.pvKw[48]).toBeCloseTo(raw.kw[48]! * WEATHER_YIELD_DEFAULT, 12);
    expect(f.pvKw[48]).toBeGreaterThan(3);
    // Night: no sun, whatever the base said.
    expect(f.pvKw[0]).toBe(0);
    for (const t of raw.missing) expect(f.pvKw[t]).toBe(0.5);
    expect(raw.missing.length).toBeGreaterThan(0);
    expect(f.baseLoadKw).toEqual(Array(SLOTS).fill(3));
    const c = f.outdoorC as number[];
    expect(c).toHaveLength(SLOTS);
    // The forecast's midday is warmer than its night, and differs from the constant 10 °C.
    expect(c[56]!).toBeGreaterThan(c[16]!);
    expect(c.some((v) => v !== 10)).toBe(true);
  });

  it('without arrays only the temperature; a source that never answered leaves the base forecast', async () => {
    const tOnly = await weatherForecaster(base, { get: async () => reading }, [])(START, 96, 15);
    expect(tOnly.pvKw).toEqual(Array(96).fill(0.5));
    expect(Array.isArray(tOnly.outdoorC)).toBe(true);
    const failing = {
      get: async () => {
        throw new Error('weather forecast from Open-Meteo: HTTP 503');
      },
    };
    expect(await weatherForecaster(base, failing, [south])(START, 96, 15)).toEqual(await base(START, 96, 15));
  });
});
