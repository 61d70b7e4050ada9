import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { packageRoot } from '../config/version.js';
import { ValidationError } from '../model/index.js';
import { gridflexConfigFrom, loadGatewayView, loadGridflexConfig } from './config.js';
import { convertToGridflexConfig } from './convert.js';
import { APP_ERRORS } from './errors.js';
import { checkUplinkWorkers, uplinkWorkersIssues } from './uplink.js';

const EXAMPLE = `${packageRoot()}/deploy/examples/gridflex.yaml`;

async function example(): Promise<Record<string, unknown>> {
  return parse(await readFile(EXAMPLE, 'utf8'));
}

async function issuesOf(data: unknown): Promise<{ path: string; message: string }[]> {
  try {
    await gridflexConfigFrom(data, EXAMPLE);
  } catch (err) {
    if (err instanceof ValidationError) return err.issues;
    throw err;
  }
  throw new Error('expected the configuration to be refused');
}

describe('gridflex.yaml', () => {
  it('the commented example is valid: devices for the gateway, the model site, tariff, portfolio, community', async () => {
    const cfg = await loadGridflexConfig(EXAMPLE);
    const [bern] = cfg.sites;
    expect(bern!.site.id).toBe('zev-bern');
    expect(bern!.gateway!.devices.find((d) => d.id === 'house-battery')!.points.map((p) => p.id)).toContain(
      'mode',
    );
    // The model's view has the same devices, without the gateway's register details.
    expect(bern!.site.buildings[0]!.devices).toHaveLength(bern!.gateway!.devices.length);
    expect(bern!.tariff.import.otherPerKwh).toBe(0.235);
    expect(cfg.market.portfolios.map((p) => p.id)).toEqual(['zev-bern']);
    expect(cfg.ledger.communities[0]!.id).toBe('zev-bern');
    expect(cfg.ledger.every).toBe(3_600_000);
  });

  it('privacy and uplink sections: defaults of a real installation, a broker that is not MQTT named by its path', async () => {
    const cfg = await loadGridflexConfig(EXAMPLE);
    expect(cfg.privacy.retention.householdAfterBilling).toBe(90 * 86_400_000);
    expect(cfg.privacy.every).toBe(86_400_000);
    expect(cfg.uplink).toBeUndefined();
    const data = await example();
    const withUplink = await gridflexConfigFrom(
      {
        ...data,
        uplink: { broker: 'mqtt://127.0.0.1:1883' },
        privacy: { buildingDevices: ['zev-bern/house-apt-1'] },
      },
      EXAMPLE,
    );
    expect(withUplink.uplink?.broker).toBe('mqtt://127.0.0.1:1883');
    expect(withUplink.privacy.buildingDevices).toEqual(['zev-bern/house-apt-1']);
    const bad = await issuesOf({ ...data, uplink: { broker: 'http://broker' } });
    expect(bad.map((i) => i.path)).toContain('uplink.broker');
    // A site served by an edge: lease and answer wait as durations; an edge of another tenant, a
    // key that is not tenant/site and a lease that is not a duration are named.
    const served = await gridflexConfigFrom(
      {
        ...data,
        uplink: { broker: 'mqtt://127.0.0.1:1883', edges: { 'acme/zev-bern': 'edge-1' }, lease: '30s' },
      },
      EXAMPLE,
    );
    expect(served.uplink?.lease).toBe(30_000);
    expect(served.uplink?.answerTimeout).toBe(10_000);
    const wrong = await issuesOf({
      ...data,
      uplink: {
        broker: 'mqtt://127.0.0.1:1883',
        tenant: 'acme',
        edges: { 'other/zev-bern': 'edge-1', 'zev-bern': 'edge-2' },
        lease: 'soon',
      },
    });
    expect(wrong.map((i) => `${i.path}: ${i.message}`)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^uplink\.edges\.zev-bern: expected tenant\/site/),
        expect.stringMatching(/^uplink\.lease: expected a duration/),
      ]),
    );
  });

  it('uplink.workers needs a PostgreSQL server (database.url or DATABASE_URL): without one it is named', async () => {
    const data = await example();
    const broker = 'mqtt://127.0.0.1:1883';
    const off = await gridflexConfigFrom({ ...data, uplink: { broker } }, EXAMPLE);
    expect(off.uplink?.workers).toBe(false);
    expect(uplinkWorkersIssues(off.uplink, undefined)).toEqual([]);
    const on = await gridflexConfigFrom({ ...data, uplink: { broker, workers: true } }, EXAMPLE);
    expect(on.uplink?.workers).toBe(true);
    expect(() => checkUplinkWorkers(on.uplink, on.database.url)).toThrow(
      expect.objectContaining({
        code: APP_ERRORS.configInvalid,
        message: expect.stringMatching(/^the configuration is invalid: uplink\.workers: .*PostgreSQL/),
      }),
    );
    // DATABASE_URL (which wins over the file) or the file's url: fine.
    expect(uplinkWorkersIssues(on.uplink, 'postgres://gridflex@db/gridflex')).toEqual([]);
    const inFile = await gridflexConfigFrom(
      { ...data, uplink: { broker, workers: true }, database: { url: 'postgresql://db/gridflex' } },
      EXAMPLE,
    );
    expect(uplinkWorkersIssues(inFile.uplink, inFile.database.url)).toEqual([]);
    expect((await issuesOf({ ...data, uplink: { broker, workers: 'yes' } })).map((i) => i.path)).toEqual([
      'uplink.workers',
    ]);
  });

  it("an edge of another tenant than central's is named by its key", async () => {
    const data = await example();
    const wrong = await issuesOf({
      ...data,
      uplink: { broker: 'mqtt://127.0.0.1:1883', tenant: 'acme', edges: { 'other/zev-bern': 'edge-1' } },
    });
    expect(wrong.map((i) => `${i.path}: ${i.message}`)).toContain(
      'uplink.edges.other/zev-bern: tenant "other" is not this central\'s tenant "acme"',
    );
  });

  it('a binding to a point or device that does not exist is an error naming the path and the key', async () => {
    const data = await example();
    const site = (
      data.sites as {
        buildings: { assets: { measure: Record<string, string>; control: Record<string, string> }[] }[];
      }[]
    )[0]!;
    site.buildings[0]!.assets[0]!.measure.soc = 'zev-bern/house-battery/soc-typo';
    site.buildings[0]!.assets[0]!.control.mode = 'zev-bern/no-such-battery/mode';
    const issues = await issuesOf(data);
    expect(issues).toContainEqual(
      expect.objectContaining({
        path: 'sites[0].buildings[0].assets[0].measure.soc',
        message: expect.stringContaining('device "house-battery" has no point "soc-typo"'),
      }),
    );
    expect(issues).toContainEqual(
      expect.objectContaining({
        path: 'sites[0].buildings[0].assets[0].control.mode',
        message: expect.stringContaining('no device "no-such-battery" in site "zev-bern"'),
      }),
    );
  });

  it('a control binding must be writable; grid.measure is checked too', async () => {
    const data = await example();
    const site = (
      data.sites as {
        grid: { measure: { power: string } };
        buildings: { assets: { control: Record<string, string> }[] }[];
      }[]
    )[0]!;
    site.buildings[0]!.assets[0]!.control.mode = 'zev-bern/house-battery/soc';
    site.grid.measure.power = 'zev-bern/house-grid-meter/watts';
    const issues = await issuesOf(data);
    expect(issues.map((i) => i.path)).toEqual(
      expect.arrayContaining(['sites[0].buildings[0].assets[0].control.mode', 'sites[0].grid.measure.power']),
    );
    expect(issues.find((i) => i.path.endsWith('control.mode'))!.message).toContain('is not writable');
  });

  it('device errors come from the gateway schema with their place in this file', async () => {
    const data = await example();
    const devices = (data.sites as { buildings: { devices: { points: { register?: string }[] }[] }[] }[])[0]!
      .buildings[0]!.devices;
    devices[13]!.points[0]!.register = '999.Nope'; // house-pv
    const issues = await issuesOf(data);
    expect(issues[0]!.path).toBe('sites[0].buildings[0].devices[13].points[0].register');
  });

  it('portfolios and community points name what exists', async () => {
    const data = await example();
    (data.market as { portfolios: { sites: string[] }[] }).portfolios[0]!.sites = ['zev-bern', 'nowhere'];
    (data.ledger as { communities: unknown[] }).communities = [
      {
        ...parse(await readFile(`${packageRoot()}/deploy/examples/zev-bern-community.yaml`, 'utf8')),
        points: { 'house-pv': 'zev-bern/house-pv/gone' },
      },
    ];
    const issues = await issuesOf(data);
    expect(issues.map((i) => i.path)).toEqual(
      expect.arrayContaining(['market.portfolios[0].sites[1]', 'ledger.communities[0].points.house-pv']),
    );
  });

  it('read/write narrow the same file to a site and devices', async () => {
    const gw = await loadGatewayView(EXAMPLE, { site: 'zev-bern', devices: ['house-battery'] });
    expect(gw.devices.map((d) => d.id)).toEqual(['house-battery']);
    await expect(loadGatewayView(EXAMPLE, { devices: ['nope'] })).rejects.toThrow(/no device "nope"/);
    await expect(loadGatewayView(EXAMPLE, { site: 'elsewhere' })).rejects.toThrow(/no site "elsewhere"/);
  });
});

