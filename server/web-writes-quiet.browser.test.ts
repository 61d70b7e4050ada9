import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../app/testing.js';
import { SetpointWriteRepository } from '../gateway/write-log.js';
import type { WriteRecord } from '../model/index.js';
import { LIVE_WRITES_SITE, tenLiveMinutes, unchangedRewrites } from '../optimizer/testing.js';
import { openStore, type Store } from '../store/index.js';
import { Hub } from '../stream/index.js';
import { serveToChromium } from '../testkit/app.js';
import { SCREENSHOTS, type TestBrowser } from '../testkit/browser.js';
import { loginPage } from '../testkit/login.js';
import { chromium } from '../testkit/system.js';
import { addUsers, ROLE_USERS } from '../testkit/users.js';

/**
 * Issue #18: the manager's writes page after ten simulated minutes of the live optimiser
 * writing the zev-bern battery over real Modbus (testkit/live-writes.ts), its gateway storing
 * every record in `setpoint_writes`, read back from the table the page shows in Chromium.
 */
const browserDep = chromium();
const SITE = LIVE_WRITES_SITE.id;
const manager = { ...ROLE_USERS.manager, grants: [{ kind: 'site' as const, ref: SITE }] };

/** One row of the page's table, oldest first: what the page says was sent, and why. */
interface Row {
  point: string;
  who: string;
  why: string;
  value: number | null;
  outcome: string;
}

let store: Store;
let app: FastifyInstance;
let base: string;
let browser: TestBrowser | undefined;
let records: WriteRecord[];
const cleanup: (() => Promise<void>)[] = [];

describe.skipIf(browserDep.skipReason)('writes page after ten minutes of the live optimiser', () => {
  beforeAll(async () => {
    store = await openStore({ dataDir: 'memory://' });
    ({ records } = (
      await tenLiveMinutes(cleanup, { writeLog: await SetpointWriteRepository.open(store) })
    ).gw);
    for (const c of cleanup.splice(0).reverse()) await c();
    await addUsers(store, { manager });
    app = await buildApp({ store, hub: new Hub(), sites: [LIVE_WRITES_SITE], version: 'test' });
    ({ base, browser } = await serveToChromium(app));
  }, 180_000);
  afterAll(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
    await browser?.close();
    await app?.close();
    await store?.close();
  });

  it('shows no unchanged rewrite that is not a labelled lease refresh, and few optimiser rows', async () => {
    const page = await loginPage(browser!.context, base, manager, '#/sites');
    await page.goto(`${base}/#/site/${SITE}/writes`);
    await expect.poll(() => page.locator('h1').textContent()).toBe('Setpoint writes at ZEV Bern');
    const trs = page.locator('#writes tbody tr');
    await expect.poll(() => trs.count()).toBe(records.length);
    const rows: Row[] = (
      await trs.evaluateAll((els) =>
        els.map((tr) => ({
          point: tr.querySelector('th')!.textContent!,
          cells: [...tr.querySelectorAll('td')].map((td) => td.textContent!),
          outcome: tr.className.replace(/^write-/, ''),
        })),
      )
    )
      .map(({ point, cells, outcome }) => {
        // "requested · sent X · read back Y": what went to the device is the sent value when shown.
        const [requested, ...more] = cells[4]!.split(' · ');
        const sent = more.find((p: string) => p.startsWith('sent '))?.slice('sent '.length) ?? requested!;
        const value = outcome === 'refused' ? null : Number(sent.replace(/,/g, ''));
        return { point, who: cells[1]!, why: cells[2]!, value, outcome };
      })
      .reverse();
    expect(rows.every((r) => r.value === null || Number.isFinite(r.value))).toBe(true);
    // Times in the site's zone (04:10–04:20 in Bern), as the why text says them, not the browser's (UTC).
    const times = await trs.evaluateAll((els) => els.map((tr) => tr.querySelector('td')!.textContent!));
    expect(times.every((t) => /\b0?4:[12]\d:\d\d\b/.test(t))).toBe(true);
    const unchanged = unchangedRewrites(rows);
    const leases = unchanged.filter((r) => r.why.startsWith('Lease refresh'));
    // Every row that sends a point the value it already had says it renews the fail-safe lease.
    expect(unchanged).toEqual(leases);
    expect(leases.length).toBeGreaterThanOrEqual(8);
    // What the memory records say, the page says.
    expect(leases.length).toBe(unchangedRewrites(records).length);
    // Few: rewriting all three points at each of the thirty 20-second checks would make 90.
    const optimiser = rows.filter((r) => r.who === 'optimiser');
    expect(optimiser.length).toBeGreaterThan(0);
    expect(optimiser.length).toBeLessThanOrEqual(30);
    expect(rows.filter((r) => r.who === 'alice')).toHaveLength(1);
    console.log(
      `writes page: ${rows.length} rows, ${optimiser.length} optimiser, ${leases.length} lease refreshes`,
    );
    await page.screenshot({ path: join(SCREENSHOTS, 'manager-writes-ten-minutes.png'), fullPage: true });
    await page.close();
  });
});
