import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePolicy, SiteDeviceRepository } from '../app/devices.js';
import { LiveGateways } from '../app/runtime.js';
import { buildApp } from '../app/testing.js';
import { SetpointWriteRepository } from '../gateway/write-log.js';
import { listPoints } from '../model/index.js';
import type { RunningSimulator } from '../sim/runner.js';
import { openStore, type Store } from '../store/index.js';
import { Hub } from '../stream/index.js';
import { launchChromium, SCREENSHOTS, type TestBrowser } from '../testkit/browser.js';
import { loginPage } from '../testkit/login.js';
import { startZevBernSimulator } from '../testkit/simulator.js';
import { battery20, bernSite, house, modbusMeter, testSites } from '../testkit/sites.js';
import { chromium } from '../testkit/system.js';
import { addRoleUsers, ROLE_USERS } from '../testkit/users.js';
import type { Role } from './access.js';

const browserDep = chromium();

const sites = testSites(
  bernSite({
    grid: { importLimitKw: 60, exportLimitKw: 30, measure: { power: 'bern/grid-meter/power' } },
    buildings: [
      house(
        [
          modbusMeter('grid-meter', { unitId: 1, name: 'Grid meter', pointName: 'Grid power' }),
          modbusMeter('pv', { unitId: 2, name: 'PV inverter', profile: 'sunspec' }),
          {
            id: 'battery',
            name: 'Battery',
            protocol: 'modbus',
            profile: 'sunspec',
            connection: { transport: 'tcp', host: '127.0.0.1', port: 5020, unitId: 3 },
            points: [
              { id: 'power', kind: 'active_power' },
              { id: 'soc', kind: 'state_of_charge' },
            ],
          },
        ],
        [
          { id: 'pv', type: 'pv', kwp: 10, inverterKw: 10, measure: { power: 'bern/pv/power' } },
          battery20({ measure: { power: 'bern/battery/power', soc: 'bern/battery/soc' } }),
        ],
      ),
    ],
  }),
);

/** The focused element's outline, as the browser draws it (the DOM types are not in the test's lib). */
const FOCUS_RING =
  "(() => { const s = getComputedStyle(document.activeElement); return s.outlineStyle + ' ' + s.outlineWidth; })()";

/** axe-core, injected through the DevTools protocol (the pages' CSP allows no inline script). */
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** Where each role lands, a heading it sees there, and pages it must be refused. */
const LANDING: Record<Role, { hash: string; heading: string; refused: string[] }> = {
  admin: { hash: '#/sites', heading: 'Your sites', refused: ['#/bills'] },
  // A manager of one site lands on its overview.
  manager: { hash: '#/sites', heading: 'Site ZEV Bern', refused: ['#/community', '#/portfolio'] },
  operator: { hash: '#/portfolio', heading: 'Portfolio', refused: ['#/bills', '#/site/bern/devices'] },
  resident: { hash: '#/bills', heading: 'My bills', refused: ['#/site/bern', '#/site/bern/writes'] },
  board: { hash: '#/community', heading: 'Community bern', refused: ['#/sites'] },
};

let store: Store;
let app: FastifyInstance;
let base: string;
let context: BrowserContext;
let browser: TestBrowser | undefined;
let gateways: LiveGateways;
let simulator: RunningSimulator | undefined;
let simDir: string | undefined;
const hub = new Hub();

/** Publish readings on the hub until `check` passes (a page subscribes only once it is open). */
async function whilePublishing(
  readings: () => { pointId: string; value: number }[],
  check: () => Promise<void>,
) {
  const timer = setInterval(
    () => hub.publishReadings(readings().map((r) => ({ ...r, ts: Date.now(), quality: 'good' as const }))),
    200,
  );
  try {
    await check();
  } finally {
    clearInterval(timer);
  }
}

