import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import jsQRModule from 'jsqr';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../app/testing.js';
import type { CommunityConfig } from '../ledger/index.js';
import type { Store } from '../store/index.js';
import { Hub } from '../stream/index.js';
import { closeAll, serveToChromium } from '../testkit/app.js';
import { zevBernBillsStore } from '../testkit/bills.js';
import { SCREENSHOTS, type TestBrowser } from '../testkit/browser.js';
import { zevBernLoginPage } from '../testkit/login.js';
import { chromium, pdftotext } from '../testkit/system.js';
import { ZEV_BERN_USERS } from '../testkit/users.js';

/**
 * Bills a treasurer would sign (issue 18): the demo's zev-bern bills (community file with its
 * issuer and IBAN) read on the web page, as HTML, as a PDF (text extracted by pdftotext), as
 * CSV: the same total, grid-alone comparison (fees and VAT included), saving and
 * self-sufficiency everywhere; the issuer, bill number and due date printed; the Swiss
 * QR-bill part decodes (jsQR on the SVG rendered by Chromium) to the bill's amount,
 * reference and account; a neighbour's bill seen by the board never says "Your saving".
 */
process.env.GRIDFLEX_LEDGER_KEYS = mkdtempSync(join(tmpdir(), 'gfx-web-bill-docs-keys-'));
const browserDep = chromium();
const pdfDep = pdftotext();
const USERS = ZEV_BERN_USERS;

let store: Store;
let app: FastifyInstance;
let base: string;
let browser: TestBrowser | undefined;
let community: CommunityConfig;

// jsqr ships CommonJS typed as an ES default export; under Node's ESM the default is the function.
const jsQR = jsQRModule as unknown as (
  data: Uint8ClampedArray,
  width: number,
  height: number,
) => { data: string } | null;

/** axe-core, injected through the DevTools protocol (the pages' CSP allows no inline script). */
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
/** WCAG 2.1 A and AA violations of the page as it stands: rule id, count and first targets. */
async function wcagViolations(page: Page): Promise<string[]> {
  await page.evaluate(AXE);
  const r = (await page.evaluate(`axe
    .run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
    .then((r) => ({
      passes: r.passes.length,
      violations: r.violations.map((v) => v.id + ' x' + v.nodes.length + ': ' + v.nodes.slice(0, 2).map((n) => n.target.join(' ')).join(', ')),
    }))`)) as { passes: number; violations: string[] };
  expect(r.passes, 'axe ran its rules').toBeGreaterThan(5);
  return r.violations;
}

