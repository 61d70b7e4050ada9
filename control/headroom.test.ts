import { describe, expect, it } from 'vitest';
import { SiteSchema } from '../model/index.js';
import { HEADROOM_SLOT_MS, siteHeadroom, thermalComfortKwh } from './headroom.js';

const site = SiteSchema.parse({
  id: 's',
  name: 's',
  location: { lat: 47, lon: 7 },
  timezone: 'Europe/Zurich',
  grid: { importLimitKw: 50, exportLimitKw: 20 },
  buildings: [
    {
      id: 'b',
      name: 'b',
      kind: 'school',
      devices: [],
      assets: [
        {
          id: 'hp',
          type: 'thermal',
          maxKw: 6,
          cop: 3,
          capacitanceKwhPerK: 9,
          resistanceKPerKw: 4,
          minC: 20,
          maxC: 23,
        },
      ],
    },
  ],
});

describe('plan → headroom (shared by optimiser and market)', () => {
  it('gives a heat pump the comfort energy of its planned temperatures, by hand', () => {
    // Flat 21 °C, band 20–23: up = 1 K · 9 kWh/K / 3 = 3 kWh, down = 2 K · 3 = 6 kWh.
    const { upKwh, downKwh } = thermalComfortKwh([21, 21, 21], 0.25, 1, 3, () => ({ minC: 20, maxC: 23 }));
    expect(upKwh).toEqual([3, 3]);
    expect(downKwh).toEqual([6, 6]);
    // Falling to 20.5 at the end of slot 0: the margin there is 0.5 K.
    expect(thermalComfortKwh([21, 20.5], 0.25, 0, 3, () => ({ minC: 20, maxC: 23 })).upKwh).toEqual([1.5]);
  });

  it('offers a heat pump from a stored plan and nothing without one', () => {
    const startMs = 0;
    const plan = {
      startMs,
      slotMinutes: HEADROOM_SLOT_MS / 60_000,
      schedule: { assets: { hp: { type: 'thermal', powerKw: [2, 2], temperatureC: [21, 21, 21] } } },
    };
    expect(siteHeadroom(site, startMs, 2, { plan })).toEqual([
      { kind: 'thermal', id: 'hp', maxKw: 6, plannedKw: [2, 2], upKwh: [3, 3], downKwh: [6, 6] },
    ]);
    expect(siteHeadroom(site, startMs, 2)).toEqual([]);
  });
});
