import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoUser, ensureDemoUsers } from '../app/demo-users.js';
import { type Runtime, startRuntime } from '../app/runtime.js';
import { startLiveOptimizer } from '../optimizer/live-runtime.js';
import { AuthRepository } from '../server/auth/repository.js';
import type { RunningSimulator } from '../sim/runner.js';
import { launchChromium, SCREENSHOTS, type TestBrowser } from '../testkit/browser.js';
import { loginPage } from '../testkit/login.js';
import { sellDrEventNow, zevBernOnLoopback } from '../testkit/market.js';
import { chromium } from '../testkit/system.js';
import { until } from '../testkit/wait.js';

/**
 * The plan page during a market activation, on the demo's composition: the zev-bern simulator
 * on loopback, the runtime with the market, the live optimiser writing through the write
 * arbiter, an activation posted over the operator API. The manager's plan page must name the
 * activation that holds the battery, not "battery: idle" and "prices alone decide".
 */
const browserDep = chromium();
const SITE = 'zev-bern';

describe.skipIf(browserDep.skipReason)(
  'plan page names the market activation holding an asset (Chromium)',
  () => {
    let rt: Runtime;
    let sim: RunningSimulator;
    let dir: string;
    let browser: TestBrowser | undefined;
    let base: string;
    let users: Record<string, DemoUser>;
    let operator: string;
    const stops: (() => Promise<void>)[] = [];

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'gfx-plan-hold-'));
      const demo = await zevBernOnLoopback(dir);
      const { cfg, sites } = demo;
      rt = await startRuntime(demo.runtime('silent'));
      sim = await demo.simulator();
      await rt.gateways.add(cfg);
      users = Object.fromEntries((await ensureDemoUsers(rt.store, sites)).map((u) => [u.role, u]));
      operator = `Bearer ${(await new AuthRepository(rt.store.db).createToken('operator', 'test', false)).token}`;
      base = await rt.app.listen({ host: '127.0.0.1', port: 0 });
      browser = await launchChromium();
    }, 180_000);

    afterAll(async () => {
      await browser?.close();
      for (const stop of stops.reverse()) await stop();
      await rt?.stop();
      await sim?.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    const call = (method: 'GET' | 'POST', url: string, payload?: object) =>
      rt.app.inject({
        method,
        url,
        ...(payload ? { payload } : {}),
        headers: { origin: 'http://localhost', authorization: operator },
      });

    it('posts an activation; the plan page names it for the battery, with its product and kW', async () => {
      // The operator sells the next hour, and the same 10 kW for the hour under way (the API
      // refuses to sell an hour under way), so that the activation runs at once.
      await sellDrEventNow(call, rt.store);
      const id = `web-hold-${Date.now()}`;
      const posted = await call('POST', '/api/portfolios/demo/events', {
        id,
        productId: 'dr-event',
        kw: 6,
        durationMs: 10 * 60_000,
      });
      expect(posted.statusCode, posted.body).toBe(201);
      await until(
        'the activation to be active',
        async () => {
          const v = (await call('GET', `/api/portfolios/demo/events/${id}`)).json() as {
            activation: { state: string };
          };
          if (v.activation.state === 'failed') throw new Error(`activation failed: ${JSON.stringify(v)}`);
          return v.activation.state === 'active' || undefined;
        },
        60_000,
      );

      // The live optimiser starts while the activation runs: its plan is stored, its writes are held.
      const site = rt.sites.find((s) => s.id === SITE)!;
      const optimizer = await startLiveOptimizer({
        site,
        readings$: rt.hub.readings$,
        store: rt.store,
        write: rt.yieldingWrite,
        writes$: rt.hub.topic('writes'),
        meanLoadKw: 8,
      });
      stops.push(() => optimizer.stop());
      await until(
        'a stored plan',
        async () => (await rt.store.db.query('SELECT 1 FROM optimizer_plans LIMIT 1')).rows[0],
        120_000,
      );
      // The plan API says who holds the battery…
      const manager = `/api/sites/${SITE}/plan`;
      const plan = (await call('GET', manager)).json() as { holds: unknown[] };
      expect(plan.holds).toEqual([
        {
          assetId: 'battery',
          by: 'activation',
          activationId: id,
          productId: 'dr-event',
          direction: 'up',
          kw: 6,
        },
      ]);
      // …and the manager's plan page names it, instead of "idle" and "prices alone decide".
      const page = await loginPage(browser!.context, base, users.manager!, '#/sites');
      await page.goto(`${base}/#/site/${SITE}/plan`);
      const holds = page.locator('#plan-holds li');
      await expect
        .poll(() => holds.allTextContents(), { timeout: 30_000 })
        .toEqual([`battery: held by market activation ${id} (dr-event, 6 kW)`]);
      const decision = await page.locator('#plan-decision').textContent();
      expect(decision).toContain(`battery: held by market activation ${id}`);
      expect(decision).not.toMatch(/battery: idle/);
      expect(await page.locator('#plan-held-why').textContent()).toMatch(
        /market activation or the frequency response holds/,
      );
      expect(await page.locator('#plan-now').textContent()).not.toMatch(/prices alone decide/);
      await page.screenshot({ path: join(SCREENSHOTS, 'plan-held-by-activation.png'), fullPage: true });
      // Cancelled: the battery is the plan's again.
      expect((await call('POST', `/api/portfolios/demo/events/${id}/cancel`)).statusCode).toBe(200);
      await until(
        'the hold to be released',
        async () =>
          ((await call('GET', manager)).json() as { holds: unknown[] }).holds.length === 0 ? true : undefined,
        120_000,
      );
      await page.reload();
      await expect.poll(() => page.locator('#plan-decision').count(), { timeout: 30_000 }).toBe(1);
      expect(await page.locator('#plan-holds').count()).toBe(0);
    }, 400_000);
  },
);
