import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlanRepository, SiteTariffSchema, type StoredPlan } from '../optimizer/index.js';
import { AuthRepository } from '../server/auth/repository.js';
import { type RunningSimulator, startSimulator } from '../sim/runner.js';
import { loadScenario } from '../sim/scenario.js';
import { freePortPair } from '../sim/testing.js';
import { until } from '../testkit/wait.js';
import { demoConfig, demoSites } from './demo.js';
import { type RunningGridflex, startGridflex } from './start.js';

const HOST = '127.0.0.1';
const SITE = 'zev-bern';
const H = 3_600_000;
const DAY = 86_400_000;
const TOKEN_ENV = 'GFX_TEST_ENTSOE_TOKEN';

/**
 * Hourly day-ahead prices around now in the ENTSO-E A44 form (the header of the recorded
 * fixture, its period moved to today): the hour in force and the next cost 400 €/MWh, every
 * other hour 40 + its hour of the day, so a slot priced with the wrong hour is seen.
 */
async function a44AroundNow(nowMs: number): Promise<{ xml: string; perKwhAt: (ms: number) => number }> {
  const fixture = await readFile(
    new URL('../optimizer/tariffs/fixtures/entsoe-a44-ch-fall-a01.xml', import.meta.url),
    'utf8',
  );
  const head = fixture.slice(0, fixture.indexOf('<period.timeInterval>'));
  const start = Math.floor(nowMs / DAY) * DAY - 2 * DAY;
  const end = start + 5 * DAY;
  const nowHour = Math.floor(nowMs / H) * H;
  const perMwh = (ms: number) =>
    ms >= nowHour && ms < nowHour + 2 * H ? 400 : 40 + new Date(ms).getUTCHours();
  const iso = (ms: number) => `${new Date(ms).toISOString().slice(0, 16)}Z`;
  const points = Array.from(
    { length: (end - start) / H },
    (_, i) =>
      `<Point><position>${i + 1}</position><price.amount>${perMwh(start + i * H)}</price.amount></Point>`,
  ).join('\n      ');
  const xml = `${head}<period.timeInterval><start>${iso(start)}</start><end>${iso(end)}</end></period.timeInterval>
  <TimeSeries>
    <mRID>1</mRID>
    <auction.type>A01</auction.type>
    <businessType>A62</businessType>
    <in_Domain.mRID codingScheme="A01">10YCH-SWISSGRIDZ</in_Domain.mRID>
    <out_Domain.mRID codingScheme="A01">10YCH-SWISSGRIDZ</out_Domain.mRID>
    <contract_MarketAgreement.type>A01</contract_MarketAgreement.type>
    <currency_Unit.name>EUR</currency_Unit.name>
    <price_Measure_Unit.name>MWH</price_Measure_Unit.name>
    <curveType>A01</curveType>
    <Period>
      <timeInterval><start>${iso(start)}</start><end>${iso(end)}</end></timeInterval>
      <resolution>PT60M</resolution>
      ${points}
    </Period>
  </TimeSeries>
</Publication_MarketDocument>
`;
  return { xml, perKwhAt: (ms) => perMwh(Math.floor(ms / H) * H) / 1000 };
}