describe('gridflex config convert', () => {
  it('puts a gateway file into the sites file: listed devices replaced in place, others by building prefix', async () => {
    const sites = parse(await readFile(`${packageRoot()}/deploy/examples/sites.yaml`, 'utf8'));
    const gateway = {
      site: 'zev-bern',
      pollInterval: '10s',
      devices: [
        {
          id: 'house-grid-meter',
          protocol: 'modbus',
          profile: 'sdm630',
          connection: { transport: 'tcp', host: 'h', port: 502 },
          points: [{ id: 'power', kind: 'active_power' }],
        },
        {
          id: 'house-battery',
          protocol: 'modbus',
          profile: 'sunspec',
          connection: { transport: 'tcp', host: 'h', port: 502, unitId: 21 },
          points: [
            { id: 'power', kind: 'active_power', register: '103.W' },
            { id: 'soc', kind: 'state_of_charge', register: '124.ChaState' },
          ],
        },
        {
          id: 'house-pv',
          protocol: 'modbus',
          profile: 'sunspec',
          connection: { transport: 'tcp', host: 'h', port: 502, unitId: 20 },
          points: [{ id: 'power', kind: 'active_power', register: '103.W' }],
        },
        {
          id: 'shed-meter',
          protocol: 'modbus',
          profile: 'sdm630',
          connection: { transport: 'tcp', host: 'h', port: 502, unitId: 9 },
          points: [{ id: 'power', kind: 'active_power' }],
        },
      ],
    };
    const { config, notes } = convertToGridflexConfig(sites, [gateway]);
    const cfg = await gridflexConfigFrom(config, EXAMPLE);
    const buildings = cfg.sites[0]!.site.buildings;
    expect(buildings.map((b) => [b.id, b.devices.map((d) => d.id)])).toEqual([
      ['house', ['house-grid-meter', 'house-battery', 'house-pv']],
      ['gateway', ['shed-meter']],
    ]);
    expect(cfg.sites[0]!.gateway!.pollInterval).toBe(10_000);
    expect(notes).toEqual([expect.stringContaining('building "gateway"')]);
  });
});