/** "1,234.50" / "1’234.50" / "CHF 1 234.50" → "1234.50", for comparing amounts across formats. */
const plain = (s: string) => s.replace(/[’',\s\u00a0\u202f]/g, '');

describe.skipIf(browserDep.skipReason ?? pdfDep.skipReason)(
  'bill documents agree (web, HTML, PDF, CSV, QR-bill)',
  () => {
    beforeAll(async () => {
      ({ store, community } = await zevBernBillsStore());
      app = await buildApp({ store, hub: new Hub(), sites: [], version: 'test', communities: [community] });
      ({ base, browser } = await serveToChromium(app));
    }, 180_000);
    afterAll(() => closeAll(browser, app, store));

    const login = (role: keyof typeof USERS, landing: string) =>
      zevBernLoginPage(browser, base, role, landing);

    /** The October bill of apt-1 as the API gives it to the logged-in user. */
    async function octoberBill(page: Page) {
      const list = (await (await page.request.get(`${base}/api/bills`)).json()) as {
        bills: { id: string; unit: string; period: string }[];
      };
      const id = list.bills.find((b) => b.unit === 'apt-1' && b.period === '2026-10')!.id;
      const path = `${base}/api/units/apt-1/bills/${encodeURIComponent(id)}`;
      const json = await (await page.request.get(path)).json();
      return { id, path, json };
    }

    const kpi = (page: Page, label: string) =>
      page
        .locator('.kpi', { has: page.locator('dt', { hasText: label }) })
        .locator('dd')
        .innerText();

    it('shows the same figures on the web page, in the HTML, the PDF text and the CSV, with issuer, number and due date', async () => {
      const page = await login('resident', '#/bills');
      const { id, path, json } = await octoberBill(page);
      const f = json.figures;
      const money = (minor: number) => (minor / 100).toFixed(2);
      const total = money(json.totalMinor);
      const gridAlone = money(f.gridAloneMinor);
      const saving = money(f.savingMinor);
      // Same basis: grid alone includes the same fees and VAT, so it minus the total is the saving.
      expect(f.gridAloneMinor - json.totalMinor).toBe(f.savingMinor);
      expect(f.gridAloneMinor).toBeGreaterThan(json.gridOnlyMinor); // fees and VAT added
      expect(f.selfSufficiency).toMatch(/^\d+\.\d %$/);
      expect(json.issuer.name).toBe('ZEV Bern, Länggasse');
      expect(f.dueOn).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(f.reference).toMatch(/^RF\d{2}202610APT1$/);

      // The web page.
      await page.goto(`${base}/#/bill/apt-1/${encodeURIComponent(id)}`);
      await expect.poll(() => page.locator('#bill-total').innerText()).toContain(total);
      expect(plain(await kpi(page, 'Grid alone would have cost'))).toContain(gridAlone);
      expect(plain(await kpi(page, 'Your saving'))).toContain(saving);
      expect(await kpi(page, 'Self-sufficiency')).toBe(f.selfSufficiency);
      const meta = await page.locator('#bill-meta').innerText();
      for (const s of ['ZEV Bern, Länggasse', 'Länggassstrasse 12, 3012 Bern', id, f.dueOn])
        expect(meta).toContain(s);
      expect(await page.locator('#grid-alone-method').innerText()).toContain('same fees and VAT');
      expect(await page.locator('#checkpoint').innerText()).not.toContain('gridflex ledger');

      // The HTML download and the PDF (text as a PDF viewer extracts it).
      const html = await (await page.request.get(`${path}?format=html`)).text();
      const pdf = await (await page.request.get(`${path}?format=pdf`)).body();
      const dir = mkdtempSync(join(tmpdir(), 'gfx-bill-pdf-'));
      writeFileSync(join(dir, 'bill.pdf'), pdf);
      const pdfText = execFileSync('/usr/bin/pdftotext', ['-raw', join(dir, 'bill.pdf'), '-'], {
        encoding: 'utf8',
      });
      for (const [name, text] of [
        ['html', html],
        ['pdf', pdfText],
      ] as const) {
        const flat = text.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
        expect(flat, name).toContain(`Total CHF ${total}`);
        expect(flat, name).toContain(`Grid alone would have cost CHF ${gridAlone}`);
        expect(flat, name).toContain(`Your saving CHF ${saving}`);
        expect(flat, name).toContain(`Self-sufficiency ${f.selfSufficiency}`);
        expect(flat, name).toContain('ZEV Bern, Länggasse');
        expect(flat, name).toContain('Länggassstrasse 12, 3012 Bern');
        expect(flat, name).toContain(`Bill number ${id}`);
        expect(flat, name).toContain(`Due ${f.dueOn}`);
        expect(flat, name).toContain('same fees and VAT');
        expect(flat, name).not.toContain('flat-80');
        expect(flat, name).not.toContain('gridflex ledger');
      }
      expect(pdfText).toContain('Payment part');

      // The CSV.
      const csv = await (await page.request.get(`${path}?format=csv`)).text();
      const rows = new Map(
        csv
          .trim()
          .split('\n')
          .map((r) => [r.split(',')[0]!, r]),
      );
      expect(rows.get('total')).toMatch(new RegExp(`,${total}$`));
      expect(rows.get('grid_alone')).toMatch(new RegExp(`,${gridAlone}$`));
      expect(rows.get('saving')).toMatch(new RegExp(`^saving,Your saving,.*,${saving}$`));
      expect(rows.get('self_sufficiency')).toContain(f.selfSufficiency);
      expect(rows.get('due_date')).toContain(f.dueOn);

      // Phone width: the bill page reads without sideways scrolling.
      await page.setViewportSize({ width: 375, height: 800 });
      await page.locator('#payment img').scrollIntoViewIfNeeded();
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
      await writeFile(
        join(SCREENSHOTS, 'bill-documents-phone.png'),
        await page.screenshot({ fullPage: true }),
      );
      await page.close();
    }, 120_000);

    it('has a Swiss QR-bill payment part that decodes to the amount, reference and account', async () => {
      const page = await login('resident', '#/bills');
      const { path, json } = await octoberBill(page);
      // Draw the payment part's SVG, as the page's <img> shows it, large enough for a decoder.
      await page.goto(`${base}/#/bill/apt-1/${encodeURIComponent(json.id)}`);
      const img = page.locator('#payment img.qr-bill');
      await expect
        .poll(() => page.evaluate(`document.querySelector('#payment img.qr-bill')?.naturalWidth ?? 0`))
        .toBeGreaterThan(0);
      expect(await img.getAttribute('alt')).toContain(json.figures.reference);
      const pixels = (await page.evaluate(`(async () => {
      const image = new Image();
      image.src = ${JSON.stringify(`${path}?format=qr`)};
      await image.decode();
      // 8 px per mm of the 210 mm payment part; the QR code (46 mm) sits 67-113 mm from the
      // left, 17-63 mm from the top: only that square is handed over, to keep the transfer small.
      const mm = 8;
      const canvas = document.createElement('canvas');
      canvas.width = 210 * mm;
      canvas.height = 105 * mm;
      const g = canvas.getContext('2d');
      g.fillStyle = '#fff';
      g.fillRect(0, 0, canvas.width, canvas.height);
      g.drawImage(image, 0, 0, canvas.width, canvas.height);
      const d = g.getImageData(57 * mm, 7 * mm, 66 * mm, 66 * mm);
      return { width: d.width, height: d.height, data: Array.from(d.data) };
    })()`)) as { width: number; height: number; data: number[] };
      const code = jsQR(Uint8ClampedArray.from(pixels.data), pixels.width, pixels.height);
      expect(code, 'a QR code in the payment part').not.toBeNull();
      const lines = code!.data.split(/\r?\n/);
      expect(lines[0]).toBe('SPC'); // Swiss Payments Code
      expect(lines[3]).toBe(community.issuer!.iban);
      expect(lines).toContain((json.totalMinor / 100).toFixed(2));
      expect(lines).toContain('CHF');
      expect(lines).toContain('SCOR');
      expect(lines).toContain(json.figures.reference);
      await page.close();
    }, 120_000);

    it('shows the board a neighbour’s bill without "Your saving", in the page, the HTML and the CSV', async () => {
      const page = await login('board', '#/community');
      await expect.poll(() => page.locator('h1').innerText()).toContain('ZEV Bern, Länggasse');
      const { id, path, json } = await octoberBill(page);
      expect(json.own).toBe(false);
      await page.goto(`${base}/#/bill/apt-1/${encodeURIComponent(id)}`);
      await expect.poll(() => page.locator('.kpi dt').allInnerTexts()).toContain('Saving of this flat');
      expect(await page.locator('.kpi dt').allInnerTexts()).not.toContain('Your saving');
      const html = await (await page.request.get(`${path}?format=html`)).text();
      expect(html).toContain('Saving of this flat');
      expect(html).not.toContain('Your saving');
      const csv = await (await page.request.get(`${path}?format=csv`)).text();
      expect(csv).not.toContain('Your saving');
      await page.close();
    }, 120_000);
    it('shows the board the whole building, reconciled to the grid meter, flats in natural order', async () => {
      const page = await login('board', '#/community');
      const res = await page.request.get(`${base}/api/communities/zev-bern/summary`);
      const summary = (await res.json()).periods[0].summary as {
        consumptionMwh: number;
        selfConsumedMwh: number;
        gridMeterMwh: number;
        gridResidualMwh: number;
      };
      // The grid meter = the flats' grid energy + the common areas' (heat pump, EV chargers).
      expect(summary.consumptionMwh - summary.selfConsumedMwh + summary.gridResidualMwh).toBe(
        summary.gridMeterMwh,
      );
      expect(summary.gridResidualMwh).toBeGreaterThan(0);
      const cell = (row: string, col: number) => page.locator(`#${row} td`).nth(col).innerText();
      const kwh = (s: string) => Number(s.replace(/[^\d.]/g, ''));
      await expect.poll(() => page.locator('#building-grid-meter').count()).toBe(1);
      const flats = kwh(await cell('building-flats', 1));
      const common = kwh(await cell('building-common', 1));
      const meter = kwh(await cell('building-grid-meter', 1));
      expect(meter).toBeCloseTo(summary.gridMeterMwh / 1e6, 0);
      expect(Math.abs(flats + common - meter)).toBeLessThanOrEqual(0.1); // each shown to 0.1 kWh
      expect(await page.locator('#building-common th').innerText()).toContain('heat pump');
      const units = (await page.locator('ul.bills a').allInnerTexts())
        .filter((t) => t.endsWith('October 2026'))
        .map((t) => t.replace(/ \(.*$/, ''));
      expect(units).toEqual(Array.from({ length: 12 }, (_, i) => `Flat ${i + 1}`));
      await page.setViewportSize({ width: 375, height: 800 });
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
      await writeFile(
        join(SCREENSHOTS, 'board-building-phone.png'),
        await page.screenshot({ fullPage: true }),
      );
      await page.close();
    }, 120_000);
    it('passes an automated WCAG 2.1 A/AA audit (axe-core) on every bill page of the resident and the board', async () => {
      const audit = async (page: Page, hash: string, ready: string) => {
        await page.goto(`${base}/${hash}`);
        await page.locator(ready).first().waitFor();
        return { page: hash, violations: await wcagViolations(page) };
      };
      const resident = await login('resident', '#/bills');
      const { id } = await octoberBill(resident);
      const bill = `#/bill/apt-1/${encodeURIComponent(id)}`;
      const results = [
        await audit(resident, '#/bills', 'ul.bills a'),
        await audit(resident, bill, '#bill-total'),
        await audit(resident, `#/verify/apt-1/${encodeURIComponent(id)}`, 'h1'),
      ];
      await resident.close();
      const board = await login('board', '#/community');
      results.push(await audit(board, '#/community', '#building'), await audit(board, bill, '#bill-total'));
      await board.close();
      expect(results.filter((r) => r.violations.length > 0)).toEqual([]);
    }, 180_000);
  },
);
