import { describe, expect, it } from 'vitest';
import {
  baseLoadForecast,
  clearSkyGhi,
  clearSkyPvKw,
  FALLBACK_SHAPE,
  fallbackLoadKw,
  forecastError,
  localHour,
  pvForecastKw,
  sunElevationDeg,
  YIELD_DEFAULT,
  YIELD_MAX,
  YIELD_MIN,
  yieldFactor,
} from './forecast.js';

const BERN = { lat: 46.95, lon: 7.45 };

describe('clear-sky PV', () => {
  it('puts the sun at 90° − latitude + declination at solar noon on the June solstice', () => {
    const day = Date.UTC(2026, 5, 21);
    let max = -90;
    for (let m = 0; m < 1440; m++) max = Math.max(max, sunElevationDeg(BERN.lat, BERN.lon, day + m * 60_000));
    // 90 − 46.95 + 23.44 = 66.49°
    expect(max).toBeCloseTo(66.49, 0);
    expect(sunElevationDeg(BERN.lat, BERN.lon, day)).toBeLessThan(-15); // midnight UTC
  });

  it('gives the Haurwitz irradiance: 1098·cosZ·exp(−0.057/cosZ)', () => {
    expect(clearSkyGhi(90)).toBeCloseTo(1098 * Math.exp(-0.057), 6); // 1037.16
    expect(clearSkyGhi(30)).toBeCloseTo(549 * Math.exp(-0.114), 6); // 489.85
    expect(clearSkyGhi(0)).toBe(0);
    expect(clearSkyGhi(-10)).toBe(0);
  });

  it('is zero at night, peaks near solar noon, and is capped at the inverter', () => {
    const kw = clearSkyPvKw(BERN, 30, Date.UTC(2026, 5, 21), 96, 15, 27);
    expect(kw[0]).toBe(0);
    expect(kw[95]).toBe(0);
    const free = clearSkyPvKw(BERN, 30, Date.UTC(2026, 5, 21), 96, 15);
    const peak = free.indexOf(Math.max(...free));
    // Solar noon in Bern is about 11:32 UTC: slot 46 (11:30–11:45).
    expect(Math.abs(peak - 46)).toBeLessThanOrEqual(1);
    // 30 kWp × ≈ 935 W/m² at 66.5° elevation ≈ 28 kW, capped at 27.
    expect(Math.max(...free)).toBeGreaterThan(27);
    expect(Math.max(...kw)).toBe(27);
    expect(pvForecastKw([10, 20], 0.5)).toEqual([5, 10]);
  });

  it('scales by measured over clear-sky yield, bounded, with a default when too little is known', () => {
    expect(yieldFactor(60, 100, 10)).toBeCloseTo(0.6);
    expect(yieldFactor(500, 100, 10)).toBe(YIELD_MAX);
    expect(yieldFactor(0, 100, 10)).toBe(YIELD_MIN);
    expect(yieldFactor(3, 5, 10)).toBe(YIELD_DEFAULT); // 5 kWh clear sky for 10 kWp: less than a day's worth of judging
  });
});

describe('base load', () => {
  it('averages the same slot over the weeks that have it and falls back elsewhere', () => {
    const f = baseLoadForecast(
      [
        [2, null, 1],
        [4, null, null],
      ],
      [9, 9, 9],
    );
    expect(f.kw).toEqual([3, 9, 1]);
    expect(f.weeks).toEqual([2, 0, 1]);
  });

  it('never forecasts negative consumption', () => {
    expect(baseLoadForecast([[-1]], [5]).kw).toEqual([0]);
  });

  it('has a fallback profile whose daily mean is the given mean, by local hour', () => {
    expect(FALLBACK_SHAPE.reduce((a, b) => a + b, 0) / 24).toBeCloseTo(1, 12);
    expect(localHour(Date.UTC(2026, 5, 1, 17), 'Europe/Zurich')).toBe(19); // CEST = UTC+2
    const day = fallbackLoadKw(Date.UTC(2026, 5, 1, -2), 96, 15, 'Europe/Zurich', 4); // local midnight
    expect(day.reduce((a, b) => a + b, 0) / 96).toBeCloseTo(4, 9);
    expect(day[19 * 4]).toBeCloseTo(4 * FALLBACK_SHAPE[19]!, 9);
    expect(Math.max(...day)).toBe(day[19 * 4]); // the evening peak
  });
});

describe('forecast error', () => {
  it('reports MAE and bias over the slots with an actual', () => {
    // errors +1, −3, (skipped), +2 → MAE 2, bias 0
    expect(forecastError([5, 1, 7, 4], [4, 4, null, 2])).toEqual({ maeKw: 2, biasKw: 0, n: 3 });
    expect(forecastError([1], [null])).toEqual({ maeKw: null, biasKw: null, n: 0 });
  });
});
