import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../app/testing.js';
import { listPoints, localDayStart, type Site } from '../../model/index.js';
import { profileForecaster, tariffPrices } from '../../optimizer/live.js';
import { optimize } from '../../optimizer/optimize.js';
import { migrateOptimizer, PlanRepository } from '../../optimizer/plan-store.js';
import { siteProblem } from '../../optimizer/site-problem.js';
import { highsSolver } from '../../optimizer/solvers/highs.js';
import { openStore, type Store } from '../../store/index.js';
import { Hub } from '../../stream/index.js';
import { roleCookie } from '../../testkit/login.js';
import { battery20, bernSite, house, modbusMeter, PV_30KWP, testSites } from '../../testkit/sites.js';
import { addRoleUsers } from '../../testkit/users.js';
import type { Role } from '../access.js';

const planTestSites: Site[] = testSites(
  bernSite({
    buildings: [
      house(
        [modbusMeter('house-grid-meter', { unitId: 1 })],
        [battery20({ measure: { soc: 'bern/house-battery/soc' } }), PV_30KWP],
      ),
    ],
  }),
  bernSite({
    id: 'other',
    name: 'Other',
    location: { lat: 47, lon: 8 },
    grid: { importLimitKw: 10, exportLimitKw: 5 },
  }),
);

/** A solved plan for the slot in force now, stored as the live loop stores it; and a grid reading. */
async function seedPlan(store: Store, site: Site, nowMs: number): Promise<void> {
  await migrateOptimizer(store);
  const slotMs = 900_000;
  const slot = Math.floor(nowMs / slotMs);
  const startMs = slot * slotMs;
  const inputs = {
    startMs,
    state: { socPct: { battery: 30 } },
    forecast: await profileForecaster(site, { meanLoadKw: 5 })(startMs, 96, 15),
    prices: tariffPrices(
      { currency: 'CHF', import: { otherPerKwh: 0.4, windows: [] }, exportPerKwh: 0.05 },
      startMs,
      96,
      15,
      site.timezone,
    ),
    currency: 'CHF',
  };
  // Cheap for the first hour: the battery charges now.
  for (let t = 0; t < 4; t++) inputs.prices.import[t] = 0.1;
  const problem = siteProblem(site, inputs);
  const result = await optimize(problem, highsSolver);
  await new PlanRepository(store.db).save(
    site.id,
    {
      slot,
      source: 'solved',
      schedule: result.schedule!,
      result,
      request: { slot, startMs, problem, inputs },
    },
    nowMs,
  );
  await store.readings.ingest([
    { pointId: 'bern/house-grid-meter/power', ts: startMs + 1000, value: 12_000, quality: 'good' },
  ]);
}

describe('GET /api/sites/:site/plan', () => {
  let store: Store;
  let app: FastifyInstance;
  beforeAll(async () => {
    store = await openStore({ dataDir: 'memory://' });
    await store.readings.describePoints(listPoints(planTestSites));
    await addRoleUsers(store);
    app = await buildApp({ store, hub: new Hub(), sites: planTestSites, version: 'test' });
    await seedPlan(store, planTestSites[0]!, Date.now());
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    await store?.close();
  });

  const get = async (role: Role, site: string) => {
    const cookie = await roleCookie(app, role);
    return app.inject({ method: 'GET', url: `/api/sites/${site}/plan`, headers: { cookie } });
  };

  it('gives the manager the plan, the decision in force with its reason, and today against actual', async () => {
    const res = await get('manager', 'bern');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.plan.source).toBe('solved');
    expect(body.plan.slots).toHaveLength(96);
    expect(body.plan.savings).toBeGreaterThan(0);
    expect(body.current.slot).toBeLessThanOrEqual(1); // 1 if a slot boundary passed since seeding
    const battery = body.current.setpoints.find((s: { assetId: string }) => s.assetId === 'battery');
    expect(battery.kw).toBeGreaterThan(0);
    expect(body.current.summary).toMatch(
      /^battery charge [\d.]+ kW; import price now 0\.100\/kWh, marginal price/,
    );
    expect(body.current.marginalPrice).not.toBeNull();
    expect(body.current.binding.length).toBeGreaterThan(0);
    expect(body.today.slots).toHaveLength(96);
    const nowSlot = body.today.slots.find((s: { startMs: number }) => s.startMs === body.current.startMs);
    expect(nowSlot.plannedBatteryKw).toBeCloseTo(battery.kw, 6);
    expect(nowSlot.actualGridKw).toBeCloseTo(12, 6);
  });

  it('refuses a resident and hides a site outside the grant', async () => {
    expect((await get('resident', 'bern')).statusCode).toBe(403);
    expect((await get('manager', 'other')).statusCode).toBe(404);
    const admin = await get('admin', 'other');
    expect(admin.statusCode).toBe(200);
    expect(admin.json().plan).toBeNull();
  });

  it('finds local midnight in the site time zone', () => {
    expect(localDayStart(Date.parse('2026-01-15T10:00:00Z'), 'Europe/Zurich')).toBe(
      Date.parse('2026-01-14T23:00:00Z'),
    );
    expect(localDayStart(Date.parse('2026-07-15T23:30:00Z'), 'Europe/Zurich')).toBe(
      Date.parse('2026-07-15T22:00:00Z'),
    );
  });
});