/** Phone width: screenshot, and nothing wider than the screen (tables scroll inside their box). */
async function phoneShot(page: Page, name: string) {
  const before = page.viewportSize();
  await page.setViewportSize({ width: 375, height: 800 });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}-phone.png`), fullPage: true });
  const overflow = Number(await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'));
  expect(overflow, `${name} is wider than a phone`).toBeLessThanOrEqual(0);
  if (before) await page.setViewportSize(before);
}

describe.skipIf(browserDep.skipReason)('web UI in headless Chromium', () => {
  beforeAll(async () => {
    store = await openStore({ dataDir: 'memory://' });
    await store.readings.describePoints(listPoints(sites));
    const now = Date.now();
    await store.readings.ingest(
      Array.from({ length: 96 }, (_, i) => ({
        pointId: 'bern/grid-meter/power',
        ts: now - (96 - i) * 15 * 60_000,
        value: 2000 + 1500 * Math.sin(i / 8),
        quality: 'good' as const,
      })),
    );
    gateways = new LiveGateways(hub, { link: { minBackoffMs: 100, maxBackoffMs: 1000 } });
    app = await buildApp({ store, hub, sites, version: 'test', devices: gateways });
    // The administrator lets bern's managers reach devices on this machine (app/devices.ts).
    await new SiteDeviceRepository(store.db).savePolicy(
      'bern',
      parsePolicy({ networks: [{ cidr: '127.0.0.1/32', ports: [{ from: 1, to: 65535 }] }] }),
      'test',
    );
    await addRoleUsers(store);
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchChromium();
    context = browser.context;
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await gateways?.stop();
    await simulator?.stop();
    if (simDir) await rm(simDir, { recursive: true, force: true });
    await store?.close();
  });

  const login = (role: Role) => loginPage(context, base, ROLE_USERS[role], LANDING[role].hash);

  it.each(Object.keys(LANDING) as Role[])(
    '%s logs in, lands on its page and is refused pages of other roles',
    async (role) => {
      const page = await login(role);
      // Pages of other modules may add a name to the heading (a portfolio's, a community's).
      await expect
        .poll(() => page.locator('h1').textContent())
        .toMatch(new RegExp(`^${LANDING[role].heading}`));
      await page.screenshot({ path: join(SCREENSHOTS, `${role}-home.png`), fullPage: true });
      await phoneShot(page, `${role}-home`);
      // An automated WCAG 2.1 A/AA audit (axe-core) of the landing page: nothing found.
      await page.evaluate(AXE);
      const audit = (await page.evaluate(
        `axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }).then((r) => ({ passes: r.passes.length, violations: r.violations.map((v) => v.id + ' x' + v.nodes.length + ': ' + v.nodes.slice(0, 2).map((n) => n.target.join(' ')).join(', ')) }))`,
      )) as { passes: number; violations: string[] };
      expect(audit.passes).toBeGreaterThan(5);
      expect(audit.violations, role).toEqual([]);
      for (const hash of LANDING[role].refused) {
        await page.goto(`${base}/${hash}`);
        await expect
          .poll(() => page.locator('h1').textContent(), { message: hash })
          .toBe('You do not have access to this page.');
      }
      await page.close();
    },
    60_000,
  );

  it('refuses a wrong password with a message and keeps the user on the login form', async () => {
    await context.clearCookies();
    const page = await context.newPage();
    await page.goto(base);
    await page.screenshot({ path: join(SCREENSHOTS, 'login.png') });
    await phoneShot(page, 'login');
    await page.getByLabel('Username').fill('max');
    await page.getByLabel('Password').fill('wrong password');
    await page.getByRole('button', { name: 'Log in' }).click();
    // The answer waits for a password hash, which takes seconds on a loaded machine.
    await expect
      .poll(() => page.getByRole('alert').textContent(), { timeout: 20_000 })
      .toBe('The username or the password is not right.');
    await page.close();
  });

  it('shows a manager the site overview: live power flows, live values and a chart with a text alternative', async () => {
    const page = await login('manager');
    const flow = (id: string) => page.locator(`#flow-${id}-value`);
    const detail = (id: string) => page.locator(`#flow-${id}-detail`);
    await whilePublishing(
      () => [
        { pointId: 'bern/grid-meter/power', value: 2000 },
        { pointId: 'bern/pv/power', value: 3000 },
        { pointId: 'bern/battery/power', value: -500 },
        { pointId: 'bern/battery/soc', value: 55 },
      ],
      async () => {
        await expect.poll(() => flow('loads').textContent(), { timeout: 20_000 }).toBe('4.5 kW');
      },
    );
    expect(await flow('grid').textContent()).toBe('2 kW');
    expect(await detail('grid').textContent()).toBe('drawing from the grid');
    expect(await flow('pv').textContent()).toBe('3 kW');
    expect(await flow('battery').textContent()).toBe('500 W');
    expect(await detail('battery').textContent()).toBe('charging · charged 55 %');
    expect(await page.locator('[data-point="bern/grid-meter/power"]').textContent()).toBe('2 kW');

    // Exporting at midday: the grid tile says so, the loads follow.
    await whilePublishing(
      () => [
        { pointId: 'bern/grid-meter/power', value: -1500 },
        { pointId: 'bern/pv/power', value: 4000 },
        { pointId: 'bern/battery/power', value: 0 },
      ],
      async () => {
        await expect
          .poll(() => detail('grid').textContent(), { timeout: 20_000 })
          .toBe('feeding into the grid');
      },
    );
    await expect.poll(() => flow('loads').textContent()).toBe('2.5 kW');

    const chart = page.locator('#chart [role="img"]');
    await expect
      .poll(() => chart.getAttribute('aria-label'))
      .toMatch(/^Grid power over the last 24 hours: lowest/);
    expect(await page.locator('#chart canvas').count()).toBeGreaterThan(0);
    // The axis uPlot drew spans the last 24 hours (not the data's extent), in the site's zone.
    const figure = page.locator('#chart [role="img"]');
    await expect.poll(() => figure.getAttribute('data-axis-to')).not.toBeNull();
    const axisFrom = Date.parse((await figure.getAttribute('data-axis-from'))!);
    const axisTo = Date.parse((await figure.getAttribute('data-axis-to'))!);
    expect(axisTo - axisFrom).toBe(24 * 3_600_000);
    expect(Math.abs(axisTo - Date.now())).toBeLessThan(10 * 60_000);
    expect(await figure.getAttribute('data-time-zone')).toBe('Europe/Zurich');
    expect(await page.locator('#chart th').allInnerTexts()).toContain('Time (Europe/Zurich)');
    await expect.poll(() => page.locator('#savings').textContent()).toMatch(/no plan or baseline for today/);
    await page.screenshot({ path: join(SCREENSHOTS, 'manager-site.png'), fullPage: true });
    await phoneShot(page, 'manager-site');
    await page.close();
  }, 90_000);

  it('lets a manager add a device against the running simulator: test the connection, save it, see its live value', async () => {
    simDir = await mkdtemp(join(tmpdir(), 'gfx-web-sim-'));
    simulator = await startZevBernSimulator({ pkiDir: join(simDir, 'pki') });
    const meter = simulator.endpoints.find((e) => e.device === 'grid-meter' && e.profile === 'sdm630')!;
    expect(meter, 'the zev-bern grid meter is an SDM630').toBeDefined();

    const page = await login('manager');
    await page.goto(`${base}/#/site/bern`);
    await page.getByRole('link', { name: 'Devices' }).click();
    await page.waitForURL('**/#/site/bern/devices');
    await expect.poll(() => page.locator('h1').textContent()).toBe('Devices of ZEV Bern');
    await page.getByLabel('Device id').fill('sim-meter');
    await page.getByLabel('Name (optional)').fill('Simulated grid meter');
    await page.getByLabel('Profile').selectOption('sdm630');
    await page.getByLabel('Address (host name or IP)').fill('127.0.0.1');
    await page.getByLabel('Port').fill(String(meter.port));
    await page.getByLabel('Modbus unit id').fill(String(meter.unitId));

    // Keyboard: the test button is reached and pressed without a mouse, with a visible focus ring.
    await page.getByRole('button', { name: 'Add a point' }).focus();
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.id')).toBe('dev-test');
    const ring = await page.evaluate(FOCUS_RING);
    expect(ring).toBe('solid 3px');
    await page.keyboard.press('Enter');
    const tested = page.locator('#dev-result tr[data-point="power"]');
    await expect.poll(() => tested.count(), { timeout: 30_000 }).toBe(1);
    expect(await tested.locator('td').nth(0).textContent()).toMatch(/^-?[\d.,]+ k?W$/);
    expect(await tested.locator('td').nth(1).textContent()).toBe('W');
    expect(await tested.locator('td').nth(2).textContent()).toBe('good');
    await page.screenshot({ path: join(SCREENSHOTS, 'manager-device-test.png'), fullPage: true });

    await page.getByRole('button', { name: 'Save and start polling' }).click();
    await expect
      .poll(() => page.locator('#dev-result .ok').textContent(), { timeout: 30_000 })
      .toBe('Saved. The gateway is polling the device; its values appear below.');
    const live = page.locator('[data-point="bern/sim-meter/power"]');
    await expect.poll(() => live.textContent(), { timeout: 60_000 }).toMatch(/^-?[\d.,]+ k?W$/);
    expect(gateways.devices()).toEqual(['bern/sim-meter']);
    // It joins the site's device list, where its point mapping can be opened again.
    await expect.poll(() => page.locator('tr[data-device="sim-meter"]').count()).toBe(1);
    await page.getByLabel('Device id').fill('');
    await page.getByRole('button', { name: 'Change device sim-meter' }).click();
    expect(await page.getByLabel('Device id').inputValue()).toBe('sim-meter');
    expect(await page.getByLabel('Port').inputValue()).toBe(String(meter.port));
    expect(await page.getByLabel('Point 1: id').inputValue()).toBe('power');
    await page.screenshot({ path: join(SCREENSHOTS, 'manager-devices.png'), fullPage: true });
    await phoneShot(page, 'manager-devices');

    // An unreachable address is a plain message naming it, not a table of empty values.
    await page.getByLabel('Device id').fill('nowhere');
    await page.getByLabel('Port').fill('1');
    await page.getByRole('button', { name: 'Test the connection' }).click();
    await expect
      .poll(() => page.locator('#dev-result [role="alert"]').textContent(), { timeout: 30_000 })
      .toContain('127.0.0.1:1 did not answer');
    await page.close();
  }, 240_000);

  it("shows a manager the site's setpoint writes and refusals: who, why, old and new value, outcome", async () => {
    const log = await SetpointWriteRepository.open(store);
    const write = {
      site: 'bern',
      device: 'battery',
      point: 'power',
      clamped: false,
      reason: null,
    };
    await log.append({
      ...write,
      ts: Date.now() - 60_000,
      who: 'optimizer',
      why: 'charge from solar surplus',
      requested: 3000,
      value: 3000,
      old: 1000,
      readBack: 3000,
      outcome: 'written',
      refusal: null,
    });
    await log.append({
      ...write,
      ts: Date.now(),
      who: 'max',
      why: 'manual test',
      requested: 50_000,
      value: null,
      old: null,
      readBack: null,
      outcome: 'refused',
      refusal: 'out_of_range',
      reason: 'above the maximum 10000',
    });
    const page = await login('manager');
    await page.goto(`${base}/#/site/bern`);
    await page.getByRole('link', { name: 'Setpoint writes' }).click();
    await page.waitForURL('**/#/site/bern/writes');
    const rows = page.locator('#writes tbody tr');
    await expect.poll(() => rows.count()).toBe(2);
    const cells = async (i: number) => (await rows.nth(i).locator('th, td').allTextContents()).slice(1);
    expect(await cells(0)).toEqual([
      'Battery: power',
      'max',
      'manual test',
      '—',
      '50 kW',
      'refused by the safety layer: above the maximum 10000',
    ]);
    expect(await cells(1)).toEqual([
      'Battery: power',
      'optimiser',
      'charge from solar surplus',
      '1 kW',
      '3 kW',
      'written',
    ]);
    await page.screenshot({ path: join(SCREENSHOTS, 'manager-writes.png'), fullPage: true });
    await phoneShot(page, 'manager-writes');
    await page.close();
  }, 60_000);

  it('is keyboard navigable: the first Tab reaches the skip link, focus is visible on every control', async () => {
    await context.clearCookies();
    const page = await context.newPage();
    await page.goto(base);
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Skip to content');
    const box = await page.getByText('Skip to content').boundingBox();
    expect(box!.x).toBeGreaterThanOrEqual(0);
    const focused = async () => ({
      id: String(await page.evaluate('document.activeElement.id')),
      outline: String(await page.evaluate(FOCUS_RING)),
    });
    // Through the language switch to the login form, each stop with its focus ring.
    const seen: string[] = [];
    for (let i = 0; i < 6 && !seen.includes('password'); i++) {
      await page.keyboard.press('Tab');
      const f = await focused();
      expect(f.outline, `focus ring on #${f.id}`).toBe('solid 3px');
      seen.push(f.id);
    }
    expect(seen).toEqual(expect.arrayContaining(['lang', 'username', 'password']));
    await page.keyboard.type('x');
    await page.close();
  });

  it('speaks German to a German browser and switches language on request', async () => {
    const german = await launchChromium({ locale: 'de-DE' });
    try {
      const page = await german.context.newPage();
      await page.goto(base);
      await expect.poll(() => page.locator('h1').textContent()).toBe('Bei Gridflex anmelden');
      expect(await page.getAttribute('html', 'lang')).toBe('de');
      await page.screenshot({ path: join(SCREENSHOTS, 'login-de.png') });
      await page.getByLabel('Sprache').selectOption('en');
      await expect.poll(() => page.locator('h1').textContent()).toBe('Log in to Gridflex');
      await page.reload();
      await expect.poll(() => page.locator('h1').textContent()).toBe('Log in to Gridflex');
    } finally {
      await german.close();
    }
  });
});
