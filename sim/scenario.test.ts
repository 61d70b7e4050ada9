import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../model/index.js';
import { sheddablePowerW } from './physics/load.js';
import { expandIds, loadScenario } from './scenario.js';

const dir = await mkdtemp(join(tmpdir(), 'gridflex-scenario-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('bundled scenarios', () => {
  it('lappeenranta: 17 buildings, ~100 ventilation units giving about ±100 kW between their speed limits', async () => {
    const s = await loadScenario('lappeenranta');
    expect(s.buildings).toHaveLength(17);
    expect(s.location).toEqual({ lat: 61.06, lon: 28.19 });
    expect(s.timezone).toBe('Europe/Helsinki');
    const fans = s.buildings.flatMap((b) => b.devices).filter((d) => d.type === 'sheddable');
    const units = fans.reduce((n, d) => n + expandIds(d).length, 0);
    expect(units).toBeGreaterThanOrEqual(95);
    expect(units).toBeLessThanOrEqual(105);
    let up = 0;
    let down = 0;
    for (const d of fans) {
      const n = expandIds(d).length;
      const at = (pct: number) => n * sheddablePowerW(d.ratedKw, pct, d.law);
      up += at(d.defaultPct) - at(d.minPct);
      down += at(d.maxPct) - at(d.defaultPct);
    }
    expect(up).toBeGreaterThan(95);
    expect(up).toBeLessThan(115);
    expect(down).toBeGreaterThan(95);
    expect(down).toBeLessThan(115);
    const types = new Set(s.buildings.flatMap((b) => b.devices.map((d) => d.type)));
    expect([...types].sort()).toEqual(['battery', 'heat_pump', 'load', 'pv', 'sheddable']);
  });

  it('zev-bern: 12 metered apartments, 30 kWp PV, a 20 kWh battery, a heat pump and 2 EV chargers', async () => {
    const s = await loadScenario('zev-bern');
    const [house] = s.buildings;
    const ids = house!.devices.flatMap((d) => expandIds(d).map((id) => [id, d] as const));
    expect(ids.filter(([, d]) => d.type === 'load' && d.modbus === 'sdm630')).toHaveLength(12);
    expect(ids.filter(([, d]) => d.type === 'ev_charger')).toHaveLength(2);
    expect(house!.devices.find((d) => d.type === 'pv')).toMatchObject({ kwp: 30 });
    expect(house!.devices.find((d) => d.type === 'battery')).toMatchObject({ capacityKwh: 20 });
    expect(house!.gridMeter).toEqual({ modbus: 'sdm630', unitId: 1 });
  });
});

describe('user scenarios', () => {
  it('names the offending field', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(
      file,
      [
        'id: mine',
        'name: Mine',
        'location: { lat: 60, lon: 25 }',
        'timezone: Europe/Helsinki',
        'buildings:',
        '  - id: b',
        '    devices:',
        '      - { id: bat, type: battery, capacityKwh: -5, maxChargeKw: 1, maxDischargeKw: 1 }',
      ].join('\n'),
    );
    const err = await loadScenario(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).message).toContain('buildings[0].devices[0].capacityKwh');
  });

  it('refuses duplicate unit ids and unknown time zones', async () => {
    const file = join(dir, 'dup.yaml');
    await writeFile(
      file,
      [
        'id: mine',
        'name: Mine',
        'location: { lat: 60, lon: 25 }',
        'timezone: Mars/Olympus',
        'buildings:',
        '  - id: b',
        '    gridMeter: { unitId: 3 }',
        '    devices:',
        '      - { id: pv, type: pv, kwp: 5, inverterKw: 5, unitId: 3 }',
      ].join('\n'),
    );
    const err = (await loadScenario(file).catch((e: unknown) => e)) as ValidationError;
    const paths = err.issues.map((i) => i.path);
    expect(paths).toContain('timezone');
    expect(paths).toContain('buildings[0].devices[0].unitId');
  });

  it('explains an unknown scenario name', async () => {
    await expect(loadScenario('atlantis')).rejects.toThrow(
      /unknown scenario atlantis: use one of lappeenranta, zev-bern/,
    );
  });
});
