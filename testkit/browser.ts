import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium as playwright } from 'playwright-core';

/** Where browser tests leave their screenshots (gitignored). */
export const SCREENSHOTS = fileURLToPath(new URL('../.screenshots/', import.meta.url));

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
];

export interface TestBrowser {
  context: BrowserContext;
  /** Close the browser and remove its throw-away profile. */
  close(): Promise<void>;
}

/**
 * Debian's headless Chromium with a fresh profile (no cookies or cache from another test), a
 * desktop viewport and English unless told otherwise. Callers skip first when Chromium is
 * absent (testkit/system.ts `chromium()`).
 */
export async function launchChromium(
  options: { locale?: string; viewport?: { width: number; height: number }; acceptDownloads?: boolean } = {},
): Promise<TestBrowser> {
  await mkdir(SCREENSHOTS, { recursive: true });
  const profile = await mkdtemp(join(tmpdir(), 'gfx-chromium-'));
  const context = await playwright.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    args: ARGS,
    headless: true,
    locale: 'en-US',
    viewport: { width: 1200, height: 900 },
    ...options,
  });
  return {
    context,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
