import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActivationPlan } from '../market/activation.js';
import {
  ahuFans,
  type Rig,
  schoolDevice,
  schoolFanAssets,
  schoolSite,
  startSchoolRig,
  until,
} from '../market/runtime/testing.js';
import type { Site } from '../model/index.js';
import { runtimeAssetsNow } from './market-executor.js';
import { rigMarketDispatch } from './testing.js';

/**
 * The market's executor as `gridflex run` builds it from the configuration (app/market-executor
 * `marketDispatch`), on a simulated school's three ventilation fans over real OPC UA through
 * the gateway's safety layer (simulator at 20×). The fans are the configuration's sheddable
 * loads with a `speed` binding: no test-made runtime assets.
 */
const SITE = 'fans';
/** The speed that sheds 60 % of 1.27 kW on a 3.7 kW fan (affinity law), to 0.1 %: 51.6 %. */
const FLOOR_PCT = Math.round(Math.cbrt((1.27 * 0.4) / 3.7) * 1000) / 10;
let rig: Rig;

/** Three fans; only ahu-3 may be sped up (to 85 %). */
const site: Site = schoolSite(
  SITE,
  'Fan school',
  schoolFanAssets(SITE, 3, (n) => (n === 3 ? { maxSpeedPct: 85 } : {})),
);

beforeAll(async () => {
  rig = await startSchoolRig({ id: SITE, name: 'fan rig' }, [ahuFans(3)], {
    devices: (d) => d.id === 'school-bms' || d.id === 'school-grid-meter',
    // OPC UA notifies changes only; a steady speed is published again after maxSilence (the
    // gateway's clock is the simulation's, 20×: 20 s there is 1 s here).
    point: (d, p) => (d.id === 'school-bms' ? { ...p, maxSilence: '20s' } : p),
  });
  // The school's morning schedule (70 %), not a value read before the simulator's first step:
  // under load the first reading can come before it (failed in the gate).
  await until(
    'every fan at its scheduled 70 %',
    () => [1, 2, 3].every((n) => rig.latest.get(`${SITE}/school-bms/ahu-${n}-speed`)?.value === 70),
    60_000,
  );
}, 90_000);

afterAll(async () => {
  await rig?.stop();
});

const simFan = (n: number) => schoolDevice(rig, `ahu-${n}`, 'sheddable');

function plan(id: string, direction: 'up' | 'down', kw: number): ActivationPlan {
  const now = rig.clock();
  return {
    id,
    productId: 'mfrr',
    direction,
    startMs: now,
    fullByMs: now + 750_000,
    endMs: now + 30 * 60_000,
    kw,
    sites: [{ siteId: SITE, kw }],
    warnings: [],
  };
}

describe('the market moves the configuration’s fans', () => {
  it('builds each fan from its speed binding: base = its speed now, floor from its shed limit, ceiling if declared', () => {
    const latest = (k: string) => rig.latest.get(k)?.value;
    const assets = runtimeAssetsNow(site, latest, [`${SITE}/school-bms`]);
    expect(assets.map((a) => a.kind === 'fan' && [a.id, a.device, a.point, a.minPct, a.maxPct])).toEqual([
      ['ahu-1', 'school-bms', 'ahu-1-speed', FLOOR_PCT, 70],
      ['ahu-2', 'school-bms', 'ahu-2-speed', FLOOR_PCT, 70],
      ['ahu-3', 'school-bms', 'ahu-3-speed', FLOOR_PCT, 85],
    ]);
    // The school's morning schedule runs them at 70 %.
    expect(assets.every((a) => a.kind === 'fan' && a.basePct === 70)).toBe(true);
    // A device no gateway polls is not moved.
    expect(runtimeAssetsNow(site, latest, [])).toEqual([]);
  });

  it('slows the fans for an up activation, speeds the one that may for a down one, and puts them back', async () => {
    const dispatch = rigMarketDispatch(rig, site);
    const executor = dispatch.executor;
    // It sizes the fans from the readings it sees: wait for each steady speed to be published
    // again after it started (gateway/README.md "Steady values").
    const speedKey = (n: number) => `${SITE}/school-bms/ahu-${n}-speed`;
    const seen = [1, 2, 3].map((n) => rig.history(speedKey(n)).length);
    await until(
      'a poll of every fan speed',
      () => [1, 2, 3].every((n, i) => rig.history(speedKey(n)).length > seen[i]!),
      30_000,
    );
    try {
      // Up 2 kW: each fan gives 3.7 × (0.7³ − 0.516³) = 0.76 kW at its floor; the merit order
      // takes two whole and the third in part.
      const up = await executor.start(plan('fans-up', 'up', 2));
      expect(up.sites[0]!.messages).toEqual([]);
      expect(up.state).toBe('active');
      expect(up.sites[0]!.dispatchedKw).toBeCloseTo(2, 6);
      expect(up.sites[0]!.shortfallKw).toBe(0);
      const speeds = [1, 2, 3].map((n) => simFan(n).setpointPct!);
      expect(speeds.filter((p) => Math.abs(p - FLOOR_PCT) < 0.05)).toHaveLength(2);
      const drawn = speeds.reduce((kw, p) => kw + 3.7 * ((0.7 ** 3 - (p / 100) ** 3) as number), 0);
      expect(drawn).toBeCloseTo(2, 1);
      expect(dispatch.heldBy(SITE, 'school-bms')).toBe('fans-up');
      await executor.stop('fans-up', 'test over');
      await until('the up activation done', () => executor.status('fans-up')?.state === 'done', 60_000);
      // Back at their base speed.
      expect([1, 2, 3].map((n) => simFan(n).setpointPct)).toEqual([70, 70, 70]);
      expect(dispatch.heldBy(SITE, 'school-bms')).toBeUndefined();

      // Down 1 kW: only ahu-3 declares a ceiling (85 %): 3.7 × (0.85³ − 0.7³) = 1.00 kW.
      await until(
        'the fans read at base again',
        () => rig.latest.get(`${SITE}/school-bms/ahu-3-speed`)?.value === 70,
        30_000,
      );
      const down = await executor.start(plan('fans-down', 'down', 1));
      expect(down.sites[0]!.dispatchedKw).toBeCloseTo(1, 6);
      // A write the rate limit held back (the restore wrote 70 % just before) goes out at the next follow-up.
      await until('ahu-3 sped up', () => (simFan(3).setpointPct ?? 0) > 84, 30_000);
      expect(simFan(3).setpointPct).toBeGreaterThan(84);
      expect(simFan(3).setpointPct).toBeLessThanOrEqual(85);
      expect([simFan(1).setpointPct, simFan(2).setpointPct]).toEqual([70, 70]);
      await executor.stop('fans-down', 'test over');
      await until('the down activation done', () => executor.status('fans-down')?.state === 'done', 60_000);
      expect(simFan(3).setpointPct).toBe(70);
    } finally {
      dispatch.close();
    }
  }, 120_000);
});
