import { mkdtempSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../app/testing.js';
import type { CommunityConfig } from '../ledger/index.js';
import type { Store } from '../store/index.js';
import { Hub } from '../stream/index.js';
import { closeAll, erasureService, serveToChromium } from '../testkit/app.js';
import { zevBernBillsStore } from '../testkit/bills.js';
import { SCREENSHOTS, type TestBrowser } from '../testkit/browser.js';
import { zevBernLoginPage } from '../testkit/login.js';
import { chromium } from '../testkit/system.js';
import { ZEV_BERN_USERS } from '../testkit/users.js';
import { AuditLog } from './audit.js';

/**
 * A resident checks a bill in the browser (no command line), and keeps its consumption
 * profile to itself unless it consents; the board then sees it, audited. The demo's zev-bern
 * bills, issued as `gridflex demo` does, signed with a key folder of this test's own.
 */
process.env.GRIDFLEX_LEDGER_KEYS = mkdtempSync(join(tmpdir(), 'gfx-verify-keys-'));
const browserDep = chromium();
const USERS = ZEV_BERN_USERS;
const BILL = 'zev-bern-2026-10-m-apt-1';

let store: Store;
let app: FastifyInstance;
let base: string;
let browser: TestBrowser | undefined;

describe.skipIf(browserDep.skipReason)(
  'checking a bill and sharing consumption in the web UI (headless Chromium)',
  () => {
    beforeAll(async () => {
      let community: CommunityConfig;
      ({ store, community } = await zevBernBillsStore());
      app = await buildApp({
        store,
        hub: new Hub(),
        sites: [],
        version: 'test',
        erasure: erasureService(store, [community]),
      });
      ({ base, browser } = await serveToChromium(app));
    }, 180_000);
    afterAll(() => closeAll(browser, app, store));

    const login = (role: keyof typeof USERS, landing: string) =>
      zevBernLoginPage(browser, base, role, landing);
    const verdict = (page: Page) => page.locator('#verify-result .verdict').textContent();

    it('a resident checks its bill from the bill page, and with the checkpoint printed on it', async () => {
      const page = await login('resident', '#/bills');
      await page.goto(`${base}/#/bill/apt-1/${BILL}`);
      await page.getByRole('link', { name: 'Check this bill' }).click();
      await page.waitForURL(`**/#/verify/apt-1/${BILL}`);
      await expect
        .poll(() => verdict(page))
        .toMatch(/^This bill is in the community’s ledger, unchanged, signed on .+ UTC\.$/);
      await page.screenshot({ path: join(SCREENSHOTS, 'resident-verify-phone.png'), fullPage: true });
      // The code printed on the bill (its HTML download) is the one the ledger holds.
      const html = await page.evaluate(
        async (bill) => (await fetch(`/api/units/apt-1/bills/${bill}?format=html`)).text(),
        BILL,
      );
      const printed = /Checkpoint <code>(\d+:[0-9a-f]{64})<\/code>/.exec(html)![1]!;
      await page.getByLabel('Checkpoint printed on your bill (optional)').fill(printed);
      await page.getByRole('button', { name: 'Check' }).click();
      await expect.poll(() => verdict(page)).toMatch(/^This bill is in the community’s ledger/);
      await page.getByLabel('Checkpoint printed on your bill (optional)').fill(`1:${'0'.repeat(64)}`);
      await page.getByRole('button', { name: 'Check' }).click();
      await expect.poll(() => verdict(page)).toBe('This bill could not be confirmed.');
      await expect
        .poll(() => page.locator('#verify-result').textContent())
        .toMatch(/is not the one this bill was sealed with/);
      await page.close();
    }, 180_000);

    it('a resident keeps its profile private, exports it, and consents; the board then sees it, audited', async () => {
      const board = await login('board', '#/community');
      await board.goto(`${base}/#/bill/apt-1/${BILL}`);
      await expect.poll(() => board.locator('#profile-withheld').count()).toBe(1);
      expect(await board.locator('#bill-total').count()).toBe(1);
      await board.close();

      const page = await login('resident', '#/bills');
      const mine = page.locator('#my-data');
      await expect.poll(() => mine.locator('ul.exports li').count()).toBe(2);
      const csvLink = mine.getByRole('link', { name: 'CSV' }).first();
      const [download] = await Promise.all([page.waitForEvent('download'), csvLink.click()]);
      expect(download.suggestedFilename()).toBe('apt-1-2026-10.csv');
      const csv = await readFile((await download.path())!, 'utf8');
      expect(csv.split('\n')[0]).toBe('start_utc,consumption_kwh,solar_kwh,grid_kwh,quality');
      // October 2026 in Zurich: 31 days, one of them 25 hours long (summer time ends).
      expect(csv.trim().split('\n').length).toBe(31 * 96 + 4 + 1);
      const consent = page.getByLabel('Let the board see my daily and 15-minute consumption');
      expect(await consent.isChecked()).toBe(false);
      await consent.check();
      await expect
        .poll(() => page.locator('#consent-status').textContent())
        .toBe('Saved: the board may see your consumption profile.');
      await page.close();

      const again = await login('board', '#/community');
      await again.goto(`${base}/#/bill/apt-1/${BILL}`);
      await expect.poll(() => again.locator('.chart[role="img"]').count()).toBe(1);
      expect(await again.locator('#profile-withheld').count()).toBe(0);
      await again.close();
      const audit = await new AuditLog(store.db).recent(100);
      expect(
        audit.filter((a) => a.action === 'bill_viewed' && a.actor === 'boris').length,
      ).toBeGreaterThanOrEqual(2);
      expect(audit.find((a) => a.action === 'profile_consent')).toMatchObject({
        actor: 'rosa',
        target: 'unit:apt-1',
      });
    }, 180_000);

    it('says what is wrong when the bill was changed in the database', async () => {
      await store.db.transaction(async (tx) => {
        await tx.query('ALTER TABLE ledger_entries DISABLE TRIGGER USER');
        await tx.query(
          `UPDATE ledger_entries SET body = replace(body, '"totalMinor":', '"totalMinor":1') WHERE kind = 'bill_issued' AND body LIKE $1`,
          [`%"id":"${BILL}"%`],
        );
        await tx.query('ALTER TABLE ledger_entries ENABLE TRIGGER USER');
      });
      const page = await login('resident', '#/bills');
      await page.goto(`${base}/#/verify/apt-1/${BILL}`);
      await expect.poll(() => verdict(page)).toBe('This bill could not be confirmed.');
      await expect.poll(() => page.locator('#verify-result').textContent()).toMatch(/was changed/);
      await page.close();
    }, 120_000);

    it('a resident erases its billed 15-minute data from its page, after confirming; the bills stay', async () => {
      const page = await login('resident', '#/bills');
      const mine = page.locator('#my-data');
      await expect.poll(() => mine.locator('ul.exports li').count()).toBe(2);
      // Dismissing the confirmation erases nothing.
      page.once('dialog', (d) => void d.dismiss());
      await mine.getByRole('button', { name: 'Erase my billed 15-minute data' }).click();
      expect(await mine.locator('ul.exports li').count()).toBe(2);
      page.once('dialog', (d) => void d.accept());
      await mine.getByRole('button', { name: 'Erase my billed 15-minute data' }).click();
      await expect
        .poll(() => page.locator('#erase-status').textContent())
        .toMatch(/^Erased: \d+ readings and 2 months of profiles\./);
      expect(await mine.locator('ul.exports').count()).toBe(0);
      await page.reload();
      await expect
        .poll(() => page.locator('#my-data').textContent())
        .toContain('No 15-minute data are stored for your flat.');
      // The bills themselves (monthly totals) stay.
      await page.goto(`${base}/#/bill/apt-1/${BILL}`);
      await expect.poll(() => page.locator('#bill-total').count()).toBe(1);
      await page.close();
      const audit = await new AuditLog(store.db).recent(100);
      expect(audit.find((a) => a.action === 'personal_data_erased')).toMatchObject({
        actor: 'rosa',
        target: 'unit:apt-1',
      });
    }, 180_000);
  },
);
