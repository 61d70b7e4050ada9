import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { type BrowserContext, chromium as playwright } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listPoints, parseOrThrow, SitesConfigSchema } from '../model/index.js';
import { openStore, type Store } from '../store/index.js';
import { Hub } from '../stream/index.js';
import { chromium } from '../testkit/system.js';
import type { Role } from './access.js';
import { buildApp } from './app.js';
import { addRoleUsers, ROLE_USERS } from './testing.js';

const browserDep = chromium();
const SHOTS = fileURLToPath(new URL('../.screenshots/', import.meta.url));
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const sites = parseOrThrow(
  SitesConfigSchema,
  {
    sites: [
      {
        id: 'bern',
        name: 'ZEV Bern',
        location: { lat: 46.95, lon: 7.45 },
        timezone: 'Europe/Zurich',
        grid: { importLimitKw: 60, exportLimitKw: 30 },
        buildings: [
          {
            id: 'house',
            name: 'House',
            devices: [
              {
                id: 'meter',
                name: 'Grid meter',
                protocol: 'modbus',
                profile: 'sdm630',
                connection: { transport: 'tcp', host: '127.0.0.1', port: 5020, unitId: 1 },
                points: [{ id: 'power', name: 'Grid power', kind: 'active_power' }],
              },
            ],
          },
        ],
      },
    ],
  },
  'test sites',
).sites;

/** Where each role lands, a heading it sees there, and a page it must be refused. */
const LANDING: Record<Role, { hash: string; heading: string; refused: string }> = {
  admin: { hash: '#/sites', heading: 'Your sites', refused: '#/bills' },
  manager: { hash: '#/sites', heading: 'Your sites', refused: '#/community' },
  operator: { hash: '#/portfolio', heading: 'Portfolio', refused: '#/bills' },
  resident: { hash: '#/bills', heading: 'My bills', refused: '#/site/bern' },
  board: { hash: '#/community', heading: 'Community bern', refused: '#/sites' },
};

let store: Store;
let app: FastifyInstance;
let base: string;
let context: BrowserContext;
let profile: string;
const hub = new Hub();

async function openBrowser(locale: string) {
  profile = await mkdtemp(join(tmpdir(), 'gfx-chromium-'));
  return playwright.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    args: ARGS,
    headless: true,
    locale,
    viewport: { width: 1200, height: 900 },
  });
}

describe.skipIf(browserDep.skipReason)('web UI in headless Chromium', () => {
  beforeAll(async () => {
    await mkdir(SHOTS, { recursive: true });
    store = await openStore({ dataDir: 'memory://' });
    await store.readings.describePoints(listPoints(sites));
    const now = Date.now();
    await store.readings.ingest(
      Array.from({ length: 96 }, (_, i) => ({
        pointId: 'bern/meter/power',
        ts: now - (96 - i) * 15 * 60_000,
        value: 2000 + 1500 * Math.sin(i / 8),
        quality: 'good' as const,
      })),
    );
    app = await buildApp({ store, hub, sites, version: 'test' });
    await addRoleUsers(store);
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    context = await openBrowser('en-US');
  });
  afterAll(async () => {
    await context?.close();
    await rm(profile, { recursive: true, force: true });
    await app?.close();
    await store?.close();
  });

  async function login(role: Role) {
    await context.clearCookies();
    const page = await context.newPage();
    await page.goto(base);
    await page.getByLabel('Username').fill(ROLE_USERS[role].username);
    await page.getByLabel('Password').fill(ROLE_USERS[role].password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(`**/${LANDING[role].hash}`);
    return page;
  }

  it.each(Object.keys(LANDING) as Role[])(
    '%s logs in, lands on its page and is refused another',
    async (role) => {
      const page = await login(role);
      await expect.poll(() => page.locator('h1').textContent()).toBe(LANDING[role].heading);
      await page.screenshot({ path: join(SHOTS, `${role}-home.png`), fullPage: true });
      await page.goto(`${base}/${LANDING[role].refused}`);
      await expect.poll(() => page.locator('h1').textContent()).toBe('You do not have access to this page.');
      await page.close();
    },
  );

  it('refuses a wrong password with a message and keeps the user on the login form', async () => {
    await context.clearCookies();
    const page = await context.newPage();
    await page.goto(base);
    await page.getByLabel('Username').fill('max');
    await page.getByLabel('Password').fill('wrong password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toBe('The username or the password is not right.');
    await page.close();
  });

  it('shows a manager live values from the hub and a readings chart with a text alternative', async () => {
    const page = await login('manager');
    await page.getByRole('link', { name: 'Open ZEV Bern' }).click();
    await page.waitForURL('**/#/site/bern');
    const cell = page.locator('[data-point="bern/meter/power"]');
    const publisher = setInterval(
      () =>
        hub.publishReadings([{ pointId: 'bern/meter/power', ts: Date.now(), value: 4321, quality: 'good' }]),
      200,
    );
    try {
      await expect.poll(() => cell.textContent(), { timeout: 15_000 }).toBe('4.32 kW');
    } finally {
      clearInterval(publisher);
    }
    const chart = page.locator('#chart [role="img"]');
    await expect
      .poll(() => chart.getAttribute('aria-label'))
      .toMatch(/^Grid power over the last 24 hours: lowest/);
    expect(await page.locator('#chart canvas').count()).toBeGreaterThan(0);
    expect(await page.getByText('Not available yet', { exact: true }).count()).toBe(2);
    await page.screenshot({ path: join(SHOTS, 'manager-site.png'), fullPage: true });
    await page.setViewportSize({ width: 375, height: 800 });
    await page.screenshot({ path: join(SHOTS, 'manager-site-phone.png'), fullPage: true });
    const overflow = Number(await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'));
    expect(overflow).toBeLessThanOrEqual(0);
    await page.close();
  });

  it('is keyboard navigable: the first Tab reaches the skip link, which is visible when focused', async () => {
    await context.clearCookies();
    const page = await context.newPage();
    await page.goto(base);
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Skip to content');
    const box = await page.getByText('Skip to content').boundingBox();
    expect(box!.x).toBeGreaterThanOrEqual(0);
    await page.close();
  });

  it('speaks German to a German browser and switches language on request', async () => {
    const german = await openBrowser('de-DE');
    const dir = profile;
    try {
      const page = await german.newPage();
      await page.goto(base);
      await expect.poll(() => page.locator('h1').textContent()).toBe('Bei Gridflex anmelden');
      expect(await page.getAttribute('html', 'lang')).toBe('de');
      await page.screenshot({ path: join(SHOTS, 'login-de.png') });
      await page.getByLabel('Sprache').selectOption('en');
      await expect.poll(() => page.locator('h1').textContent()).toBe('Log in to Gridflex');
      await page.reload();
      await expect.poll(() => page.locator('h1').textContent()).toBe('Log in to Gridflex');
    } finally {
      await german.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
