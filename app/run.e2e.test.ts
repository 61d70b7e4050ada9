import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { runCli, startCli } from '../cli/testing.js';
import { packageRoot } from '../config/version.js';
import { lastCompleteMonth, monthPeriod } from '../ledger/index.js';
import type { Reading } from '../model/index.js';
import { freePortPair } from '../sim/testing.js';
import { openStore } from '../store/index.js';
import { drAwardNow, saveAwardIn } from '../testkit/market.js';
import { loadGridflexConfig } from './config.js';
import { sendUserRequest } from './control.js';
import { convertToGridflexConfig } from './convert.js';
import { migrateAll } from './migrate.js';

/**
 * Issue #12 "Done when": two simulators as separate processes, one gridflex.yaml for both
 * sites, `gridflex run` as a process on a fresh data folder. Nothing here imports demo code.
 *
 * Time: the controller runs on the wall clock (so do the simulators, at speed 1). The closed
 * month is the one before now: its meter counters are stored before `run` starts, as a gateway
 * would have stored them, so the ledger scheduler finds a closed, unbilled month at start and
 * bills it from the store. Everything else is waited for by polling the API, never by sleeping
 * a fixed time.
 */

const QUARTER = 15 * 60_000;
const HOUR = 3_600_000;
/** The closed month billed: the one before now, in the community's zone. */
const PERIOD = monthPeriod(lastCompleteMonth(Date.now(), 'Europe/Zurich'), 'Europe/Zurich');
const ADMIN_PASSWORD = 'e2e-admin-password';

type Json = Record<string, unknown>;

