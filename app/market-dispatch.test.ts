import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Subscription } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthRepository } from '../server/auth/repository.js';
import type { RunningSimulator } from '../sim/runner.js';
import { Hub } from '../stream/index.js';
import { type ActivationView, sellDrEventNow, untilResumed, zevBernOnLoopback } from '../testkit/market.js';
import { exampleSites } from '../testkit/sites.js';
import { until } from '../testkit/wait.js';
import type { simulatedGateway } from './demo.js';
import { ensureDemoUsers } from './demo-users.js';
import { marketDispatch, runtimeAssetsNow } from './market-executor.js';
import { type Runtime, startRuntime } from './runtime.js';

const SITE = 'zev-bern';
const BATTERY = 'house-battery';

// The demo's composition in-process: the zev-bern simulator on loopback (its battery starts at
// 90 %, so it holds 10 kW of a DR event), the runtime with the market, the gateway polling the simulator,
// and the operator's activation over the HTTP API.
describe('an activation posted over the API in the running product', () => {
  let rt: Runtime;
  let sim: RunningSimulator;
  let dir: string;
  let sub: Subscription;
  const latest = new Map<string, number>();
  const auth: Record<'operator' | 'admin', string> = { operator: '', admin: '' };
  /** How the runtime is started, again after a clean stop (same data directory). */
  let boot: () => Promise<void>;
  let gatewayCfg: Awaited<ReturnType<typeof simulatedGateway>>['cfg'];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gfx-market-dispatch-'));
    const demo = await zevBernOnLoopback(dir);
    const { cfg, sites } = demo;
    gatewayCfg = cfg;
    boot = async () => {
      latest.clear();
      rt = await startRuntime(demo.runtime('warn'));
      sub = rt.hub.readings$.subscribe((r) => {
        if (r.value !== null && r.quality !== 'bad') latest.set(r.pointId, r.value);
      });
    };
    await boot();
    sim = await demo.simulator();
    await rt.gateways.add(cfg);
    await ensureDemoUsers(rt.store, sites);
    const users = new AuthRepository(rt.store.db);
    auth.operator = `Bearer ${(await users.createToken('operator', 'test', false)).token}`;
    auth.admin = `Bearer ${(await users.createToken('admin', 'test', false)).token}`;
  }, 180_000);

  afterAll(async () => {
    sub?.unsubscribe();
    await rt?.stop();
    await sim?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const call = (method: 'GET' | 'POST', url: string, payload?: object, who: keyof typeof auth = 'operator') =>
    rt.app.inject({
      method,
      url,
      ...(payload ? { payload } : {}),
      headers: { origin: 'http://localhost', authorization: auth[who] },
    });

  it('dispatches the battery through the safety layer, holds the optimiser off it, and releases it at the end', async () => {
    expect(rt.marketDispatch).toBeDefined();
    const soc = `${SITE}/${BATTERY}/soc`;
    const power = `${SITE}/${BATTERY}/power`;
    await until('a state-of-charge reading', () => latest.get(soc), 120_000);
    // The runtime asset is built from the latest reading when an activation starts.
    const [battery] = runtimeAssetsNow(
      rt.sites.find((s) => s.id === SITE)!,
      (k) => latest.get(k),
      rt.gateways.devices(),
    );
    expect(battery).toMatchObject({ kind: 'battery', device: BATTERY, modePoint: 'mode', maxKwh: 20 });
    expect(battery!.kind === 'battery' && battery!.storedKwh).toBeGreaterThan(17);

    // Availability reads the stored state of charge: the operator sells the next hour once the
    // store has it (10 kW up), and the same 10 kW for the hour under way.
    const { bid, sold } = await sellDrEventNow(call, rt.store);
    expect(bid.kw).toBe(10);

    const before = latest.get(power)!;
    const id = `dr-${Date.now()}`;
    const posted = await call('POST', '/api/portfolios/demo/events', {
      id,
      productId: 'dr-event',
      kw: 5,
      durationMs: 10 * 60_000,
    });
    expect(posted.statusCode, posted.body).toBe(201);
    let last: unknown;
    const view = await until(
      () => `the activation to be active: ${JSON.stringify(last)}`,
      async () => {
        const v = (await call('GET', `/api/portfolios/demo/events/${id}`)).json() as {
          activation: { state: string };
          execution: { sites: { dispatchedKw: number; setpointsWritten: number }[] } | null;
        };
        last = v;
        if (v.activation.state === 'failed') throw new Error(`activation failed: ${JSON.stringify(v)}`);
        return v.activation.state === 'active' ? v : undefined;
      },
      60_000,
    );
    expect(view.execution?.sites[0]).toMatchObject({ dispatchedKw: 5 });

    // One activation per device: a second one within the obligation finds the battery held
    // (and fails, nothing else to move), one beyond what is left is refused before anything.
    const second = await call('POST', '/api/portfolios/demo/events', {
      id: `${id}-b`,
      productId: 'dr-event',
      kw: 4,
      durationMs: 10 * 60_000,
    });
    expect(second.statusCode, second.body).toBe(201);
    expect(second.json()).toMatchObject({ activation: { state: 'failed' } });
    expect(JSON.stringify(second.json().execution ?? second.json().history)).toContain(
      `battery left out: held by activation ${id}`,
    );
    const beyond = await call('POST', '/api/portfolios/demo/events', {
      id: `${id}-c`,
      productId: 'dr-event',
      kw: 6,
      durationMs: 10 * 60_000,
    });
    expect(beyond.statusCode, beyond.body).toBe(422);
    expect(beyond.json().message).toContain(`5 kW left of obligation ${sold.id}`);

    // Written through the gateway's safety layer, recorded with who = market…
    const writes = (await call('GET', `/api/sites/${SITE}/writes`, undefined, 'admin')).json() as {
      writes: { device: string; point: string; who: string; outcome: string; value: number | null }[];
    };
    const market = writes.writes.filter((w) => w.who === 'market' && w.device === BATTERY);
    expect(market.find((w) => w.point === 'discharge_rate')).toMatchObject({ outcome: 'written', value: 50 });
    expect(market.find((w) => w.point === 'mode')).toMatchObject({ outcome: 'written', value: 3 });
    // …and the simulated battery discharges (SunSpec W: + = discharging), towards the grid.
    await until(
      'the battery to discharge',
      () => (latest.get(power)! > before + 4000 ? true : undefined),
      60_000,
    );

    // The live optimiser's write to the battery is held back while the activation runs…
    const optimiserWrite = {
      site: SITE,
      device: BATTERY,
      point: 'charge_rate',
      value: 40,
      who: 'optimizer',
      why: 'plan',
    };
    const held = await rt.yieldingWrite(optimiserWrite);
    expect(held).toMatchObject({
      outcome: 'refused',
      reason: `held by market activation ${id}`,
      value: null,
    });
    expect(latest.get(power)!).toBeGreaterThan(before + 4000);

    // …and released once the activation is over (cancelled: the battery restores, then it is done).
    expect((await call('POST', `/api/portfolios/demo/events/${id}/cancel`)).statusCode).toBe(200);
    await until(
      'the activation to end',
      async () => {
        const v = (await call('GET', `/api/portfolios/demo/events/${id}`)).json() as {
          activation: { state: string };
        };
        return ['cancelled', 'completed'].includes(v.activation.state) || undefined;
      },
      240_000,
    );
    expect(rt.marketDispatch!.heldBy(SITE, BATTERY)).toBeUndefined();
    const after = await rt.yieldingWrite(optimiserWrite);
    expect(after.reason ?? '').not.toMatch(/held by market/);
  }, 600_000);

  it('a clean stop puts the battery back to base at once; the next start resumes the activation on the stored base', async () => {
    const simBattery = () => {
      const d = sim.sim.building('house')!.device('battery')!;
      if (d.type !== 'battery') throw new Error('not a battery');
      return d;
    };
    // The base is the battery's measured power: wait until the reading has caught up with the
    // end of the first activation (an older reading would still show its discharge).
    await until(
      'the measured battery power back at its setpoint',
      () =>
        Math.abs((latest.get(`${SITE}/${BATTERY}/power`) ?? 1e9) + simBattery().setpointW) < 200
          ? true
          : undefined,
      60_000,
    );
    const id = `dr-restart-${Date.now()}`;
    const posted = await call('POST', '/api/portfolios/demo/events', {
      id,
      productId: 'dr-event',
      kw: 5,
      durationMs: 20 * 60_000,
    });
    expect(posted.statusCode, posted.body).toBe(201);
    const base = simBattery().setpointW;
    await until(
      'the battery to take the activation',
      () => (simBattery().setpointW <= base - 4900 ? true : undefined),
      60_000,
    );

    // Clean stop: the executor writes the base before the gateways close, long before the
    // simulator's own 60-s watchdog would (the sim's clock runs at speed 1).
    const beforeStop = (await call('GET', `/api/portfolios/demo/events/${id}`)).json();
    const stoppedAt = sim.sim.tMs;
    sub.unsubscribe();
    await rt.stop();
    // The base is the power measured when the activation started (≈ the setpoint before it).
    expect(
      Math.abs(simBattery().setpointW - base),
      `base ${base} W, now ${simBattery().setpointW} W, before the stop: ${JSON.stringify(beforeStop)}`,
    ).toBeLessThan(200);
    expect(sim.sim.tMs - stoppedAt).toBeLessThan(30_000);

    // The next start finds the activation open and resumes it from the stored base.
    await boot();
    await rt.gateways.add(gatewayCfg);
    const users = new AuthRepository(rt.store.db);
    auth.operator = `Bearer ${(await users.createToken('operator', 'test-2', false)).token}`;
    const resumed = await untilResumed(
      async () => (await call('GET', `/api/portfolios/demo/events/${id}`)).json() as ActivationView,
      120_000,
    );
    expect(resumed.history.map((h) => h.state)).toEqual([
      'received',
      'dispatching',
      'active',
      'dispatching',
      'active',
    ]);
    // Discharging 5 kW on top of the stored base again (not on top of what it measured).
    await until(
      'the battery to take the activation again',
      () => (Math.abs(simBattery().setpointW - (base - 5000)) < 200 ? true : undefined),
      60_000,
    );
    expect((await call('POST', `/api/portfolios/demo/events/${id}/cancel`)).statusCode).toBe(200);
  }, 600_000);
});

