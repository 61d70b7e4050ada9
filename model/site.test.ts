import { describe, expect, it } from 'vitest';
import { SitesConfigSchema } from './config.js';
import { parseOrThrow, ValidationError } from './errors.js';
import { ReadingSchema } from './reading.js';

const site = {
  id: 'bern',
  name: 'ZEV Bern',
  location: { lat: 46.95, lon: 7.45 },
  timezone: 'Europe/Zurich',
  grid: { importLimitKw: 60, exportLimitKw: 30 },
  buildings: [
    {
      id: 'house',
      name: 'Apartment block',
      kind: 'apartment_block',
      devices: [
        {
          id: 'grid-meter',
          protocol: 'modbus',
          profile: 'sdm630',
          connection: { transport: 'tcp', host: '127.0.0.1', port: 5020 },
          points: [{ id: 'power', kind: 'active_power' }],
        },
      ],
      assets: [{ id: 'battery', type: 'battery', capacityKwh: 20, maxChargeKw: 10, maxDischargeKw: 10 }],
    },
  ],
};

function issuesOf(input: unknown) {
  try {
    parseOrThrow(SitesConfigSchema, input, 'sites.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).issues;
  }
  throw new Error('expected the configuration to be rejected');
}

describe('site configuration', () => {
  it('accepts a complete site and fills defaults', () => {
    const cfg = parseOrThrow(SitesConfigSchema, { sites: [site] }, 'sites.yaml');
    const device = cfg.sites[0]!.buildings[0]!.devices[0]!;
    expect(device.connection).toMatchObject({ unitId: 1, timeoutMs: 2000 });
    expect(device.points[0]!.writable).toBe(false);
    expect(cfg.sites[0]!.buildings[0]!.assets[0]).toMatchObject({ chargeEfficiency: 0.95, minSocPct: 10 });
  });

  it('takes the point measuring the grid connection, and names a malformed one', () => {
    const bound = { ...site, grid: { ...site.grid, measure: { power: 'bern/grid-meter/power' } } };
    expect(parseOrThrow(SitesConfigSchema, { sites: [bound] }, 'sites.yaml').sites[0]!.grid.measure).toEqual({
      power: 'bern/grid-meter/power',
    });
    const bad = { ...site, grid: { ...site.grid, measure: { power: 'Grid Meter' } } };
    expect(issuesOf({ sites: [bad] }).map((i) => i.path)).toEqual(['sites[0].grid.measure.power']);
  });

  it('names the path of a field with the wrong type', () => {
    const bad = structuredClone(site);
    (bad.buildings[0]!.devices[0]!.connection as { port: unknown }).port = '5020';
    const issues = issuesOf({ sites: [bad] });
    expect(issues).toEqual([
      expect.objectContaining({
        path: 'sites[0].buildings[0].devices[0].connection.port',
        code: 'invalid_type',
      }),
    ]);
    expect(issues[0]!.message).toMatch(/expected number/);
  });

  it('rejects an unknown time zone and an out-of-range latitude', () => {
    const issues = issuesOf({ sites: [{ ...site, timezone: 'Europe/Bern', location: { lat: 95, lon: 7 } }] });
    expect(issues.map((i) => i.path).sort()).toEqual(['sites[0].location.lat', 'sites[0].timezone']);
  });

  it('refuses a writable point without limits', () => {
    const bad = structuredClone(site);
    bad.buildings[0]!.devices[0]!.points = [
      { id: 'limit', kind: 'setpoint', unit: 'W', writable: true, max: 5000 } as never,
    ];
    const issues = issuesOf({ sites: [bad] });
    expect(issues[0]).toMatchObject({ path: 'sites[0].buildings[0].devices[0].points[0].min' });
    expect(issues[0]!.message).toMatch(/nothing is written without limits/);
  });

  it('refuses a unit that does not fit the point kind', () => {
    const bad = structuredClone(site);
    bad.buildings[0]!.devices[0]!.points = [{ id: 'e', kind: 'energy_import', unit: 'W' } as never];
    expect(issuesOf({ sites: [bad] })[0]).toMatchObject({
      path: 'sites[0].buildings[0].devices[0].points[0].unit',
    });
  });

  it('finds duplicate device ids across buildings', () => {
    const second = { ...structuredClone(site.buildings[0]!), id: 'annex' };
    const issues = issuesOf({ sites: [{ ...site, buildings: [site.buildings[0], second] }] });
    expect(issues[0]).toMatchObject({ path: 'sites[0].buildings[1].devices[0].id' });
    expect(issues[0]!.message).toMatch(/duplicate device id "grid-meter"/);
  });

  it('requires matching OPC UA security mode and policy', () => {
    const bad = structuredClone(site);
    bad.buildings[0]!.devices = [
      {
        id: 'bms',
        protocol: 'opcua',
        profile: 'generic',
        connection: { endpointUrl: 'opc.tcp://127.0.0.1:4840', securityMode: 'SignAndEncrypt' },
      } as never,
    ];
    expect(issuesOf({ sites: [bad] })[0]).toMatchObject({
      path: 'sites[0].buildings[0].devices[0].connection.securityPolicy',
    });
  });

  it('summarises the first problem in the error message', () => {
    expect(() => parseOrThrow(SitesConfigSchema, { sites: [] }, 'sites.yaml')).toThrow(
      'sites.yaml is invalid: sites: list at least one site',
    );
  });
});

describe('readings', () => {
  it('allows a missing value only on a bad reading', () => {
    expect(ReadingSchema.safeParse({ pointId: 'a/b/c', ts: 1, value: null, quality: 'bad' }).success).toBe(
      true,
    );
    const res = ReadingSchema.safeParse({ pointId: 'a/b/c', ts: 1, value: null, quality: 'good' });
    expect(res.success).toBe(false);
    expect(res.error!.issues[0]!.path).toEqual(['value']);
  });

  it('rejects non-finite values and malformed point keys', () => {
    expect(
      ReadingSchema.safeParse({ pointId: 'a/b/c', ts: 1, value: Number.NaN, quality: 'good' }).success,
    ).toBe(false);
    expect(ReadingSchema.safeParse({ pointId: 'A B', ts: 1, value: 1, quality: 'good' }).success).toBe(false);
  });
});

describe('the grid-meter rule', () => {
  it('takes the declared point, else the total power of every building’s grid meter', async () => {
    const { gridMeterPoints } = await import('./site.js');
    const meter = site.buildings[0]!.devices[0]!;
    const two = parseOrThrow(
      SitesConfigSchema,
      {
        sites: [
          {
            ...site,
            buildings: [
              {
                ...site.buildings[0]!,
                devices: [
                  {
                    ...meter,
                    id: 'house-grid-meter',
                    points: [
                      { id: 'power_l1', kind: 'active_power' },
                      { id: 'power', kind: 'active_power' },
                    ],
                  },
                ],
              },
              {
                ...site.buildings[0]!,
                id: 'hall',
                assets: [],
                devices: [
                  { ...meter, id: 'hall-grid-meter', connection: { ...meter.connection, port: 5021 } },
                ],
              },
            ],
          },
        ],
      },
      'sites',
    ).sites[0]!;
    expect(gridMeterPoints(two)).toEqual(['bern/house-grid-meter/power', 'bern/hall-grid-meter/power']);
    const declared = { ...two, grid: { ...two.grid, measure: { power: 'bern/main/p' } } };
    expect(gridMeterPoints(declared)).toEqual(['bern/main/p']);
  });
});
