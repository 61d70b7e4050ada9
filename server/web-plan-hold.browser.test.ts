import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simulatedGateway, withSimulatedControls, withSimulatedDevices } from '../app/demo.js';
import { type DemoUser, ensureDemoUsers } from '../app/demo-users.js';
import { type Runtime, startRuntime } from '../app/runtime.js';
import { loadConfigFile } from '../config/load.js';
import { packageRoot } from '../config/version.js';
import type { Obligation } from '../market/bids.js';
import { MarketRepository } from '../market/repository.js';
import { SitesConfigSchema } from '../model/index.js';
import { startLiveOptimizer } from '../optimizer/live-runtime.js';
import { AuthRepository } from '../server/auth/repository.js';
import { type RunningSimulator, startSimulator } from '../sim/runner.js';
import { loadScenario } from '../sim/scenario.js';
import { freePortPair } from '../sim/testing.js';
import { launchChromium, SCREENSHOTS, type TestBrowser } from '../testkit/browser.js';
import { chromium } from '../testkit/system.js';

/**
 * The plan page during a market activation, on the demo's composition: the zev-bern simulator
 * on loopback, the runtime with the market, the live optimiser writing through the write
 * arbiter, an activation posted over the operator API. The manager's plan page must name the
 * activation that holds the battery, not "battery: idle" and "prices alone decide".
 */
const browserDep = chromium();
const SITE = 'zev-bern';
const H = 3_600_000;

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Wait (real time) until `ok()` gives a value; a generous limit, never a timing assertion. */
async function until<T>(what: string, ok: () => Promise<T | undefined> | T | undefined, limitMs: number) {
  const end = Date.now() + limitMs;
  for (;;) {
    const v = await ok();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await wait(250);
  }
}

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
      const portBase = await freePortPair();
      const { cfg, buildingOf } = await simulatedGateway(SITE, '127.0.0.1', portBase);
      const { sites: fileSites } = await loadConfigFile(
        SitesConfigSchema,
        `${packageRoot()}/deploy/examples/sites.yaml`,
      );
      const sites = withSimulatedDevices(fileSites, cfg, buildingOf).map((s) =>
        s.id === SITE ? withSimulatedControls(s, cfg) : s,
      );
      rt = await startRuntime({
        dataDir: dir,
        sites,
        logLevel: 'silent',
        gateway: { link: { maxBackoffMs: 2000 }, opcua: { pkiDir: join(dir, 'gateway-pki') } },
        market: true,
      });
      sim = await startSimulator(await loadScenario(SITE), {
        seed: 1,
        speed: 1,
        host: '127.0.0.1',
        portBase,
        pkiDir: join(dir, 'sim-pki'),
        now: Date.now,
      });
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

    async function login(role: string): Promise<Page> {
      const page = await browser!.context.newPage();
      await page.goto(base);
      await page.getByLabel('Username').fill(users[role]!.username);
      await page.getByLabel('Password').fill(users[role]!.password);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.waitForURL((u) => u.hash.length > 2);
      return page;
    }

    it('posts an activation; the plan page names it for the battery, with its product and kW', async () => {
      // The operator sells the next hour, and the same 10 kW for the hour under way (the API
      // refuses to sell an hour under way), so that the activation runs at once.
      const hourStart = Math.floor(Date.now() / H) * H;
      const next = {
        from: new Date(hourStart + H).toISOString(),
        to: new Date(hourStart + 2 * H).toISOString(),
      };
      await until(
        'availability from the measured state of charge',
        async () => {
          const res = await call(
            'GET',
            `/api/portfolios/demo/availability?product=dr-event&from=${next.from}&to=${next.to}`,
          );
          return (res.json() as { slots: { upKw: number }[] }).slots.every((s) => s.upKw >= 10) || undefined;
        },
        120_000,
      );
      const bids = await call('POST', '/api/portfolios/demo/bids', {
        productId: 'dr-event',
        ...next,
        strategy: { kind: 'fixed', priceCentsPerMwh: 5000 },
      });
      expect(bids.statusCode, bids.body).toBe(201);
      const bid = (bids.json() as { bids: { id: string }[] }).bids[0]!;
      const accepted = await call('POST', '/api/portfolios/demo/acceptances', {
        productId: 'dr-event',
        acceptances: [{ bidId: bid.id }],
      });
      expect(accepted.statusCode, accepted.body).toBe(201);
      const current = { ...(accepted.json() as { obligations: Obligation[] }).obligations[0]! };
      const iso = (ms: number) => new Date(ms).toISOString();
      const sold = {
        ...current,
        id: current.id.replace(iso(current.startMs), iso(current.startMs - H)),
        startMs: current.startMs - H,
        endMs: current.endMs - H,
      };
      const repo = new MarketRepository(rt.store.db);
      expect(await repo.saveBids('demo', [sold], hourStart - H, false)).toMatchObject({ ok: true });
      expect(await repo.saveObligations('demo', [sold], hourStart - H)).toBe(true);
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
        { assetId: 'battery', activationId: id, productId: 'dr-event', direction: 'up', kw: 6 },
      ]);
      // …and the manager's plan page names it, instead of "idle" and "prices alone decide".
      const page = await login('manager');
      await page.goto(`${base}/#/site/${SITE}/plan`);
      const holds = page.locator('#plan-holds li');
      await expect
        .poll(() => holds.allTextContents(), { timeout: 30_000 })
        .toEqual([`battery: held by market activation ${id} (dr-event, 6 kW)`]);
      const decision = await page.locator('#plan-decision').textContent();
      expect(decision).toContain(`battery: held by market activation ${id}`);
      expect(decision).not.toMatch(/battery: idle/);
      expect(await page.locator('#plan-held-why').textContent()).toMatch(/market activation holds/);
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
