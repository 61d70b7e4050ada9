import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { BrowserContext } from 'playwright-core';
import { filter, firstValueFrom, Subject, timeout } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../app/testing.js';
import { listPoints, type Reading } from '../model/index.js';
import { LiveLoop, profileForecaster } from '../optimizer/live.js';
import { optimize } from '../optimizer/optimize.js';
import { migrateOptimizer, PlanRepository } from '../optimizer/plan-store.js';
import { highsSolver } from '../optimizer/solvers/highs.js';
import { openStore, type Store } from '../store/index.js';
import { Hub } from '../stream/index.js';
import { closeAll, serveToChromium } from '../testkit/app.js';
import { SCREENSHOTS, type TestBrowser } from '../testkit/browser.js';
import { loginPage } from '../testkit/login.js';
import { battery20, bernSite, house, modbusMeter, PV_30KWP, testSites } from '../testkit/sites.js';
import { chromium } from '../testkit/system.js';
import { addRoleUsers, ROLE_USERS } from '../testkit/users.js';

/**
 * The plan page over a plan made by the real live loop (optimizer/live.ts) for the current
 * slot and stored with its inputs, browsed by the site's manager in headless Chromium.
 */
const browserDep = chromium();

const sites = testSites(
  bernSite({
    buildings: [
      house(
        [modbusMeter('house-grid-meter', { unitId: 1, name: 'Grid meter', pointName: 'Grid power' })],
        [battery20({ measure: { soc: 'bern/house-battery/soc' } }), PV_30KWP],
      ),
    ],
  }),
);

let store: Store;
let app: FastifyInstance;
let base: string;
let context: BrowserContext;
let browser: TestBrowser | undefined;

describe.skipIf(browserDep.skipReason)('plan page in headless Chromium', () => {
  beforeAll(async () => {
    store = await openStore({ dataDir: 'memory://' });
    await store.readings.describePoints(listPoints(sites));
    await migrateOptimizer(store);
    const site = sites[0]!;
    const now = Date.now();
    // The local hour in force now is far cheaper than the rest of the day: the plan charges now.
    const hour = Number(
      new Intl.DateTimeFormat('en-GB', { timeZone: site.timezone, hour: '2-digit', hourCycle: 'h23' }).format(
        now,
      ),
    );
    const readings = new Subject<Reading>();
    const loop = new LiveLoop({
      site,
      readings$: readings,
      clock: Date.now,
      forecast: profileForecaster(site, { meanLoadKw: 5 }),
      tariff: {
        currency: 'CHF',
        import: { otherPerKwh: 0.4, windows: [{ fromHour: hour, toHour: hour + 1, perKwh: 0.1 }] },
        exportPerKwh: 0.05,
      },
      ticks$: new Subject(),
      refreshMs: 0,
      plans: new PlanRepository(store.db),
      solve: (request) => optimize(request.problem, highsSolver),
    }).start();
    const planned = firstValueFrom(
      loop.events$.pipe(
        filter((e) => e.kind === 'plan' && e.storedId !== null),
        timeout(60_000),
      ),
    );
    readings.next({ pointId: 'bern/house-battery/soc', ts: now, value: 30, quality: 'good' });
    await planned;
    await loop.stop();
    await store.readings.ingest([
      { pointId: 'bern/house-grid-meter/power', ts: now - 60_000, value: 4_000, quality: 'good' },
    ]);
    app = await buildApp({ store, hub: new Hub(), sites, version: 'test' });
    await addRoleUsers(store);
    ({ base, browser } = await serveToChromium(app));
    context = browser.context;
  }, 180_000);
  afterAll(() => closeAll(browser, app, store));

  it('shows the manager the decision in force, why, and today against actual, with a text alternative', async () => {
    const page = await loginPage(context, base, ROLE_USERS.manager, '#/sites');
    await page.goto(`${base}/#/site/bern`);
    await page.getByRole('link', { name: 'Open the plan' }).click();
    await page.waitForURL('**/#/site/bern/plan');
    await expect.poll(() => page.locator('h1').textContent()).toBe('Plan of bern');
    await expect
      .poll(() => page.locator('#plan-decision').textContent())
      .toMatch(/^battery: charge [\d.]+ kW$/);
    expect(await page.locator('#plan-binding li').allTextContents()).not.toEqual([]);
    expect(await page.locator('#plan-source').textContent()).toMatch(
      /^Planned .* \(the building changed\)\.$/,
    );
    await expect.poll(() => page.locator('#plan-chart canvas').count()).toBeGreaterThan(0);
    expect(await page.locator('#plan-chart').getAttribute('aria-label')).toMatch(
      /^\d+ quarter-hours planned today, grid at most .*; 1 measured, grid at most 4 kW\.$/,
    );
    expect(await page.locator('#plan-table tbody tr').count()).toBeGreaterThan(0);
    await page.screenshot({ path: join(SCREENSHOTS, 'manager-plan.png'), fullPage: true });
    await page.close();
  });
});
