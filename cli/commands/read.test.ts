import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freePort,
  RegisterImage,
  sdm630Image,
  startModbusTcp,
  type TestDevice,
  writableLimitConfig,
} from '../../gateway/testing.js';
import { SetpointWriteRepository } from '../../gateway/write-log.js';
import { openStore } from '../../store/index.js';
import { runCli, startCli } from '../testing.js';

let dir: string;
let meter: TestDevice;
let sunspec: TestDevice;

function sunspecImage(): RegisterImage {
  const img = new RegisterImage();
  img.put('holding', 40000, [0x5375, 0x6e53, 1, 66]);
  for (let i = 0; i < 66; i++) img.put('holding', 40004 + i, [0]);
  img.put('holding', 40004, [0x4163, 0x6d65]); // "Acme"
  img.put('holding', 40070, [203, 105]);
  for (let i = 2; i < 107; i++) img.put('holding', 40070 + i, [0]);
  img.put('holding', 40177, [0xffff, 0]);
  return img;
}

/** JSON lines of stdout; other lines (a library's start-up warning) are not ours to parse. */
const jsonLines = (out: string) =>
  out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));

async function config(name: string, body: unknown): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, JSON.stringify(body));
  return file;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gfx-cli-gw-'));
  const img = sdm630Image();
  img.put('holding', 100, [50]);
  img.put('holding', 101, [0]);
  meter = await startModbusTcp(img);
  sunspec = await startModbusTcp(sunspecImage());
});
afterAll(async () => {
  await meter.stop();
  await sunspec.stop();
  await rm(dir, { recursive: true, force: true });
});

const meterDevice = (port: number) => ({
  id: 'meter',
  protocol: 'modbus',
  profile: 'sdm630',
  connection: { transport: 'tcp', host: '127.0.0.1', port, timeoutMs: 500 },
  points: [
    { id: 'power', kind: 'active_power' },
    { id: 'energy_import', kind: 'energy_import' },
  ],
});