// `gridflex run`'s composition in-process (the demo's zev-bern building simulated on loopback,
// at wall-clock speed) with a spot tariff whose prices
// come from a local stand-in for the ENTSO-E platform.
describe('a site with a spot tariff in the running product', () => {
  let g: RunningGridflex;
  let sim: RunningSimulator;
  let server: Server;
  let dir: string;
  let requests = 0;
  let prices: Awaited<ReturnType<typeof a44AroundNow>>;
  let auth = '';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gfx-site-tariff-'));
    process.env.GRIDFLEX_LEDGER_KEYS = join(dir, 'ledger-keys');
    process.env[TOKEN_ENV] = 'test-token';
    prices = await a44AroundNow(Date.now());
    server = createServer((_req, res) => {
      requests++;
      res.writeHead(200, { 'content-type': 'text/xml' }).end(prices.xml);
    });
    await new Promise<void>((r) => server.listen(0, HOST, r));
    const baseUrl = `http://${HOST}:${(server.address() as AddressInfo).port}/api`;
    const simPort = await freePortPair();
    const { sites, simulated } = await demoSites(undefined, SITE, HOST, simPort);
    const config = await demoConfig(sites, simulated, { host: HOST, port: 0, data: dir, optimize: 'live' });
    config.sites = config.sites.map((s) =>
      s.site.id === SITE
        ? {
            ...s,
            siteTariff: SiteTariffSchema.parse({
              id: 'spot-test',
              currency: 'EUR',
              timezone: 'Europe/Zurich',
              versions: [
                { validFrom: '2026-01-01', energy: { kind: 'spot' }, peakCharge: { perKwMonth: 9.5 } },
              ],
            }),
            prices: { kind: 'entsoe', zone: '10YCH-SWISSGRIDZ', tokenEnv: TOKEN_ENV, baseUrl },
          }
        : s,
    );
    g = await startGridflex(
      config,
      {},
      {
        dataDir: dir,
        host: HOST,
        port: 0,
        logLevel: 'silent',
        adminPassword: 'correct horse battery',
      },
    );
    sim = await startSimulator(await loadScenario(SITE), {
      host: HOST,
      portBase: simPort,
      pkiDir: join(dir, 'sim-pki'),
      seed: 1,
      speed: 1,
      now: Date.now,
    });
    const users = new AuthRepository(g.runtime.store.db);
    auth = `Bearer ${(await users.createToken('admin', 'test', false)).token}`;
  }, 180_000);

  afterAll(async () => {
    await g?.stop();
    await sim?.stop();
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    delete process.env[TOKEN_ENV];
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const latest = async () => (await new PlanRepository(g.runtime.store.db).latest(SITE)) ?? undefined;
  const inputsOf = (p: StoredPlan) =>
    p.request.inputs as {
      prices: { import: number[] };
      currency: string;
      priceNotes: { stale: boolean; error?: string; tariff?: { id: string; validFrom: string } };
      peakPeriods?: { fromSlot: number; toSlot: number; chargePerKw: number; soFarKw: number }[];
    };

  it('the first plan is priced with the platform’s prices, and the plan API names the tariff in force', async () => {
    const first = await until('the first plan', latest, 120_000);
    const inputs = inputsOf(first);
    expect(requests).toBeGreaterThan(0);
    expect(inputs.currency).toBe('EUR');
    expect(inputs.priceNotes).toMatchObject({
      stale: false,
      tariff: { id: 'spot-test', validFrom: '2026-01-01' },
    });
    const slotMs = first.slotMinutes * 60_000;
    // Every slot of the 36 h horizon carries the served price of its hour (no fees, no VAT).
    inputs.prices.import.forEach((p, t) => {
      expect(p, `slot ${t}`).toBeCloseTo(prices.perKwhAt(first.startMs + t * slotMs), 9);
    });
    expect(inputs.prices.import[0]).toBe(0.4);
    // The month's demand charge, its floor the peak so far from the stored grid meter
    // (completed quarter-hours of this month only: none yet on a fresh store, so 0 kW or more).
    // One period per billing month of the 36 h horizon.
    expect(inputs.peakPeriods!.length).toBeGreaterThanOrEqual(1);
    expect(inputs.peakPeriods![0]).toMatchObject({ fromSlot: 0, chargePerKw: 9.5 });
    expect(inputs.peakPeriods![0]!.soFarKw).toBeGreaterThanOrEqual(0);

    // The plan API says which tariff is in force and where its prices came from.
    const view = await g.runtime.app.inject({
      method: 'GET',
      url: `/api/sites/${SITE}/plan`,
      headers: { origin: 'http://localhost', authorization: auth },
    });
    expect(view.statusCode, view.body).toBe(200);
    expect(view.json().plan.prices).toMatchObject({
      tariff: { id: 'spot-test', validFrom: '2026-01-01' },
      stale: false,
      error: null,
    });
  }, 300_000);
});
