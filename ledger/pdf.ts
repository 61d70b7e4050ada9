import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { GridflexError } from '../model/index.js';
import { LEDGER_ERRORS } from './errors.js';

/**
 * PDF of an HTML bill through headless Chromium's print-to-PDF (A4, the page's print styles).
 * The browser is `GRIDFLEX_CHROMIUM` or /usr/bin/chromium (Debian package `chromium`); the page
 * is self-contained, so no network is used. playwright-core is imported here, when a PDF is asked
 * for: it is large, and a dev dependency, so HTML, CSV and JSON bills work without it.
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
];

export async function htmlToPdf(pages: readonly string[]): Promise<Buffer[]> {
  const executablePath = process.env.GRIDFLEX_CHROMIUM ?? '/usr/bin/chromium';
  let chromium: typeof import('playwright-core').chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch (err) {
    throw new GridflexError(
      LEDGER_ERRORS.PDF,
      `PDF needs the playwright-core package (npm install playwright-core); HTML, CSV and JSON need nothing: ${(err as Error).message.split('\n')[0]}`,
      { cause: err },
    );
  }
  const profile = await mkdtemp(join(tmpdir(), 'gfx-pdf-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      args: CHROMIUM_ARGS,
      headless: true,
    });
  } catch (err) {
    await rm(profile, { recursive: true, force: true });
    throw new GridflexError(
      LEDGER_ERRORS.PDF,
      `PDF needs Chromium at ${executablePath} (Debian: apt-get install chromium, or set GRIDFLEX_CHROMIUM): ${(err as Error).message.split('\n')[0]}`,
      { cause: err },
    );
  }
  try {
    const page = await context.newPage();
    const out: Buffer[] = [];
    for (const html of pages) {
      await page.setContent(html, { waitUntil: 'load' });
      out.push(
        await page.pdf({
          format: 'A4',
          printBackground: true,
          margin: { top: '15mm', bottom: '15mm', left: '15mm', right: '15mm' },
        }),
      );
    }
    return out;
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  }
}
