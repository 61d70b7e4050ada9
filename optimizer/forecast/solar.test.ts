import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseOpenMeteo, type WeatherHour } from './open-meteo.js';
import {
  PvArraySchema,
  planeIrradiance,
  pvFromWeather,
  pvPowerKw,
  sunVector,
  WEATHER_YIELD_DEFAULT,
  weatherYieldFactor,
} from './solar.js';

const bern = parseOpenMeteo(
  JSON.parse(readFileSync(new URL('./fixtures/open-meteo-bern.json', import.meta.url), 'utf8')),
);
const LAT = 46.95;
const LON = 7.45;
const DEG = 180 / Math.PI;
const array = (o: { tiltDeg: number; azimuthDeg: number; kwp?: number; inverterKw?: number }) =>
  PvArraySchema.parse({ kwp: 10, ...o });
const hour = (endIso: string, ghi: number, directHorizontal: number): WeatherHour => ({
  startMs: Date.parse(endIso) - 3_600_000,
  endMs: Date.parse(endIso),
  temperatureC: 20,
  ghi,
  directHorizontal,
  diffuse: ghi - directHorizontal,
  cloudCoverPercent: 10,
});

describe('sun position', () => {
  it('stands due south at 90° − latitude + declination at Bern’s solar noon on the June solstice', () => {
    // Solar noon at 7.45° E: 12:00 − 7.45·4 min − equation of time (−1.7 min) ≈ 11:32 UTC.
    const [e, n, u] = sunVector(LAT, LON, Date.parse('2026-06-21T11:32Z'));
    expect(Math.asin(u) * DEG).toBeCloseTo(90 - LAT + 23.44, 0);
    expect((Math.atan2(e, n) * DEG + 360) % 360).toBeCloseTo(180, -1);
  });
});

describe('irradiance on the array’s plane (isotropic transposition)', () => {
  it('is the global irradiance itself on a horizontal array', () => {
    const h = hour('2026-06-20T12:00Z', 800, 600);
    expect(planeIrradiance(h, array({ tiltDeg: 0, azimuthDeg: 180 }), LAT, LON)).toBeCloseTo(800, 9);
  });

  it('favours a south-tilted array in winter, an east array in the morning, and gives a north wall only sky and ground', () => {
    const winterNoon = hour('2026-12-21T12:00Z', 300, 200);
    const south30 = planeIrradiance(winterNoon, array({ tiltDeg: 30, azimuthDeg: 180 }), LAT, LON)!;
    expect(south30 / 300).toBeGreaterThan(1.3);
    const morning = hour('2026-06-20T07:00Z', 450, 300);
    const east = planeIrradiance(morning, array({ tiltDeg: 30, azimuthDeg: 90 }), LAT, LON)!;
    const west = planeIrradiance(morning, array({ tiltDeg: 30, azimuthDeg: 270 }), LAT, LON)!;
    expect(east).toBeGreaterThan(1.5 * west);
    // Vertical north wall at noon: no beam; half the sky's diffuse and half the ground's reflection.
    const northWall = planeIrradiance(
      hour('2026-06-20T12:00Z', 800, 600),
      array({ tiltDeg: 90, azimuthDeg: 0 }),
      LAT,
      LON,
    )!;
    expect(northWall).toBeCloseTo(200 / 2 + (800 * 0.2) / 2, 6);
  });

  it('is null for an hour with missing data and zero at night', () => {
    expect(
      planeIrradiance(
        { ...hour('2026-06-20T12:00Z', 800, 600), diffuse: null },
        array({ tiltDeg: 30, azimuthDeg: 180 }),
        LAT,
        LON,
      ),
    ).toBeNull();
    expect(
      planeIrradiance(hour('2026-06-20T01:00Z', 0, 0), array({ tiltDeg: 30, azimuthDeg: 180 }), LAT, LON),
    ).toBe(0);
  });
});

describe('PV power from the weather forecast', () => {
  it('applies the cell temperature (Ross) and the inverter limit', () => {
    const a = array({ tiltDeg: 30, azimuthDeg: 180, inverterKw: 8 });
    // 1000 W/m², 20 °C air: cell 54.2 °C, −11.68 % → 8.832 kW DC, clamped to 8.
    expect(pvPowerKw(1000, 20, { ...a, inverterKw: undefined })).toBeCloseTo(
      10 * (1 - 0.004 * (20 + 34.2 - 25)),
      9,
    );
    expect(pvPowerKw(1000, 20, a)).toBe(8);
    expect(pvPowerKw(0, 20, a)).toBe(0);
  });

  it('gives a fair day more energy than a cloudy one, each quarter-hour its hour’s mean, and lists the missing hour', () => {
    const south = array({ tiltDeg: 30, azimuthDeg: 180 });
    const startMs = Date.parse('2026-06-20T00:00Z');
    const fallbackKw = Array(192).fill(0.5);
    const pv = pvFromWeather(bern, [south], { startMs, slots: 192, slotMinutes: 15, fallbackKw });
    const dayKwh = (d: number) => pv.kw.slice(d * 96, (d + 1) * 96).reduce((s, kw) => s + kw * 0.25, 0);
    // A fair June day on 10 kWp in Bern before losses: 6–8 kWh per kWp.
    expect(dayKwh(0)).toBeGreaterThan(60);
    expect(dayKwh(0)).toBeLessThan(80);
    expect(dayKwh(1)).toBeLessThan(0.7 * dayKwh(0));
    // Slot 44 (11:00–11:15Z) is in the hour 11:00–12:00Z, the fixture's 12:00 value.
    const h = bern.hours[12]!;
    const poa = planeIrradiance(h, south, bern.latitude, bern.longitude)!;
    expect(pv.kw[44]).toBeCloseTo(
      pvPowerKw(poa, (bern.hours[11]!.temperatureC! + h.temperatureC!) / 2, south),
      12,
    );
    expect(pv.kw.slice(44, 48).every((kw) => kw === pv.kw[44])).toBe(true);
    // The forecast's last hour (22:00–23:00Z on day two) is null and it ends there: those eight
    // slots take the fallback.
    expect(pv.missing).toEqual([184, 185, 186, 187, 188, 189, 190, 191]);
    expect(pv.kw[190]).toBe(0.5);
  });

  it('sums several arrays (east and west roofs)', () => {
    const opts = { startMs: Date.parse('2026-06-20T00:00Z'), slots: 96, slotMinutes: 15 };
    const east = array({ tiltDeg: 20, azimuthDeg: 90, kwp: 5 });
    const west = array({ tiltDeg: 20, azimuthDeg: 270, kwp: 5 });
    const both = pvFromWeather(bern, [east, west], opts).kw;
    const e = pvFromWeather(bern, [east], opts).kw;
    const w = pvFromWeather(bern, [west], opts).kw;
    for (let t = 0; t < 96; t++) expect(both[t]).toBeCloseTo(e[t]! + w[t]!, 12);
    expect(e[28]!).toBeGreaterThan(w[28]!); // 07:00Z
    expect(w[68]!).toBeGreaterThan(e[68]!); // 17:00Z
  });

  it('corrects by the measured yield, bounded, with an assumed default until enough is measured', () => {
    expect(weatherYieldFactor(45, 50, 10)).toBeCloseTo(0.9, 12);
    expect(weatherYieldFactor(1, 50, 10)).toBe(0.3);
    expect(weatherYieldFactor(90, 50, 10)).toBe(1.2);
    expect(weatherYieldFactor(3, 5, 10)).toBe(WEATHER_YIELD_DEFAULT);
  });
});
