import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { filter, firstValueFrom, Subject, timeout } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoUser } from '../app/demo-users.js';
import { parsePolicy, SiteDeviceRepository } from '../app/devices.js';
import type { Runtime } from '../app/runtime.js';
import { SetpointWriteRepository } from '../gateway/write-log.js';
import { localDayStart, type Reading } from '../model/index.js';
import { LiveLoop, profileForecaster } from '../optimizer/live.js';
import { optimize } from '../optimizer/optimize.js';
import { PlanRepository } from '../optimizer/plan-store.js';
import { highsSolver } from '../optimizer/solvers/highs.js';
import type { RunningSimulator } from '../sim/runner.js';
import { serveToChromium } from '../testkit/app.js';
import { SCREENSHOTS, type TestBrowser } from '../testkit/browser.js';
import { loginPage } from '../testkit/login.js';
import { demoMarketRuntime } from '../testkit/market.js';
import { startZevBernSimulator } from '../testkit/simulator.js';
import { chromium } from '../testkit/system.js';

/**
 * The demo's operator, manager and phone views (issue #18 "What users see"): the runtime over
 * the bundled zev-bern site with the market on, the demo users, a plan made by the real live
 * loop two hours ago (flat CHF tariff), browsed in headless Chromium.
 */
const browserDep = chromium();
const H = 3_600_000;
const SLOT = 15 * 60_000;
/** The flat tariff of the plan: every quarter-hour the batteries save grid import at 0.40 CHF/kWh. */
const IMPORT_CHF_PER_KWH = 0.4;

let demo: Awaited<ReturnType<typeof demoMarketRuntime>> | undefined;
let rt: Runtime;
let base: string;
let users: Record<string, DemoUser>;
let browser: TestBrowser | undefined;
let simulator: RunningSimulator | undefined;
/** The ended quarter-hours since local midnight that got grid and battery readings. */
let measuredSlots = 0;

