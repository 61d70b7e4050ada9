import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseOpenMeteo } from './open-meteo.js';
import { outdoorTemperatureC } from './temperature.js';

const bern = parseOpenMeteo(
  JSON.parse(readFileSync(new URL('./fixtures/open-meteo-bern.json', import.meta.url), 'utf8')),
);
const START = Date.parse('2026-06-20T00:00Z');

describe('outdoor temperature per slot for the heat pumps', () => {
  it('interpolates the hourly instants at each slot’s middle', () => {
    const { celsius, missing } = outdoorTemperatureC(bern, {
      startMs: START,
      slots: 192,
      slotMinutes: 15,
      fallbackC: 10,
    });
    const at = (i: number) => bern.hours[i]!.temperatureC!;
    // Slot 49 (12:15–12:30Z), middle 12:22:30: between the 12:00Z (hour 12) and 13:00Z values.
    expect(celsius[49]).toBeCloseTo(at(12) + ((at(13) - at(12)) * 22.5) / 60, 12);
    // Slot 0's middle (00:07:30Z) lies between the first two values (00:00Z, 01:00Z).
    expect(celsius[0]).toBeCloseTo(at(0) + ((at(1) - at(0)) * 7.5) / 60, 12);
    // The last value is null (23:00Z on day two): the slots after 22:00Z take 22:00Z's.
    expect(celsius[191]).toBe(at(46));
    expect(missing).toEqual([]);
  });

  it('falls back where the forecast does not reach, and says where', () => {
    const { celsius, missing } = outdoorTemperatureC(bern, {
      startMs: Date.parse('2026-06-22T00:00Z'),
      slots: 24,
      slotMinutes: 15,
      fallbackC: 10,
    });
    // 22:00Z is the last value: up to 01:00Z it is near enough, after that the fallback.
    expect(missing).toEqual(Array.from({ length: 20 }, (_, i) => 4 + i));
    expect(celsius[23]).toBe(10);
  });
});
