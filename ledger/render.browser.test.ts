import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium as playwright } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium } from '../testkit/system.js';
import { billPeriod } from './billing.js';
import { compileCommunity } from './community.js';
import { money } from './decimal.js';
import type { IssuedBill } from './issue.js';
import { CHROMIUM_ARGS, htmlToPdf } from './pdf.js';
import { parseReadingsCsv } from './readings.js';
import { billHtml } from './render.js';
import { exampleCommunity, exampleCsv } from './testing.js';

const browserDep = chromium();
const SHOTS = join(process.cwd(), '.screenshots');
const START = Date.UTC(2026, 9, 1, 10);

function bill(): IssuedBill {
  const b = billPeriod(
    compileCommunity(exampleCommunity()),
    { label: '2026-10', startMs: START, endMs: START + 4 * 900_000 },
    parseReadingsCsv(exampleCsv(START)),
  ).bills[2]!;
  return {
    ...b,
    run: { seq: 2, hash: 'c'.repeat(64) },
    checkpoint: {
      seq: 5,
      hash: 'a'.repeat(64),
      signedAt: '2026-11-01T00:00:00.000Z',
      keyId: '0123456789abcdef',
      publicKey: 'A'.repeat(43),
      signature: 'S'.repeat(86),
    },
    entry: { seq: 5, hash: 'b'.repeat(64) },
  };
}

describe.skipIf(browserDep.skipReason)('the HTML bill in headless Chromium', () => {
  let profile: string;
  let context: Awaited<ReturnType<typeof playwright.launchPersistentContext>>;

  beforeAll(async () => {
    await mkdir(SHOTS, { recursive: true });
    profile = await mkdtemp(join(tmpdir(), 'gfx-bill-chromium-'));
    context = await playwright.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      args: CHROMIUM_ARGS,
      headless: true,
    });
  });
  afterAll(async () => {
    await context?.close();
    await rm(profile, { recursive: true, force: true });
  });

  it('reads on a phone without sideways scrolling and shows the total, lines and checkpoint', async () => {
    const page = await context.newPage();
    await page.setViewportSize({ width: 375, height: 800 });
    const b = bill();
    await page.setContent(billHtml(b, 'Europe/Zurich'));
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    await expect(page.locator('.tot').innerText()).resolves.toBe(`Total CHF ${money(b.totalMinor)}`);
    expect(await page.locator('table.lines tbody tr').count()).toBe(3);
    // The signed checkpoint with the community's public key, readable at phone width.
    await expect(page.getByText('Checkpoint 5:', { exact: false }).first().isVisible()).resolves.toBe(true);
    await expect(page.getByText(b.checkpoint.hash).first().isVisible()).resolves.toBe(true);
    await expect(page.getByText('A'.repeat(43)).first().isVisible()).resolves.toBe(true);
    const phone = await page.screenshot({ fullPage: true });
    await writeFile(join(SHOTS, 'ledger-bill-phone.png'), phone);
    await page.setViewportSize({ width: 1200, height: 900 });
    await writeFile(join(SHOTS, 'ledger-bill-desktop.png'), await page.screenshot({ fullPage: true }));
    expect(phone.length).toBeGreaterThan(10_000);
    await page.close();
  });

  it('prints to an A4 PDF of at most two pages', async () => {
    const [pdf] = await htmlToPdf([billHtml(bill(), 'Europe/Zurich')]);
    expect(pdf!.subarray(0, 5).toString()).toBe('%PDF-');
    const pages = pdf!.toString('latin1').match(/\/Type\s*\/Page[^s]/g)?.length ?? 0;
    expect(pages).toBeGreaterThanOrEqual(1);
    expect(pages).toBeLessThanOrEqual(2);
    await writeFile(join(SHOTS, 'ledger-bill.pdf'), pdf!);
  });
});
