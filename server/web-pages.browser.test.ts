import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { demoConfig, demoOverlay, demoSites } from '../app/demo.js';
import type { DemoUser } from '../app/demo-users.js';
import { type RunningGridflex, startGridflex } from '../app/start.js';
import { loadConfigFile } from '../config/load.js';
import { packageRoot } from '../config/version.js';
import { PointKindSchema, type Site } from '../model/index.js';
import { type RunningSimulator, startSimulator } from '../sim/runner.js';
import { loadScenario } from '../sim/scenario.js';
import { freePortPair } from '../sim/testing.js';
import { launchChromium, SCREENSHOTS, type TestBrowser } from '../testkit/browser.js';
import { chromium } from '../testkit/system.js';
import { englishOnlyWords, wordsOf } from '../testkit/web-texts.js';

/**
 * Every page of every role of `gridflex demo` (the simulated zev-bern building polled by the
 * gateway, planned by the live optimiser, its bundled bills and portfolio), visited in
 * headless Chromium with a German browser: in English and German, at desktop and phone width
 * (390 × 844), audited with axe-core for WCAG 2.1 A/AA (0 violations; at phone width in German),
 * each German view checked for English words of the UI's text catalogues, each phone view
 * checked for horizontal overflow (German ones screenshot in .screenshots/pages-*-de-phone.png).
 * One demo and one browser for the file; about 4 to 5 minutes on the shared 2-core machine.
 */
const browserDep = chromium();
const HOST = '127.0.0.1';
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1200, height: 900 };

/** axe-core, injected through the DevTools protocol (the pages' CSP allows no inline script). */
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const AUDIT = `axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }, resultTypes: ['violations'] })
  .then((r) => r.violations.map((v) => v.id + ' x' + v.nodes.length + ': ' + v.nodes.slice(0, 3).map((n) => n.target.join(' ') + ' ' + (n.failureSummary || '').split('\\n').slice(1, 2).join('')).join(' | ')))`;

/**
 * Every text of the page a reader sees or a screen reader speaks: text nodes (also hidden ones:
 * a collapsed table, a visually hidden caption), labels, alternatives and the title. Left out:
 * `<code>` (checkpoint hashes, keys: hex digits are not words) and `translate="no"`.
 */
const TEXTS = `(() => {
  const out = [document.title];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode())
    if (!n.parentElement.closest('script, style, noscript, code, [translate="no"]')) out.push(n.textContent);
  for (const node of document.querySelectorAll('[aria-label],[alt],[title],[placeholder]'))
    for (const a of ['aria-label', 'alt', 'title', 'placeholder']) if (node.getAttribute(a)) out.push(node.getAttribute(a));
  return out.join('\\n');
})()`;

/**
 * Words of the demo's data, not of the UI, that a German page shows as they are configured:
 * - identifiers of the sites file (site, building, device, point and asset ids, point keys) and
 *   its point kinds and protocols: technical keys a manager types in the sites file and the
 *   devices form and finds in the API and CSV exports; translated, they would no longer match.
 *   A `name:` in the sites file replaces an id on every page (the demo's simulated devices have
 *   none), so a readable label is the configuration's job, not the translation's;
 * - names people gave: sites, buildings, devices, the community, its units, members, fee and
 *   tariff-zone names (its bills are issued in the community file's words), user display names;
 * - protocol names (Modbus, OPC UA, TCP).
 */
function dataWords(sites: Site[], community: Record<string, unknown>, users: DemoUser[]): Set<string> {
  const texts: (string | undefined)[] = ['Modbus TCP', 'OPC UA', ...PointKindSchema.options];
  for (const s of sites) {
    texts.push(s.id, s.name);
    for (const b of s.buildings) {
      texts.push(b.id, b.name);
      for (const d of b.devices) {
        texts.push(d.id, d.name, d.protocol);
        for (const p of d.points) texts.push(p.id, p.name);
      }
      for (const a of b.assets) texts.push(a.id, a.name, a.type);
    }
  }
  const names = (list: unknown) => (Array.isArray(list) ? list.map((x) => String(x?.name ?? '')) : []);
  const tariffs = (community.tariffs ?? []) as { grid?: { zones?: unknown }; fees?: unknown }[];
  texts.push(
    String(community.name),
    ...names(community.units),
    ...names(community.members),
    ...tariffs.flatMap((t) => [...names(t.grid?.zones), ...names(t.fees)]),
    ...users.map((u) => `Demo ${u.role} ${u.username}`),
  );
  return new Set(texts.flatMap((t) => wordsOf(t ?? '')).map((w) => w.toLowerCase()));
}

