import { mkdtempSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../app/testing.js';
import type { Store } from '../store/index.js';
import { Hub } from '../stream/index.js';
import { closeAll, serveToChromium } from '../testkit/app.js';
import { zevBernBillsStore } from '../testkit/bills.js';
import { SCREENSHOTS, type TestBrowser } from '../testkit/browser.js';
import { zevBernLoginPage } from '../testkit/login.js';
import { chromium } from '../testkit/system.js';
import { ZEV_BERN_USERS } from '../testkit/users.js';

/**
 * The household and board pages over real bills: the demo's zev-bern community (12 flats,
 * September and October 2026 from the bundled readings), issued into the ledger as
 * `gridflex demo` does, then browsed in headless Chromium.
 */
// The bills are signed with a key folder of this test's own, not ./data's.
process.env.GRIDFLEX_LEDGER_KEYS = mkdtempSync(join(tmpdir(), 'gfx-web-bills-keys-'));
const browserDep = chromium();
const USERS = ZEV_BERN_USERS;

let store: Store;
let app: FastifyInstance;
let base: string;
let browser: TestBrowser | undefined;

describe.skipIf(browserDep.skipReason)('bills in the web UI (headless Chromium)', () => {
  beforeAll(async () => {
    ({ store } = await zevBernBillsStore());
    app = await buildApp({ store, hub: new Hub(), sites: [], version: 'test' });
    ({ base, browser } = await serveToChromium(app));
  }, 180_000);
  afterAll(() => closeAll(browser, app, store));

  const login = (role: keyof typeof USERS, landing: string) => zevBernLoginPage(browser, base, role, landing);

  const h1 = (page: Page) => page.locator('h1').textContent();

  it('shows a resident its own bills and one bill in full, with a PDF that downloads', async () => {
    const page = await login('resident', '#/bills');
    await expect.poll(() => h1(page)).toBe('My bills');
    const links = page.locator('ul.bills a');
    await expect.poll(() => links.allTextContents()).toEqual(['October 2026', 'September 2026']);
    // The consumption chart of the latest bill, with its text alternative.
    await expect
      .poll(() => page.locator('#consumption [role="img"]').getAttribute('aria-label'))
      .toMatch(/^31 days: [\d.,]+ kWh from the building’s solar, [\d.,]+ kWh from the grid/);

    await links.first().click();
    await page.waitForURL('**/#/bill/apt-1/zev-bern-2026-10-m-apt-1');
    await expect.poll(() => h1(page)).toBe('Bill October 2026');
    const bill = await page.evaluate(
      async () =>
        (await fetch('/api/units/apt-1/bills/zev-bern-2026-10-m-apt-1')).json() as Promise<{
          energy: { solarMwh: number; gridMwh: number; consumptionMwh: number };
          savingMinor: number;
          figures: { savingMinor: number; gridAloneMinor: number };
          totalMinor: number;
          checkpoint: { seq: number; hash: string };
        }>,
    );
    expect(bill.energy.solarMwh + bill.energy.gridMwh).toBe(bill.energy.consumptionMwh);
    expect(bill.energy.solarMwh).toBeGreaterThan(0);
    expect(bill.savingMinor).toBeGreaterThan(0);
    const kpi = async (label: string) =>
      page
        .locator('.kpi', { has: page.locator('dt', { hasText: label }) })
        .locator('dd')
        .textContent();
    const kwh = (mWh: number) =>
      `${new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 }).format(mWh / 1_000_000)} kWh`;
    const chf = (minor: number) =>
      new Intl.NumberFormat('en-US', { style: 'currency', currency: 'CHF' }).format(minor / 100);
    expect(await kpi('Solar from the building')).toBe(kwh(bill.energy.solarMwh));
    expect(await kpi('From the grid')).toBe(kwh(bill.energy.gridMwh));
    // The saving shown is against grid alone with the same fees and VAT (render.ts billFigures).
    expect(bill.figures.gridAloneMinor - bill.totalMinor).toBe(bill.figures.savingMinor);
    expect(await kpi('Your saving')).toBe(chf(bill.figures.savingMinor));
    expect(await page.locator('#bill-total').textContent()).toBe(`Total ${chf(bill.totalMinor)}`);
    const main = (await page.locator('main').textContent())!;
    expect(main).toMatch(/VAT 8\.10 % on CHF \d+\.\d\d/);
    expect(main).not.toContain('null');
    const chart = page.locator('section.card [role="img"]');
    expect(await chart.getAttribute('aria-label')).toMatch(/^31 days: /);
    expect(await page.locator('section.card canvas').count()).toBeGreaterThan(0);
    expect(await page.locator('details table tbody tr').count()).toBe(31);
    expect(await page.locator('#checkpoint code').textContent()).toBe(
      `${bill.checkpoint.seq}:${bill.checkpoint.hash}`,
    );

    await page.setViewportSize({ width: 375, height: 800 });
    await page.screenshot({ path: join(SCREENSHOTS, 'resident-bill-phone.png'), fullPage: true });
    const overflow = Number(await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'));
    expect(overflow).toBeLessThanOrEqual(0);

    const pdfLink = page.getByRole('link', { name: 'Download PDF' });
    const type = await page.evaluate(
      async (href) => (await fetch(href)).headers.get('content-type'),
      (await pdfLink.getAttribute('href'))!,
    );
    expect(type).toBe('application/pdf');
    const [download] = await Promise.all([page.waitForEvent('download'), pdfLink.click()]);
    expect(download.suggestedFilename()).toBe('zev-bern-2026-10-m-apt-1.pdf');
    const bytes = await readFile((await download.path())!);
    expect(bytes.subarray(0, 5).toString()).toBe('%PDF-');
    await page.close();
  }, 180_000);

  it('refuses a resident a neighbour’s bill: the not-found page, none of its data', async () => {
    const page = await login('resident', '#/bills');
    await page.goto(`${base}/#/bill/apt-2/zev-bern-2026-10-m-apt-2`);
    await expect.poll(() => h1(page)).toBe('This bill does not exist or is not yours.');
    expect(await page.locator('#bill-total').count()).toBe(0);
    expect(await page.locator('main').textContent()).not.toContain('Beat Keller');
    const status = await page.evaluate(
      async () => (await fetch('/api/units/apt-2/bills/zev-bern-2026-10-m-apt-2')).status,
    );
    expect(status).toBe(404);
    await page.close();
  }, 120_000);

  it('shows a board the community dashboard and every unit’s bills', async () => {
    const page = await login('board', '#/community');
    await expect.poll(() => h1(page)).toBe('Community zev-bern');
    const dashboard = page.locator('#dashboard');
    await expect.poll(() => dashboard.locator('h3').textContent()).toBe('October 2026');
    const labels = await dashboard.locator('dt').allTextContents();
    for (const label of [
      'Solar production',
      'Self-consumed',
      'Exported to the grid',
      'Internal solar revenue',
    ])
      expect(labels).toContain(label);
    const summary = await page.evaluate(
      async () =>
        (await fetch('/api/communities/zev-bern/summary')).json() as Promise<{
          periods: { summary: { productionMwh: number; selfConsumedMwh: number; exportedMwh: number } }[];
        }>,
    );
    const oct = summary.periods[0]!.summary;
    expect(oct.selfConsumedMwh + oct.exportedMwh).toBe(oct.productionMwh);
    expect(await page.locator('ul.bills li').count()).toBe(24);
    expect(await page.locator('main').textContent()).not.toContain('null');
    await page.setViewportSize({ width: 375, height: 800 });
    await page.screenshot({ path: join(SCREENSHOTS, 'board-community-phone.png'), fullPage: true });

    await page.getByRole('link', { name: 'Flat 2 (ground floor): October 2026' }).click();
    await page.waitForURL('**/#/bill/apt-2/zev-bern-2026-10-m-apt-2');
    await expect
      .poll(() => page.locator('main p.muted').first().textContent())
      .toBe('Beat Keller · Flat 2 (ground floor)');
    await page.close();
  }, 120_000);
});