async function until<T>(what: () => string, ok: () => Promise<T | undefined>, limitMs: number): Promise<T> {
  const end = Date.now() + limitMs;
  for (;;) {
    const v = await ok().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/**
 * The `city` portfolio's demand-response award for this hour and the next, written into the
 * data folder before `run` opens it: the test can post its activation at once instead of
 * waiting for the next hour (testkit/market.ts `drAwardNow`).
 */
const storeDrAward = () =>
  saveAwardIn(
    process.env.GRIDFLEX_DATA!,
    'city',
    drAwardNow([
      { siteId: 'zev-bern', kw: 4 },
      { siteId: 'lappeenranta', kw: 6 },
    ]),
  );

/** The lappeenranta site, narrowed to two buildings with PV and a battery (fewer devices to poll). */
const LAPPEENRANTA_SITE = {
  id: 'lappeenranta',
  name: 'Lappeenranta schools',
  location: { lat: 61.06, lon: 28.19 },
  timezone: 'Europe/Helsinki',
  grid: { importLimitKw: 400, exportLimitKw: 200 },
  buildings: ['school-1', 'library'].map((b, i) => ({
    id: b,
    name: b,
    kind: 'school',
    devices: [],
    assets: [
      {
        id: `${b}-battery`,
        type: 'battery',
        capacityKwh: [100, 50][i],
        maxChargeKw: [50, 25][i],
        maxDischargeKw: [50, 25][i],
        measure: { power: `lappeenranta/${b}-battery/power`, soc: `lappeenranta/${b}-battery/soc` },
        control: {
          mode: `lappeenranta/${b}-battery/mode`,
          charge_rate: `lappeenranta/${b}-battery/charge_rate`,
          discharge_rate: `lappeenranta/${b}-battery/discharge_rate`,
        },
      },
      {
        id: `${b}-pv`,
        type: 'pv',
        kwp: [80, 40][i],
        inverterKw: [72, 36][i],
        measure: { power: `lappeenranta/${b}-pv/power` },
      },
    ],
  })),
};

/**
 * Last month's meter counters (Wh, every 15 min from a day before), as the gateway would have
 * stored them, written into the data folder before `run` opens it.
 */
async function storeLastMonth(points: Record<string, string>): Promise<void> {
  const store = await openStore({ dataDir: process.env.GRIDFLEX_DATA! });
  try {
    await migrateAll(store);
    await store.readings.describePoints(
      Object.entries(points).map(([meter, key]) => ({
        key,
        kind: meter === 'house-pv' ? 'energy_export' : 'energy_import',
        unit: 'Wh',
      })),
    );
    const counters = new Map(Object.values(points).map((p, i) => [p, 1_000_000 + i * 1000]));
    const flats = Object.keys(points).filter((m) => m.includes('apt'));
    const flatWh = (m: string, hour: number) =>
      40 + (Number(m.split('-').at(-1)) % 5) * 10 + (hour >= 17 && hour < 22 ? 60 : 0);
    let batch: Reading[] = [];
    for (let t = PERIOD.startMs - 86_400_000; t <= PERIOD.endMs + QUARTER; t += QUARTER) {
      const hour = new Date(t).getUTCHours();
      const pvWh = Math.round(300 * Math.max(0, Math.sin(((hour - 5) / 14) * Math.PI)));
      for (const [meter, point] of Object.entries(points)) {
        const wh =
          meter === 'house-pv'
            ? pvWh
            : meter === 'house-grid-meter'
              ? Math.max(0, flats.reduce((s, m) => s + flatWh(m, hour), 0) - pvWh)
              : flatWh(meter, hour);
        counters.set(point, counters.get(point)! + wh);
        batch.push({ pointId: point, ts: t, value: counters.get(point)!, quality: 'good' });
      }
      if (batch.length >= 4000) {
        await store.readings.ingest(batch);
        batch = [];
      }
    }
    await store.readings.ingest(batch);
  } finally {
    await store.close();
  }
}

describe('gridflex run: two simulated sites from one gridflex.yaml', () => {
  let dir: string;
  let data: string;
  const children: { stop: () => Promise<number | null> }[] = [];
  let base: string;
  let run: Awaited<ReturnType<typeof startCli>>;
  const period = PERIOD;

  beforeAll(async () => {
    const t0 = Date.now();
    const lap = (what: string) =>
      console.log(`run e2e: ${what} after ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    dir = await mkdtemp(join(tmpdir(), 'gfx-run-e2e-'));
    data = join(dir, 'data');
    // The ledger's key folder follows the data folder here as in `run` (never ./data of the checkout).
    process.env.GRIDFLEX_DATA = data;
    const [bernPort, lappPort] = [await freePortPair(), await freePortPair()];
    // A ZEV of two of the building's flats (the shipped community, narrowed), billed from the store.
    const shipped = parse(
      await readFile(`${packageRoot()}/deploy/examples/zev-bern-community.yaml`, 'utf8'),
    ) as Json;
    const flats = ['apt-1', 'apt-2'];
    const meters = ['house-grid-meter', 'house-pv', ...flats.map((f) => `house-${f}`)];
    const community = {
      ...shipped,
      units: (shipped.units as { id: string }[])
        .filter((u) => flats.includes(u.id))
        .map((u) => ({ ...u, sharePercent: '50' })),
      members: (shipped.members as { unit: string }[]).filter((m) => flats.includes(m.unit)),
      points: Object.fromEntries(Object.entries(shipped.points as Json).filter(([m]) => meters.includes(m))),
    } as Json & { points: Record<string, string> };
    // The simulators, their gateway files and last month's readings, all at once: each CLI start
    // takes tens of seconds on the loaded machine.
    const [bernSim, lappSim, lappGw] = await Promise.all([
      startCli(
        // A certificate folder each: two simulators creating one at once can read each
        // other's half-written key (seen once in CI: "DECODER routines::unsupported").
        ['sim', '--scenario', 'zev-bern', '--port-base', String(bernPort), '--pki', join(dir, 'bern-pki')],
        /Press Ctrl-C/,
        {},
        180_000,
      ),
      startCli(
        [
          'sim',
          '--scenario',
          'lappeenranta',
          '--port-base',
          String(lappPort),
          '--pki',
          join(dir, 'lapp-pki'),
        ],
        /Press Ctrl-C/,
        {},
        180_000,
      ),
      runCli(
        ['sim', '--scenario', 'lappeenranta', '--port-base', String(lappPort), '--print-gateway-config'],
        {},
        180_000,
      ),
      storeLastMonth(community.points)
        .then(storeDrAward)
        .then(() => lap('last month and the DR award stored')),
    ]);
    children.push(bernSim, lappSim);
    lap('simulators listening');
    expect(lappGw.code, lappGw.stderr).toBe(0);

    // zev-bern: the commented example as shipped, pointed at this simulator's ports.
    const example = (await readFile(`${packageRoot()}/deploy/examples/gridflex.yaml`, 'utf8'))
      .replaceAll('port: 5020', `port: ${bernPort}`)
      .replaceAll('127.0.0.1:5021', `127.0.0.1:${bernPort + 1}`);
    const config = parse(example) as Json;
    // lappeenranta: its gateway file converted into the same file (two buildings of it).
    const gw = parse(lappGw.stdout) as { devices: { id: string }[] };
    gw.devices = gw.devices.filter((d) => /^(school-1|library)-(grid-meter|pv|battery)$/.test(d.id));
    const lapp = convertToGridflexConfig({ sites: [LAPPEENRANTA_SITE] }, [gw]).config as { sites: Json[] };
    config.sites = [...(config.sites as Json[]), ...lapp.sites];
    config.listen = { host: '127.0.0.1', port: 0 };
    config.ledger = { communities: [community] };
    // The Bern battery alone (20 kWh) is below the DR event's 10 kW minimum for its sustain
    // time: the operator's portfolio takes both cities' batteries.
    (config.market as { portfolios: Json[] }).portfolios.push({
      id: 'city',
      name: 'Bern and Lappeenranta',
      sites: ['zev-bern', 'lappeenranta'],
      products: ['dr-event'],
    });
    await writeFile(join(dir, 'gridflex.yaml'), stringify(config));
    await loadGridflexConfig(join(dir, 'gridflex.yaml'));

    run = await startCli(
      ['run', '--config', join(dir, 'gridflex.yaml'), '--data', data],
      /running at (http:\/\/\S+)[\s\S]*Press Ctrl-C/,
      { GRIDFLEX_ADMIN_PASSWORD: ADMIN_PASSWORD },
      150_000,
    );
    children.push(run);
    base = run.match[1]!;
    lap('gridflex run listening');
  }, 300_000);

  afterAll(async () => {
    for (const c of children.reverse()) await c.stop().catch(() => {});
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const get = async (path: string, auth: string) => {
    const res = await fetch(`${base}${path}`, { headers: { authorization: auth } });
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as Json;
  };
  const post = async (path: string, auth: string, body: object) => {
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json', origin: base },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Json };
  };

  it('polls, plans, dispatches and bills both sites; the operator and the resident reach theirs over the API', async () => {
    expect(run.output()).not.toMatch(/demo/i);
    expect(run.output()).toContain('users:    administrator created from GRIDFLEX_ADMIN_PASSWORD');
    // The first administrator logs in with the password from the environment…
    const login = await fetch(`${base}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: base },
      body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
    });
    expect(login.status).toBe(200);
    // …and users and tokens are managed while run holds the embedded database (control socket).
    const actor = 'e2e';
    await sendUserRequest(data, {
      op: 'add',
      actor,
      username: 'ops',
      role: 'operator',
      grants: ['portfolio:city'],
    });
    await sendUserRequest(data, {
      op: 'add',
      actor,
      username: 'anna',
      role: 'resident',
      grants: ['unit:apt-1'],
    });
    const tokenOf = async (username: string, write: boolean) => {
      const t = await sendUserRequest(data, { op: 'token', actor, username, name: 'e2e', write });
      return t.op === 'token' ? `Bearer ${t.token}` : '';
    };
    const adminUser = await sendUserRequest(data, {
      op: 'token',
      actor,
      username: 'admin',
      name: 'e2e',
      write: false,
    });
    const admin = adminUser.op === 'token' ? `Bearer ${adminUser.token}` : '';
    const operator = await tokenOf('ops', true);
    const resident = await tokenOf('anna', false);

    // A closed month, billed at start from the stored readings; the resident sees the bill.
    const bills = await until(
      () => `anna's bill for ${period.label}: ${run.output().slice(-400)}`,
      async () => {
        const b = (await get('/api/bills', resident)).bills as { period: string; unit?: string }[];
        return b.some((x) => x.period === period.label) ? b : undefined;
      },
      60_000,
    );
    expect(bills.every((b) => b.period === period.label)).toBe(true);
    expect(run.output()).toContain(`bills for ${period.label} (zev-bern, from the stored readings)`);

    // Readings of both sites reach the store.
    for (const key of ['zev-bern/house-grid-meter/power', 'lappeenranta/school-1-grid-meter/power'])
      await until(
        () => `stored readings of ${key}`,
        async () => {
          const r = (await get(`/api/points/${encodeURIComponent(key)}/readings?bucket=raw`, admin))
            .readings as {
            value: number | null;
          }[];
          return r.some((x) => x.value !== null) || undefined;
        },
        90_000,
      );

    // Both sites get a plan, and their batteries setpoints through the gateway's safety layer.
    for (const [site, battery] of [
      ['zev-bern', 'house-battery'],
      ['lappeenranta', 'school-1-battery'],
    ] as const) {
      await until(
        () => `a plan for ${site}: ${run.output().slice(-600)}`,
        async () => ((await get(`/api/sites/${site}/plan`, admin)).plan ? true : undefined),
        120_000,
      );
      const written = await until(
        () => `an optimiser setpoint written to ${site}/${battery}`,
        async () => {
          const w = (await get(`/api/sites/${site}/writes`, admin)).writes as {
            device: string;
            who: string;
            outcome: string;
          }[];
          return w.find((x) => x.device === battery && x.who !== 'market' && x.outcome === 'written');
        },
        60_000,
      );
      expect(written.who).toMatch(/optimi[sz]er/);
    }

    // An operator activation of the configured portfolio is dispatched to the battery.
    // The portfolio holds this hour's award (storeDrAward): selling the hour under way now is
    // refused, as it must be.
    const late = await post('/api/portfolios/city/bids', operator, {
      productId: 'dr-event',
      from: new Date(Math.floor(Date.now() / HOUR) * HOUR).toISOString(),
      to: new Date(Math.floor(Date.now() / HOUR) * HOUR + HOUR).toISOString(),
      strategy: { kind: 'fixed', priceCentsPerMwh: 5000 },
    });
    expect([201, 409], JSON.stringify(late.body)).toContain(late.status);
    if (late.status === 201) expect((late.body.bids as unknown[]).length).toBe(0);
    const id = `e2e-${Date.now()}`;
    const posted = await post('/api/portfolios/city/events', operator, {
      id,
      productId: 'dr-event',
      kw: 5,
      durationMs: 10 * 60_000,
    });
    expect(posted.status, JSON.stringify(posted.body)).toBe(201);
    await until(
      () => `activation ${id} to be active`,
      async () => {
        const v = (await get(`/api/portfolios/city/events/${id}`, operator)) as {
          activation: { state: string };
        };
        if (v.activation.state === 'failed') throw new Error(JSON.stringify(v));
        return v.activation.state === 'active' || undefined;
      },
      60_000,
    );
    // Written through the safety layer of the gateway polling the battery, recorded as the market's.
    const marketWrites = await until(
      () => 'a market setpoint written to a battery',
      async () => {
        const all = await Promise.all(
          ['zev-bern', 'lappeenranta'].map(
            async (site) =>
              (await get(`/api/sites/${site}/writes`, admin)).writes as {
                who: string;
                device: string;
                outcome: string;
              }[],
          ),
        );
        const m = all
          .flat()
          .filter((w) => w.who === 'market' && w.device.endsWith('battery') && w.outcome === 'written');
        return m.length > 0 ? m : undefined;
      },
      30_000,
    );
    expect(marketWrites.length).toBeGreaterThan(0);

    expect(await run.stop()).toBe(0);
  }, 420_000);
});