describe('gridflex.yaml: a versioned tariff, its price source and the weather', () => {
  /** The example with its commented "versioned tariff" block switched on (in place of `tariff: ewb-2026`). */
  async function exampleWithVersionedTariff(): Promise<Record<string, unknown>> {
    const text = await readFile(EXAMPLE, 'utf8');
    const block = text.match(/# >>> versioned tariff\n([\s\S]*?)\n\s*# <<< versioned tariff/)![1]!;
    const on = block.replace(/^(\s*)# ?/gm, '$1');
    return parse(text.replace(/\n {4}tariff: ewb-2026\n/, '\n').replace(block, on));
  }

  it('the example’s commented block is valid: spot tariff with a peak charge, ENTSO-E by env var, PV arrays', async () => {
    const cfg = await gridflexConfigFrom(await exampleWithVersionedTariff(), EXAMPLE);
    const [bern] = cfg.sites;
    expect(bern!.siteTariff!.id).toBe('ewb-spot-2026');
    expect(bern!.siteTariff!.versions[0]!.peakCharge).toEqual({ perKwMonth: 9.5 });
    // Times of day are minutes after the transform.
    expect(bern!.siteTariff!.versions[0]!.gridFees.windows[0]!.from).toBe(420);
    expect(bern!.prices).toEqual({ kind: 'entsoe', zone: '10YCH-SWISSGRIDZ', tokenEnv: 'ENTSOE_TOKEN' });
    expect(bern!.weather!.pv.pv![0]).toMatchObject({ kwp: 30, tiltDeg: 30, azimuthDeg: 180 });
    // Relative files resolve against the configuration's folder.
    expect(bern!.weather!.cacheFile).toBe(`${packageRoot()}/deploy/examples/data/weather-zev-bern.json`);
    // The fallback time-of-use tariff carries the versioned tariff's currency (the pages before a plan).
    expect(bern!.tariff.currency).toBe('CHF');
  });

  it('the simple time-of-use `tariffs:` keep working by id', async () => {
    const cfg = await loadGridflexConfig(EXAMPLE);
    expect(cfg.sites[0]!.siteTariff).toBeUndefined();
    expect(cfg.sites[0]!.tariff.import.otherPerKwh).toBe(0.235);
  });

  it('errors name the field: a bad version, a spot tariff without a source, a bad token variable, an unknown PV asset', async () => {
    const data = await exampleWithVersionedTariff();
    const site = (data.sites as Record<string, unknown>[])[0]!;
    const tariff = site.tariff as { versions: Record<string, unknown>[] };
    tariff.versions[0]!.validFrom = '2026-13-01';
    tariff.versions.push({ validFrom: '2025-06-01', energy: { kind: 'fixed', perKwh: 0.3 } });
    site.prices = { kind: 'entsoe', zone: '10YCH-SWISSGRIDZ', tokenEnv: 'entsoe token' };
    site.weather = { pv: { roof: [{ kwp: 5, tiltDeg: 95, azimuthDeg: 180 }] } };
    const issues = await issuesOf(data);
    const at = (p: string) => issues.find((i) => i.path === p)?.message;
    expect(at('sites[0].tariff.versions[0].validFrom')).toContain('YYYY-MM-DD');
    expect(at('sites[0].prices.tokenEnv')).toContain('environment variable name');
    expect(at('sites[0].weather.pv.roof[0].tiltDeg')).toBeDefined();

    const noSource = await exampleWithVersionedTariff();
    const s2 = (noSource.sites as Record<string, unknown>[])[0]!;
    delete s2.prices;
    s2.weather = { pv: { roof: [{ kwp: 5, tiltDeg: 30, azimuthDeg: 180 }] } };
    const i2 = await issuesOf(noSource);
    expect(i2).toContainEqual(
      expect.objectContaining({ path: 'sites[0].prices', message: expect.stringContaining('spot prices') }),
    );
    expect(i2).toContainEqual(
      expect.objectContaining({
        path: 'sites[0].weather.pv.roof',
        message: 'no pv asset "roof" in site "zev-bern"',
      }),
    );
    expect(i2).toContainEqual(
      expect.objectContaining({
        path: 'sites[0].weather.pv',
        message: expect.stringContaining('missing: pv'),
      }),
    );
  });

  it('a tariff that is neither an id nor an object, and a CSV source resolved against the file', async () => {
    const data = await example();
    const site = (data.sites as Record<string, unknown>[])[0]!;
    site.tariff = 42;
    expect((await issuesOf(data)).map((i) => i.path)).toContain('sites[0].tariff');
    const csv = await exampleWithVersionedTariff();
    (csv.sites as Record<string, unknown>[])[0]!.prices = { kind: 'csv', file: 'prices/ch.csv' };
    const cfg = await gridflexConfigFrom(csv, EXAMPLE);
    expect(cfg.sites[0]!.prices).toEqual({
      kind: 'csv',
      file: `${packageRoot()}/deploy/examples/prices/ch.csv`,
    });
  });
});
