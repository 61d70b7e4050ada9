import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { packageRoot } from '../config/version.js';
import { ValidationError } from '../model/index.js';
import { gridflexConfigFrom, loadGatewayView, loadGridflexConfig } from './config.js';
import { convertToGridflexConfig } from './convert.js';

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