let g: RunningGridflex | undefined;
let sim: RunningSimulator | undefined;
let browser: TestBrowser | undefined;
let dataDir: string;
let base: string;
let allowed: Set<string>;
const users: Record<string, DemoUser> = {};

describe.skipIf(browserDep.skipReason)('every page of every role of the demo (headless Chromium)', () => {
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gfx-web-pages-'));
    // The demo's bills are signed with a key folder of this test's own.
    process.env.GRIDFLEX_LEDGER_KEYS = join(dataDir, 'ledger-keys');
    const simPort = await freePortPair();
    const { sites, simulated } = await demoSites(undefined, 'zev-bern', HOST, simPort);
    g = await startGridflex(
      await demoConfig(sites, simulated, { host: HOST, port: 0, data: dataDir, optimize: 'live' }),
      demoOverlay(sites, (list) => {
        for (const u of list) users[u.role] = u;
      }),
      { dataDir, host: HOST, port: 0, logLevel: 'silent' },
    );
    base = g.address;
    sim = await startSimulator(await loadScenario('zev-bern'), {
      host: HOST,
      portBase: simPort,
      pkiDir: join(dataDir, 'sim-pki'),
      seed: 1,
      speed: 1,
      now: Date.now,
    });
    const community = await loadConfigFile(
      z.record(z.string(), z.unknown()),
      `${packageRoot()}/deploy/examples/zev-bern-community.yaml`,
    );
    allowed = dataWords(sites, community, Object.values(users));
    browser = await launchChromium({ locale: 'de-CH', viewport: DESKTOP });
    // The pages below show the optimiser's plan and its writes: wait for the first ones.
    const page = await loginAs('manager');
    const deadline = Date.now() + 60_000;
    const writes = async () =>
      (await page.evaluate(async () => {
        const res = await fetch('/api/sites/zev-bern/writes?limit=1');
        return res.status === 200 ? ((await res.json()) as { writes: unknown[] }).writes.length : 0;
      })) as number;
    while ((await writes()) === 0) {
      if (Date.now() > deadline) throw new Error('the demo optimiser wrote nothing within 60 s');
      await page.waitForTimeout(500);
    }
    await page.close();
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    await g?.stop();
    await sim?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  /** A fresh page of the one browser, logged in as the demo user of `role` (over the API: any language). */
  async function loginAs(role: string): Promise<Page> {
    const context = browser!.context;
    await context.clearCookies();
    const res = await context.request.post(`${base}/api/auth/login`, {
      data: { username: users[role]!.username, password: users[role]!.password },
      headers: { origin: base },
    });
    expect(res.status()).toBe(200);
    const page = await context.newPage();
    await page.goto(base);
    return page;
  }

  /** The pages of each role, with the demo's bills (the board and the admin open a neighbour's). */
  async function pagesOf(page: Page, role: string): Promise<string[]> {
    const bills = (await page.evaluate(async () => {
      const res = await fetch('/api/bills');
      return res.status === 200
        ? ((await res.json()) as { bills: { unit: string; id: string }[] }).bills
        : [];
    })) as { unit: string; id: string }[];
    const bill = bills.find((b) => b.unit !== 'apt-1') ?? bills[0];
    if (['admin', 'resident', 'board'].includes(role)) expect(bill, `${role} sees a bill`).toBeDefined();
    const billPages = bill ? [`#/bill/${bill.unit}/${bill.id}`, `#/verify/${bill.unit}/${bill.id}`] : [];
    const site = [
      '#/site/zev-bern',
      '#/site/zev-bern/plan',
      '#/site/zev-bern/devices',
      '#/site/zev-bern/writes',
    ];
    const pages: Record<string, string[]> = {
      // A manager of one site lands on its overview (#/sites).
      manager: ['#/sites', ...site.slice(1)],
      operator: ['#/portfolio', '#/sites', ...site.slice(0, 2)],
      // The administrator's own pages: the site, plan, devices, writes, bill and verify pages
      // are the manager's and the board's, with the same data (only the header names the role).
      admin: ['#/sites', '#/portfolio', '#/community', billPages[0]!],
      resident: ['#/bills', ...billPages],
      board: ['#/community', ...billPages],
    };
    return pages[role]!;
  }

  let visit = 0;
  /** Load `hash` as a new document: the app renders it once, then marks the body ready. */
  async function open(page: Page, hash: string) {
    visit += 1;
    await page.goto(`${base}/?visit=${visit}${hash}`);
    await page.waitForSelector('body[data-ready]');
  }

  const english = englishOnlyWords();
  /** Words of the English catalogues, untranslated, on the page (data words allowed, see dataWords). */
  async function englishOn(page: Page): Promise<string[]> {
    const words = wordsOf((await page.evaluate(TEXTS)) as string);
    return [...new Set(words.filter((w) => english.has(w.toLowerCase()) && !allowed.has(w.toLowerCase())))];
  }

  it('has no English word on the German login page and no WCAG 2.1 A/AA violation on it', async () => {
    await browser!.context.clearCookies();
    const page = await browser!.context.newPage();
    for (const lang of ['de', 'en']) {
      await page.goto(base);
      await page.evaluate(`localStorage.setItem('gfx-lang', '${lang}')`);
      await open(page, '');
      expect(await page.locator('h1').textContent()).toBe(
        lang === 'de' ? 'Bei Gridflex anmelden' : 'Log in to Gridflex',
      );
      if (lang === 'de') expect(await englishOn(page)).toEqual([]);
      await page.evaluate(AXE);
      for (const size of [DESKTOP, PHONE]) {
        await page.setViewportSize(size);
        expect(await page.evaluate(AUDIT), `login ${lang} ${size.width} px`).toEqual([]);
      }
    }
    await page.screenshot({ path: join(SCREENSHOTS, 'login-en-phone.png') });
    await page.evaluate(`localStorage.removeItem('gfx-lang')`);
    await page.close();
  });

  it.each(['manager', 'operator', 'admin', 'resident', 'board'])(
    '%s: every page in English and German, desktop and phone: 0 WCAG 2.1 A/AA violations, no English word in German, nothing wider than a phone',
    async (role) => {
      const page = await loginAs(role);
      const hashes = await pagesOf(page, role);
      const problems: string[] = [];
      for (const lang of ['de', 'en']) {
        // German comes from the browser (de-CH); English is the reader's choice, remembered.
        await page.evaluate(
          lang === 'en' ? `localStorage.setItem('gfx-lang', 'en')` : `localStorage.removeItem('gfx-lang')`,
        );
        for (const hash of hashes) {
          await page.setViewportSize(DESKTOP);
          await open(page, hash);
          const where = `${role} ${lang} ${hash}`;
          expect(await page.getAttribute('html', 'lang'), where).toBe(lang);
          expect(await page.locator('main[data-refused]').count(), `${where} is refused`).toBe(0);
          if (lang === 'de') for (const w of await englishOn(page)) problems.push(`${where}: English "${w}"`);
          await page.evaluate(AXE);
          // The phone layout differs from the desktop one by padding and font size only
          // (style.css), the same in both languages: it is audited in German, whose longer
          // words are the harder case; English at phone width is checked for overflow below.
          for (const size of lang === 'de' ? [DESKTOP, PHONE] : [DESKTOP]) {
            await page.setViewportSize(size);
            for (const v of (await page.evaluate(AUDIT)) as string[])
              problems.push(`${where} ${size.width} px: ${v}`);
          }
          await page.setViewportSize(PHONE);
          // Charts follow the width on `resize`: measure after the next frames are laid out.
          await page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
          // At phone width (still set): a screenshot, and nothing wider than the screen.
          const name = `${role}-${hash.replace(/[#/]+/g, '-').replace(/^-|-$/g, '').split('-').slice(0, 3).join('-')}`;
          if (lang === 'de')
            await page.screenshot({ path: join(SCREENSHOTS, `pages-${name}-de-phone.png`), fullPage: true });
          const overflow = Number(
            await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'),
          );
          if (overflow > 0) problems.push(`${where}: ${overflow} px wider than a phone`);
        }
      }
      await page.evaluate(`localStorage.removeItem('gfx-lang')`);
      await page.close();
      expect(problems).toEqual([]);
    },
    240_000,
  );
});