describe('the market-movable assets of a site', () => {
  const site = async () => {
    const sites = await exampleSites();
    const s = sites.find((x) => x.id === SITE)!;
    const control = {
      mode: `${SITE}/${BATTERY}/mode`,
      charge_rate: `${SITE}/${BATTERY}/charge_rate`,
      discharge_rate: `${SITE}/${BATTERY}/discharge_rate`,
    };
    return {
      bound: {
        ...s,
        buildings: s.buildings.map((b) => ({
          ...b,
          assets: b.assets.map((a) => (a.type === 'battery' ? { ...a, control } : a)),
        })),
      },
      unbound: s,
    };
  };
  const polled = [`${SITE}/${BATTERY}`];

  it('sizes a bound, polled battery from its latest state of charge and measured power', async () => {
    const { bound } = await site();
    const values: Record<string, number> = {
      [`${SITE}/${BATTERY}/soc`]: 40,
      [`${SITE}/${BATTERY}/power`]: -3000,
    };
    expect(runtimeAssetsNow(bound, (k) => values[k], polled)).toEqual([
      expect.objectContaining({
        kind: 'battery',
        device: BATTERY,
        chargePoint: 'charge_rate',
        dischargePoint: 'discharge_rate',
        storedKwh: 8,
        minKwh: 2,
        maxKwh: 20,
        // Charging at 3 kW (SunSpec W negative): that is its base without the market.
        baseKw: 3,
      }),
    ]);
    values[`${SITE}/${BATTERY}/soc`] = 90;
    expect(runtimeAssetsNow(bound, (k) => values[k], polled)[0]).toMatchObject({ storedKwh: 18 });
  });

  it('leaves out a battery with no control binding, not polled, or without a state-of-charge reading', async () => {
    const { bound, unbound } = await site();
    const soc = (k: string) => (k.endsWith('/soc') ? 50 : undefined);
    expect(runtimeAssetsNow(unbound, soc, polled)).toEqual([]);
    expect(runtimeAssetsNow(bound, soc, [])).toEqual([]);
    expect(runtimeAssetsNow(bound, () => undefined, polled)).toEqual([]);
  });

  it('builds no executor when no site has a movable asset (the market keeps NoExecutor), one when a battery is bound', async () => {
    const { bound, unbound } = await site();
    const hub = new Hub();
    const gateways = { write: () => Promise.reject(new Error('not called')), devices: () => [] };
    expect(marketDispatch({ sites: [unbound], hub, gateways })).toBeNull();
    const d = marketDispatch({ sites: [bound], hub, gateways });
    expect(d).not.toBeNull();
    expect(d!.heldBy(SITE, BATTERY)).toBeUndefined();
    d!.close();
    hub.close();
  });
});