describe.skipIf(browserDep.skipReason)(
  'operator, manager and phone views of the demo (headless Chromium)',
  () => {
    beforeAll(async () => {
      demo = await demoMarketRuntime('gfx-web-ops-');
      ({ rt, users } = demo);
      const site = demo.sites.find((s) => s.id === 'zev-bern')!;

      // A plan made two hours ago by the live loop, as if it had run since then: it covers the
      // quarter-hours measured below and sets the site's currency (its tariff's: CHF). The
      // market's availability follows this plan (the battery's planned power and energy).
      const planStart = Math.floor(Date.now() / SLOT) * SLOT - 2 * H;
      const readings = new Subject<Reading>();
      const loop = new LiveLoop({
        site,
        readings$: readings,
        clock: () => planStart,
        forecast: profileForecaster(site, { meanLoadKw: 8 }),
        tariff: {
          currency: 'CHF',
          import: { otherPerKwh: IMPORT_CHF_PER_KWH, windows: [] },
          exportPerKwh: 0.05,
        },
        ticks$: new Subject(),
        refreshMs: 0,
        plans: new PlanRepository(rt.store.db),
        solve: (request) => optimize(request.problem, highsSolver),
      }).start();
      const planned = firstValueFrom(
        loop.events$.pipe(
          filter((e) => e.kind === 'plan' && e.storedId !== null),
          timeout(90_000),
        ),
      );
      // Nearly empty then, so the plan keeps the battery's power free for the market's bids below.
      readings.next({ pointId: 'zev-bern/house-battery/soc', ts: planStart, value: 10, quality: 'good' });
      await planned;
      await loop.stop();

      // The two quarter-hours before the current one: 4 kW from the grid while the battery gave
      // 2 kW (its meter reads discharge positive). Idle, the grid would have carried 6 kW.
      const midnight = localDayStart(Date.now(), site.timezone);
      const current = Math.floor(Date.now() / SLOT) * SLOT;
      const meterReadings: Reading[] = [];
      for (const start of [current - 2 * SLOT, current - SLOT]) {
        if (start >= midnight) measuredSlots += 1;
        for (const ts of [start + 60_000, start + 7 * 60_000, start + 13 * 60_000])
          meterReadings.push(
            { pointId: 'zev-bern/house-grid-meter/power', ts, value: 4000, quality: 'good' },
            { pointId: 'zev-bern/house-battery/power', ts, value: 2000, quality: 'good' },
          );
      }
      await rt.store.readings.ingest(meterReadings);

      ({ base, browser } = await serveToChromium(rt.app));
    }, 240_000);
    afterAll(async () => {
      await simulator?.stop();
      await browser?.close();
      await demo?.stop();
    });

    const login = (role: string, landing: string): Promise<Page> =>
      loginPage(browser!.context, base, users[role]!, landing);

    it('prices the operator page in the site’s CHF, shows an up-only product without "down", and labels the kW axis', async () => {
      const page = await login('operator', '#/portfolio');
      // Availability is computed on the first visit (the plan, the battery's state): a few seconds.
      await expect
        .poll(() => page.locator('h1').textContent(), { timeout: 30_000 })
        .toBe('Portfolio Demo portfolio (ZEV Bern)');
      expect(await page.locator('main > p.muted').first().textContent()).toBe('Sites: ZEV Bern, Länggasse');

      // dr-event is up only: no "down" figure in the summary, the table or the chart.
      const summary = page.locator('#availability-summary');
      await expect
        .poll(() => summary.textContent())
        .toMatch(/^Up \(less consumption\): between [\d.,]+ kW and/);
      expect(await summary.textContent()).not.toMatch(/down/i);
      expect(await page.locator('#availability thead th').allTextContents()).toEqual([
        'Hour (Europe/Zurich)',
        'Up (kW)',
      ]);
      const figure = page.locator('#availability [role="img"]');
      await expect.poll(() => figure.getAttribute('data-y-unit')).toBe('kW');

      // fcr-n is symmetric: both directions.
      await page.selectOption('#product-choice', 'fcr-n');
      await expect
        .poll(() => page.locator('#availability thead th').allTextContents())
        .toEqual(['Hour (Europe/Zurich)', 'Up (kW)', 'Down (kW)']);
      expect(await page.locator('#availability-summary').textContent()).toMatch(
        /; down \(more consumption\)/,
      );

      expect(await page.locator('#bids-currency').textContent()).toBe(
        'Prices in CHF, the currency of the sites’ tariff.',
      );
      expect(await page.locator('main').textContent()).not.toContain('€');

      // Hours are built from the quarter-hours that have not ended: an ended one cannot lower an hour.
      // A string, so the test runner does not rewrite the page's own dynamic import.
      const hours = await page.evaluate(`(async () => {
        const { hourly } = await import('/web/market.js');
        const at = Date.parse('2026-12-07T10:00:00Z');
        const q = (i, upKw) => ({ startMs: at + i * 900000, endMs: at + (i + 1) * 900000, upKw, downKw: 0 });
        return hourly([q(0, 1), q(1, 5), q(2, 6), q(3, 7)], at + 1000000);
      })()`);
      expect(hours).toEqual([{ startMs: Date.parse('2026-12-07T10:00:00Z'), upKw: 5, downKw: 0 }]);
      await page.screenshot({ path: join(SCREENSHOTS, 'operator-portfolio-chf.png'), fullPage: true });
      await page.close();
    }, 120_000);

    it('shows the manager what was saved so far today, measured, beside what was planned for today', async () => {
      const page = await login('manager', '#/sites');
      const measured = page.locator('#savings-measured');
      await expect.poll(() => measured.textContent()).toMatch(/^CHF\s/);
      const api = await page.evaluate(
        async () =>
          (await (await fetch('/api/sites/zev-bern/savings')).json()) as {
            savedSoFar: number | null;
            plannedToday: number | null;
            currency: string | null;
            measuredSlots: number;
          },
      );
      // Each measured quarter-hour: 2 kW the battery gave, 0.5 kWh not imported at 0.40 CHF.
      const expected = measuredSlots * 2 * 0.25 * IMPORT_CHF_PER_KWH;
      if (measuredSlots === 0) expect(api.savedSoFar).toBeNull();
      else expect(api.savedSoFar).toBeCloseTo(expected, 9);
      expect(api.currency).toBe('CHF');
      expect(api.measuredSlots).toBe(measuredSlots);
      const chf = (v: number | null) =>
        v === null ? '—' : new Intl.NumberFormat('en-US', { style: 'currency', currency: 'CHF' }).format(v);
      expect(await measured.textContent()).toBe(chf(api.savedSoFar));
      expect(typeof api.plannedToday).toBe('number');
      expect(await page.locator('#savings-planned').textContent()).toBe(chf(api.plannedToday));
      expect(await page.locator('#savings dt').allTextContents()).toEqual([
        'Saved so far today (measured)',
        'Planned for today',
      ]);
      await page.selectOption('#lang', 'de');
      await expect
        .poll(() => page.locator('#savings dt').allTextContents())
        .toEqual(['Heute bisher gespart (gemessen)', 'Für heute geplant']);
      await page.selectOption('#lang', 'en');
      await page.close();
    }, 60_000);

    it('keeps the why column of the writes page readable on a phone', async () => {
      const log = await SetpointWriteRepository.open(rt.store);
      await log.append({
        site: 'zev-bern',
        device: 'house-battery',
        point: 'charge_rate',
        clamped: false,
        reason: null,
        ts: Date.now() - 60_000,
        who: 'optimizer',
        why: 'the plan charges the battery from the solar surplus at midday, when import is dearest later',
        requested: 3000,
        value: 3000,
        old: 1000,
        readBack: 3000,
        outcome: 'written',
        refusal: null,
      });
      const page = await login('manager', '#/sites');
      await page.setViewportSize({ width: 390, height: 844 });
      await page.goto(`${base}/#/site/zev-bern/writes`);
      const why = page.locator('#writes td.why').first();
      await expect.poll(() => why.textContent()).toContain('solar surplus');
      const width = await why.evaluate((td) => td.getBoundingClientRect().width);
      // At least 14rem (224 px): a phrase per line, not a letter.
      expect(width).toBeGreaterThanOrEqual(224);
      await page.screenshot({ path: join(SCREENSHOTS, 'manager-writes-phone.png'), fullPage: true });
      await page.close();
    }, 60_000);

    it('tests a device without a stray "null", values in the unit their column says, and names a bad id once', async () => {
      const simDir = await mkdtemp(join(tmpdir(), 'gfx-web-ops-sim-'));
      simulator = await startZevBernSimulator({ pkiDir: join(simDir, 'pki') });
      const meter = simulator.endpoints.find((e) => e.device === 'grid-meter' && e.profile === 'sdm630')!;
      // The administrator lets zev-bern's managers reach devices on this machine (app/devices.ts).
      await new SiteDeviceRepository(rt.store.db).savePolicy(
        'zev-bern',
        parsePolicy({ networks: [{ cidr: '127.0.0.1/32', ports: [{ from: 1, to: 65535 }] }] }),
        'test',
      );
      const page = await login('manager', '#/sites');
      await page.goto(`${base}/#/site/zev-bern/devices`);
      await page.getByLabel('Device id').fill('sim-meter');
      await page.getByLabel('Profile').selectOption('sdm630');
      await page.getByLabel('Port').fill(String(meter.port));
      await page.getByLabel('Modbus unit id').fill(String(meter.unitId));
      await page.getByRole('button', { name: 'Test the connection' }).click();
      const rows = page.locator('#dev-result tbody tr');
      await expect.poll(() => rows.count(), { timeout: 30_000 }).toBeGreaterThan(1);
      expect(await page.locator('#dev-result').textContent()).not.toContain('null');
      // The energy counter is in Wh: shown in Wh (not "331.79 kWh" under "Wh").
      const table = await rows.evaluateAll((trs) =>
        trs.map((tr) => [...tr.children].map((c) => c.textContent ?? '')),
      );
      const energy = table.find(([point]) => point === 'energy_import')!;
      expect(energy[2]).toBe('Wh');
      for (const [, value, unit] of table) if (value !== '—') expect(value!.endsWith(` ${unit}`)).toBe(true);

      await page.getByLabel('Device id').fill('Bad Id');
      await page.getByRole('button', { name: 'Save and start polling' }).click();
      const alert = page.locator('#dev-result [role="alert"]');
      await expect
        .poll(() => alert.textContent())
        .toBe('Device id: use lower-case letters, digits, "-" and "_" (start with a letter or digit)');
      expect(await page.getByLabel('Device id').getAttribute('aria-invalid')).toBe('true');
      await page.screenshot({ path: join(SCREENSHOTS, 'manager-device-bad-id.png'), fullPage: true });
      await page.close();
      await rm(simDir, { recursive: true, force: true });
    }, 120_000);
  },
);