// The CLI runs through tsx in a child process: slow on a busy 2-core machine.
describe('gridflex read, write, scan and gateway', { timeout: 120_000 }, () => {
  it('read --once prints one JSON line per point', async () => {
    const file = await config('ok.json', { site: 'bern', devices: [meterDevice(meter.port)] });
    const res = await runCli(['read', '--config', file, '--once']);
    expect(res.stderr).not.toMatch(/gridflex:/);
    expect(res.code).toBe(0);
    const lines = jsonLines(res.stdout);
    expect(lines).toEqual([
      { device: 'meter', point: 'power', ts: expect.any(String), value: 1234.5, unit: 'W', quality: 'good' },
      {
        device: 'meter',
        point: 'energy_import',
        ts: expect.any(String),
        value: 1_500_250,
        unit: 'Wh',
        quality: 'good',
      },
    ]);
  });

  it('read --once exits non-zero and names the unreachable device', async () => {
    const port = await freePort();
    const file = await config('down.json', {
      site: 'bern',
      devices: [meterDevice(meter.port), { ...meterDevice(port), id: 'gone' }],
    });
    const res = await runCli(['read', '--config', file, '--once']);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(
      new RegExp(`gridflex: 1 of 2 devices unreachable: gone: cannot connect to tcp://127.0.0.1:${port}`),
    );
    expect(res.stdout).toMatch(/"device":"gone","point":"power".*"value":null,"unit":"W","quality":"bad"/);
    expect(res.stdout).toMatch(/"device":"meter","point":"power".*"quality":"good"/);
  });

  it('write goes through the safety layer and is recorded', async () => {
    const data = join(dir, 'data');
    const file = await config('write.json', writableLimitConfig(meter.port));
    const ok = await runCli(
      ['write', '--config', file, '--point', 'ctl/limit', '--value', '70', '--who', 'bob', '--data', data],
      { DATABASE_URL: '' },
    );
    expect(ok.code).toBe(0);
    expect(jsonLines(ok.stdout)[0]).toMatchObject({
      outcome: 'written',
      old: 50,
      value: 70,
      readBack: 70,
      who: 'bob',
    });
    const refused = await runCli(
      ['write', '--config', file, '--point', 'limit', '--value', '90', '--data', data],
      { DATABASE_URL: '' },
    );
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/write refused: 90 is outside the allowed range 0 to 80/);
    const audit = (await readFile(join(data, 'writes.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(audit.map((a) => a.outcome)).toEqual(['written', 'refused']);
    const store = await openStore({ dataDir: data });
    try {
      const stored = await (await SetpointWriteRepository.open(store)).list({ site: 'bern' });
      expect(stored.items.map(({ id: _id, ...r }) => r)).toEqual(audit.reverse());
    } finally {
      await store.close();
    }
    const bad = await runCli(['write', '--config', file, '--point', 'ctl/limit', '--value', 'ten']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--value: expected a number/);
  });

  it('write sends nothing when the write record has nowhere to go', async () => {
    const data = join(dir, 'locked');
    const file = await config('write-locked.json', writableLimitConfig(meter.port));
    const before = meter.image.tables.holding.get(100);
    // This process holds the embedded database, as a running `gridflex gateway` would.
    const store = await openStore({ dataDir: data });
    try {
      const res = await runCli(
        ['write', '--config', file, '--point', 'ctl/limit', '--value', '5', '--data', data],
        {
          DATABASE_URL: '',
        },
      );
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(/embedded database .* is in use by another Gridflex process/);
      expect(jsonLines(res.stdout)).toEqual([]);
      expect(meter.image.tables.holding.get(100)).toBe(before);
    } finally {
      await store.close();
    }
  });

  it('scan discovers SunSpec models and prints a config stub', async () => {
    const res = await runCli(['scan', '--modbus', `127.0.0.1:${sunspec.port}`, '--unit', '3']);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/# SunSpec map at 40000 .*: Acme/);
    expect(res.stdout).toMatch(/model 203 meter, wye at 40070, L=105/);
    expect(res.stdout).toMatch(/register: 203.TotWhImp/);
  });

  it('gateway polls into the store until stopped, and stores its heartbeat writes', async () => {
    const file = await config('run.json', {
      site: 'bern',
      profiles: { wd: { registers: { watchdog: { address: 101, writable: true } } } },
      devices: [
        { ...meterDevice(meter.port), pollInterval: '200ms' },
        {
          id: 'wd',
          protocol: 'modbus',
          profile: 'wd',
          pollInterval: '1m',
          connection: { transport: 'tcp', host: '127.0.0.1', port: meter.port },
          heartbeat: { point: 'watchdog', interval: '300ms' },
          points: [
            {
              id: 'watchdog',
              kind: 'heartbeat',
              writable: true,
              min: 0,
              max: 999,
              minWriteInterval: '100ms',
            },
          ],
        },
      ],
    });
    const run = await startCli(
      ['gateway', '--config', file, '--data', join(dir, 'run')],
      /gateway is running/,
      { DATABASE_URL: '' },
      170_000,
    );
    await new Promise((r) => setTimeout(r, 2500));
    const code = await run.stop();
    expect(code).toBe(0);
    const m = /stopped: (\d+) readings received, (\d+) stored/.exec(run.output());
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(0);
    expect(m![2]).toBe(m![1]);
    const audit = (await readFile(join(dir, 'run', 'writes.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(audit.length).toBeGreaterThan(0);
    const store = await openStore({ dataDir: join(dir, 'run') });
    try {
      const stored = await (await SetpointWriteRepository.open(store)).list({ site: 'bern', device: 'wd' });
      expect(stored.items.map(({ id: _id, ...r }) => r)).toEqual(audit.reverse());
      expect(stored.items.every((r) => r.who === 'gateway' && r.point === 'watchdog')).toBe(true);
    } finally {
      await store.close();
    }
  }, 240_000);
});

describe('gridflex read against the simulator (sim/)', () => {
  it('reads every point of the zev-bern simulation as good', async () => {
    const base = await freePort();
    const stub = await runCli([
      'sim',
      '--scenario',
      'zev-bern',
      '--port-base',
      String(base),
      '--print-gateway-config',
    ]);
    expect(stub.code).toBe(0);
    const file = join(dir, 'sim-gateway.yaml');
    await writeFile(file, stub.stdout);
    const sim = await startCli(
      ['sim', '--scenario', 'zev-bern', '--port-base', String(base)],
      /unit 1/,
      {},
      170_000,
    );
    try {
      // The simulator's servers may still be starting when its ready line appears: allow two retries.
      let res = await runCli(['read', '--config', file, '--once'], {}, 170_000);
      for (let i = 0; i < 2 && (res.code !== 0 || res.stdout.includes('"quality":"bad"')); i++) {
        await new Promise((r) => setTimeout(r, 3000));
        res = await runCli(['read', '--config', file, '--once'], {}, 170_000);
      }
      expect(res.stderr.split('\n').filter((l) => l.startsWith('gridflex:'))).toEqual([]);
      expect(res.code).toBe(0);
      const lines = jsonLines(res.stdout);
      expect(res.stdout.trim().split('\n')).toHaveLength(lines.length);
      expect(lines.length).toBeGreaterThan(40);
      expect(lines.filter((l) => l.quality !== 'good')).toEqual([]);
      expect(lines.some((l) => l.device === 'house-bms')).toBe(true);
    } finally {
      await sim.stop();
    }
  }, 400_000);
});
