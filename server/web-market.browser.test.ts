import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoUser } from '../app/demo-users.js';
import type { Runtime } from '../app/runtime.js';
import { serveToChromium } from '../testkit/app.js';
import { SCREENSHOTS, type TestBrowser } from '../testkit/browser.js';
import { loginPage } from '../testkit/login.js';
import { awardNow, demoMarketRuntime, drAwardNow, saveAward } from '../testkit/market.js';
import { chromium } from '../testkit/system.js';

/**
 * The operator's portfolio page as `gridflex demo` serves it: the runtime with the market on
 * (bundled portfolio `demo` over zev-bern, availability from the battery's limits), the demo
 * users, browsed in headless Chromium.
 */
const browserDep = chromium();
const H = 3_600_000;

let demo: Awaited<ReturnType<typeof demoMarketRuntime>> | undefined;
let rt: Runtime;
let base: string;
let users: Record<string, DemoUser>;
let browser: TestBrowser | undefined;

describe.skipIf(browserDep.skipReason)('operator portfolio page (headless Chromium)', () => {
  beforeAll(async () => {
    demo = await demoMarketRuntime('gfx-market-web-');
    ({ rt, users } = demo);
    ({ base, browser } = await serveToChromium(rt.app));
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await demo?.stop();
  });

  const login = (role: string, landing: string) => loginPage(browser!.context, base, users[role]!, landing);

  const h1 = (page: Page) => page.locator('h1').textContent();

  it('lands the demo operator on its portfolio with availability as a chart and a table', async () => {
    const page = await login('operator', '#/portfolio');
    await expect.poll(() => h1(page)).toBe('Portfolio Demo portfolio (ZEV Bern)');
    const chart = page.locator('#availability [role="img"]');
    await expect
      .poll(() => chart.getAttribute('aria-label'))
      // dr-event is up only: no "down" figure (web-operations.browser.test.ts has a symmetric one).
      .toMatch(/^Up \(less consumption\): between [\d.,]+ kW and [\d.,]+ kW, over \d+ hours\.$/);
    // The battery (10 kW, SoC unknown: the middle of its band) offers up to 10 kW every hour.
    const rows = page.locator('#availability details tbody tr');
    expect(await rows.count()).toBe(24);
    const up = (await rows.locator('td:nth-child(2)').allTextContents()).map((s) => Number.parseFloat(s));
    expect(Math.max(...up)).toBeGreaterThan(0);
    expect(Math.max(...up)).toBeLessThanOrEqual(10);
    expect(await page.locator('#availability canvas').count()).toBeGreaterThan(0);
    await page.screenshot({ path: join(SCREENSHOTS, 'operator-portfolio.png'), fullPage: true });

    // German: the same page in the operator's other language.
    await page.selectOption('#lang', 'de');
    await expect
      .poll(() => page.locator('#availability h2').textContent())
      .toBe('Verfügbare Flexibilität, nächste 24 Stunden');
    await page.selectOption('#lang', 'en');
    await page.close();
  });

  it('shows an obligation and an activation posted over the API, and downloads the report', async () => {
    const page = await login('operator', '#/portfolio');
    await expect.poll(() => h1(page)).toBe('Portfolio Demo portfolio (ZEV Bern)');
    // The battery reports 95 % (the simulator would): 10 kW held for the DR event's 75 minutes.
    await rt.store.readings.ingest([
      { pointId: 'zev-bern/house-battery/soc', ts: Date.now(), value: 95, quality: 'good' },
    ]);
    // The operator's own session (same origin) sells an hour of the DR event and calls it.
    const next = Math.ceil(Date.now() / H) * H;
    const outcome = await page.evaluate(
      async ({ from, to }) => {
        const post = (url: string, body: unknown) =>
          fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(body),
          });
        const built = (await (
          await post('/api/portfolios/demo/bids', {
            productId: 'dr-event',
            from,
            to,
            strategy: { kind: 'fixed', priceCentsPerMwh: 5000 },
          })
        ).json()) as { bids: { id: string }[] };
        const bidId = built.bids[0]?.id;
        const accepted = await post('/api/portfolios/demo/acceptances', {
          productId: 'dr-event',
          acceptances: [{ bidId }],
        });
        const event = await post('/api/portfolios/demo/events', {
          id: 'web-dr-1',
          productId: 'dr-event',
          kw: 5,
          durationMs: 1_800_000,
          start: from,
        });
        return { bids: built.bids.length, accepted: accepted.status, event: event.status };
      },
      { from: new Date(next).toISOString(), to: new Date(next + H).toISOString() },
    );
    expect(outcome).toEqual({ bids: 1, accepted: 201, event: 201 });
    await page.reload();
    await expect
      .poll(() => page.locator('#bids tbody td:nth-last-child(2)').allTextContents())
      .toContain('obligation');
    await expect
      .poll(() => page.locator('#activations [data-activation="web-dr-1"]').textContent())
      .toContain('web-dr-1 · dr-event');
    // It starts at the next hour: received, nothing dispatched yet.
    expect(await page.locator('[data-activation="web-dr-1"] td').allTextContents()).toEqual(
      expect.arrayContaining(['received', '0 kW', 'no report yet']),
    );

    const download = page.waitForEvent('download');
    await page.getByRole('link', { name: 'Download CSV' }).click();
    const file = await (await download).path();
    const csv = await readFile(file, 'utf8');
    expect(csv.split('\r\n')[0]).toMatch(/^activationId,productId,siteId,start,end,requestedKw,/);
    const href = await page.locator('#reports a[href*="format=json"]').getAttribute('href');
    const json = await page.evaluate(
      async (url) => (await fetch(url)).json() as Promise<{ columns: string[] }>,
      href!,
    );
    expect(json.columns).toContain('deliveredWh');
    await page.close();
  });

  it('accepts a bid and calls an activation from the page, each after a confirmation, and shows a refusal', async () => {
    const page = await login('operator', '#/portfolio');
    await expect.poll(() => h1(page)).toBe('Portfolio Demo portfolio (ZEV Bern)');
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.accept();
    });
    // An offered bid two hours ahead (built over the API, as the bidding strategy would).
    const later = Math.ceil(Date.now() / H) * H + H;
    const built = await page.evaluate(
      async ({ from, to }) =>
        (await (
          await fetch('/api/portfolios/demo/bids', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              productId: 'dr-event',
              from,
              to,
              strategy: { kind: 'fixed', priceCentsPerMwh: 6000 },
            }),
          })
        ).json()) as { bids: { id: string }[] },
      { from: new Date(later).toISOString(), to: new Date(later + H).toISOString() },
    );
    const bidId = built.bids[0]!.id;
    await page.reload();
    const row = page.locator(`#bids tr[data-bid="${bidId}"]`);
    await expect.poll(() => row.locator('td:nth-last-child(2)').textContent()).toBe('offered');
    await row.getByRole('button', { name: /^Accept the bid for / }).click();
    await expect
      .poll(() => page.locator('#notice').textContent())
      .toBe('Bid accepted: it is now an obligation.');
    expect(dialogs.at(-1)).toMatch(
      /^Accept the dr-event bid for .*: [\d.,]+ kW at .*\? It becomes an obligation to deliver\.$/,
    );
    await expect
      .poll(() => page.locator(`#bids tr[data-bid="${bidId}"] td:nth-last-child(2)`).textContent())
      .toBe('obligation');

    // Calling now, when the portfolio holds nothing for this hour: refused, and the page says why.
    await page.fill('#call-kw', '5');
    await page.fill('#call-minutes', '20');
    await page.getByRole('button', { name: 'Call activation' }).click();
    await expect.poll(() => page.locator('#call-message').textContent()).toMatch(/^Refused: .+/);
    expect(dialogs.at(-1)).toMatch(/^Call dr-event now: 5 kW up \(less consumption\) for 20 minutes\?/);

    // This hour's award (sold before the hour began), then the same call goes through.
    await saveAward(rt.store, 'demo', drAwardNow([{ siteId: 'zev-bern', kw: 10 }], 1));
    await page.getByRole('button', { name: 'Call activation' }).click();
    await expect.poll(() => page.locator('#notice').textContent()).toMatch(/^Activation web-\d+ posted\.$/);
    const id = (await page.locator('#notice').textContent())!.match(/web-\d+/)![0];
    await expect
      .poll(() => page.locator(`#activations [data-activation="${id}"] th`).textContent())
      .toBe(`${id} · dr-event`);
    await page.close();
  });

  it('shows the last hour of FCR-N held by the portfolio, settled from the stored proof', async () => {
    // FCR-N sold for the hour that just ended, 4 kW from zev-bern, and the proof the droop
    // stored in it: 30 min asking 2 kW up, the units delivering 1.8 kW.
    const hour = Math.floor(Date.now() / H) * H - H;
    await saveAward(rt.store, 'demo', [
      {
        ...awardNow(
          { productId: 'fcr-n', direction: 'symmetric', kw: 4, sustainMs: H + 180_000 },
          [],
          1,
          hour,
        )[0]!,
        sites: [{ siteId: 'zev-bern', kw: 4 }],
      },
    ]);
    const proof = [];
    for (let t = hour; t < hour + 30 * 60_000; t += 1000)
      proof.push(
        { pointId: 'zev-bern/frequency-response/requested', ts: t, value: 2000, quality: 'good' as const },
        { pointId: 'zev-bern/frequency-response/delivered', ts: t, value: 1800, quality: 'good' as const },
      );
    await rt.store.readings.ingest(proof);
    const page = await login('operator', '#/portfolio');
    const row = page.locator('#frequency tr[data-site="zev-bern"]');
    await expect.poll(() => row.count()).toBe(1);
    const cells = await row.locator('td').allTextContents();
    // Site, product, held, requested (2 kW × (30 min + 5 s)), delivered, ratio, minutes covered.
    expect(cells).toEqual(['zev-bern', 'fcr-n', '4 kW', '1 kWh', '0.9 kWh', '90 %', '30 min']);
    await page.close();
  });

  it('refuses the page to a resident, and the API too', async () => {
    const page = await login('resident', '#/bills');
    // Let the bills page finish first: a late render would overwrite the refusal.
    await expect.poll(() => h1(page)).toBe('My bills');
    await page.goto(`${base}/#/portfolio`);
    await expect.poll(() => page.locator('main').getAttribute('data-refused')).toBe('true');
    expect(await h1(page)).toBe('You do not have access to this page.');
    const status = await page.evaluate(
      async () => (await fetch('/api/portfolios/demo/availability?product=dr-event')).status,
    );
    expect(status).toBe(403);
    await page.close();
  });
});
