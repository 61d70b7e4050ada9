import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WriteRecord } from '../model/index.js';
import type { RunningSimulator } from '../sim/runner.js';
import { roleCookie } from '../testkit/login.js';
import { awardNow, saveAwardIn, zevBernOnLoopback } from '../testkit/market.js';
import { addUsers, ROLE_USERS } from '../testkit/users.js';
import { until } from '../testkit/wait.js';
import { type Runtime, startRuntime } from './runtime.js';

/**
 * The product path of frequency response (issue #13 item 4): the runtime `gridflex run` and
 * `gridflex demo` start, with an FCR-N award of the demo portfolio in force for zev-bern this
 * hour. Nothing but the award starts it: the runtime finds the droop product among the site's
 * obligations, follows the grid meter's frequency (the zev-bern simulator, real Modbus) with the
 * house battery, and holds the battery against the optimiser meanwhile.
 */
const SITE = 'zev-bern';
const H = 3_600_000;

describe('gridflex run answers the frequency for an FCR-N award in force', () => {
  let rt: Runtime;
  let sim: RunningSimulator;
  let dir: string;
  const writes: WriteRecord[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gfx-droop-run-'));
    const demo = await zevBernOnLoopback(dir);
    // FCR-N: 3 min full activation + 1 h endurance (market/products.yaml).
    const award = awardNow({ productId: 'fcr-n', direction: 'symmetric', kw: 4, sustainMs: H + 3 * 60_000 }, [
      { siteId: SITE, kw: 4 },
    ]);
    await saveAwardIn(dir, 'demo', award);
    rt = await startRuntime(demo.runtime('warn'));
    rt.hub.topic('writes').subscribe((w) => writes.push(w));
    sim = await demo.simulator();
    await rt.gateways.add(demo.cfg);
  }, 180_000);

  afterAll(async () => {
    sim?.sim.setFrequencyProfile(null);
    await rt?.stop();
    await sim?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('follows an under-frequency with the battery, refuses the optimiser meanwhile, and hands the battery back on stop', async () => {
    const droop = rt.droops.get(SITE);
    expect(droop?.frequencyPoint).toBe(`${SITE}/house-grid-meter/frequency`);
    // Started once the battery's state of charge is read (a battery is never sized blind).
    await until('the frequency response to start', () => droop?.runtime !== undefined, 120_000);
    expect(droop!.heldBy('house-battery')).toMatch(/fcr-n:4/);

    sim.sim.setFrequencyProfile(() => 49.9);
    const response = await until(
      'a frequency-response write to the battery',
      () =>
        writes.find(
          (w) =>
            w.device === 'house-battery' &&
            w.who === 'market' &&
            w.why.startsWith('local frequency response') &&
            w.outcome === 'written' &&
            w.point === 'discharge_rate' &&
            (w.value ?? 0) > 0,
        ),
      60_000,
    );
    expect(response.outcome).toBe('written');

    // The proof is stored as readings (frequency, response requested, grid meter), not only
    // kept in memory: the store writer has the samples of the under-frequency.
    const stored = async (point: string) =>
      (
        await rt.store.readings.range({
          pointId: `${SITE}/frequency-response/${point}`,
          from: 0,
          to: Date.now() + H,
          bucketMs: null,
        })
      ).raw;
    const proof = await until(
      'the stored proof of the under-frequency',
      async () => {
        const requested = (await stored('requested').catch(() => [])).filter((r) => (r.value ?? 0) > 0);
        return requested.length > 0 ? requested : undefined;
      },
      60_000,
    );
    const hz = await stored('frequency');
    const at = hz.find((r) => r.ts === proof[0]!.ts);
    expect(at?.value).toBeCloseTo(49.9, 4); // a float32 register over Modbus
    expect((await stored('metered')).length).toBeGreaterThan(0);

    // The optimiser's write to the held battery is refused, saying by what.
    const refused = await rt.yieldingWrite({
      site: SITE,
      device: 'house-battery',
      point: 'mode',
      value: 0,
      who: 'optimizer',
      why: 'test',
    });
    expect(refused.outcome).toBe('refused');
    expect(refused.reason).toMatch(/held by .*fcr-n/);

    // The plan page says so: the battery is held by the frequency response, not idle.
    await addUsers(rt.store, { admin: ROLE_USERS.admin });
    const plan = await rt.app.inject({
      url: `/api/sites/${SITE}/plan`,
      headers: { cookie: await roleCookie(rt.app, 'admin') },
    });
    expect(plan.statusCode).toBe(200);
    expect(plan.json().holds).toEqual([
      { assetId: expect.any(String), by: 'frequency_response', productId: 'fcr-n', direction: 'both', kw: 4 },
    ]);

    // A clean stop ends the response first: the battery is put back on its base, by the market.
    const before = writes.length;
    sim.sim.setFrequencyProfile(null);
    await rt.stop();
    const back = writes.slice(before).filter((w) => w.why === 'local frequency response ended: back to base');
    expect(back.length).toBeGreaterThan(0);
    // A point written by the response a moment before is rate-limited first, then written.
    const last = new Map(back.map((w) => [w.point, w]));
    expect([...last.values()].map((w) => `${w.point} ${w.outcome}`)).toEqual(
      [...last.keys()].map((p) => `${p} written`),
    );
    expect(back.every((w) => w.outcome === 'written' || w.refusal === 'rate_limited')).toBe(true);
  }, 240_000);
});
