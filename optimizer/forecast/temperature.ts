import type { WeatherForecast } from './open-meteo.js';

/**
 * Outdoor temperature per slot for the heat pumps' 1R1C model (`thermal.outdoorC`), from the
 * forecast's hourly instants: linear between the two around the slot's middle, the nearest one
 * at the forecast's ends or beside a missing value. Slots the forecast does not come near (more
 * than `maxGapMs`, default 3 h, from any value) take `fallbackC` and are listed.
 */
export function outdoorTemperatureC(
  forecast: WeatherForecast,
  o: { startMs: number; slots: number; slotMinutes: number; fallbackC: number; maxGapMs?: number },
): { celsius: number[]; missing: number[] } {
  const points = forecast.hours
    .filter((h) => h.temperatureC !== null)
    .map((h) => ({ ms: h.endMs, c: h.temperatureC! }));
  const maxGap = o.maxGapMs ?? 3 * 3_600_000;
  const celsius: number[] = [];
  const missing: number[] = [];
  let i = 0;
  for (let t = 0; t < o.slots; t++) {
    const mid = o.startMs + (t + 0.5) * o.slotMinutes * 60_000;
    while (i < points.length && points[i]!.ms <= mid) i++;
    const before = points[i - 1];
    const after = points[i];
    let c: number | null = null;
    if (before && after && after.ms - before.ms <= maxGap)
      c = before.c + ((after.c - before.c) * (mid - before.ms)) / (after.ms - before.ms);
    else {
      const near = [before, after]
        .filter((p) => p !== undefined && Math.abs(p.ms - mid) <= maxGap)
        .sort((a, b) => Math.abs(a!.ms - mid) - Math.abs(b!.ms - mid))[0];
      c = near?.c ?? null;
    }
    if (c === null) missing.push(t);
    celsius.push(c ?? o.fallbackC);
  }
  return { celsius, missing };
}
