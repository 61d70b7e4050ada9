import { BehaviorSubject } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toModelDevice } from '../gateway/config.js';
import { loadProducts, type ProductCatalog } from '../market/product.js';
import {
  ahuFans,
  type Rig,
  schoolDevice,
  schoolFanAssets,
  schoolSite,
  startSchoolRig,
  until,
} from '../market/runtime/testing.js';
import { DeviceSchema, type Site, type SiteCommitment } from '../model/index.js';
import { droopInForce, frequencyPointOf, SiteDroop } from './droop.js';
import { rigMarketDispatch } from './testing.js';

/**
 * Frequency response as `gridflex run` starts it (app/droop.ts): an accepted FCR-N bid in force
 * for the site starts the droop on its market-movable assets, the grid frequency measured at the
 * site moves them, and the end of the bid puts them back on their base. Three school fans over
 * real OPC UA, the grid meter's frequency over real Modbus, the simulator at 20×.
 */
const SITE = 'droop';
const HOUR = 3_600_000;
let rig: Rig;
let catalog: ProductCatalog;
let site: Site;

const fcrN = (kw: number, startMs: number, endMs: number, product = 'fcr-n'): SiteCommitment => ({
  id: `bid-${product}-${startMs}`,
  startMs,
  endMs,
  reserve: { upKw: kw, downKw: kw, sustainMinutes: 60, product },
});

/** The runtime's `SiteDroop` on the rig's fans and meter, its lines kept. */
function startDroop(
  dispatch: ReturnType<typeof rigMarketDispatch>,
  commitments: BehaviorSubject<readonly SiteCommitment[]>,
  movable: (assetId: string) => boolean = () => true,
  refreshMs?: number,
): { droop: SiteDroop; lines: string[] } {
  const lines: string[] = [];
  const droop = new SiteDroop({
    site,
    catalog,
    readings$: rig.hub.readings$,
    commitments$: commitments,
    assets: () => dispatch.assetsNow(SITE).filter((a) => movable(a.id)),
    port: { write: (r) => rig.gateway.write(r) },
    now: rig.clock,
    everyMs: 200,
    ...(refreshMs === undefined ? {} : { refreshMs }),
    say: (l) => lines.push(l),
  });
  return { droop, lines };
}

describe('droop products in force (pure)', () => {
  beforeAll(async () => {
    catalog = await loadProducts();
  });

  it('takes frequency products in force only, symmetric kW as the smaller side, summed per product', () => {
    const now = Date.UTC(2026, 10, 18, 8, 30);
    const got = droopInForce(
      [
        fcrN(3, now - HOUR / 2, now + HOUR / 2),
        fcrN(2, now - HOUR / 2, now + HOUR / 2),
        // Over: ended at now, not yet: starts after now.
        fcrN(9, now - HOUR, now),
        fcrN(9, now + 1, now + HOUR),
        // mFRR is activated by the operator, not by the frequency.
        fcrN(5, now - 1, now + HOUR, 'mfrr'),
        {
          id: 'x',
          startMs: now - 1,
          endMs: now + 1,
          reserve: { upKw: 4, downKw: 1, sustainMinutes: 60, product: 'fcr-n' },
        },
      ],
      catalog,
      now,
    );
    expect(got.map((p) => [p.product.id, p.capacityKw])).toEqual([['fcr-n', 6]]);
    expect(droopInForce([], catalog, now)).toEqual([]);
  });
});

describe('FFR in force (pure)', () => {
  beforeAll(async () => {
    catalog = await loadProducts();
  });

  it('is taken like a droop product: up only, its kW the upward side', () => {
    const now = Date.UTC(2026, 10, 18, 8, 30);
    const ffr: SiteCommitment = {
      id: 'ffr',
      startMs: now - 1,
      endMs: now + HOUR,
      reserve: { upKw: 2, downKw: 0, sustainMinutes: 1, product: 'ffr' },
    };
    expect(droopInForce([ffr], catalog, now).map((p) => [p.product.id, p.capacityKw])).toEqual([['ffr', 2]]);
  });
});

describe('frequency response started from an obligation, on the simulator', () => {
  beforeAll(async () => {
    catalog = await loadProducts();
    rig = await startSchoolRig({ id: SITE, name: 'droop rig' }, [ahuFans(3)], {
      devices: (d) => d.id === 'school-bms' || d.id === 'school-grid-meter',
      point: (d, p) =>
        d.id === 'school-grid-meter'
          ? { ...p, pollInterval: '250ms' }
          : // Fans in FCR are written every few seconds; the site's file allows it.
            { ...p, maxSilence: '20s', ...(p.writable ? { minWriteInterval: '1s' } : {}) },
    });
    const model = schoolSite(SITE, 'Droop school', schoolFanAssets(SITE, 3));
    // The model's devices as the configuration gives them: the grid meter carries the frequency.
    site = {
      ...model,
      buildings: model.buildings.map((b) => ({
        ...b,
        devices: rig.gateway.cfg.devices.map((d) => DeviceSchema.parse(toModelDevice(d))),
      })),
    };
    // The school's morning schedule (70 %), not a value read before the simulator's first step:
    // under load the first reading can come before it (0 %, no fan to slow down; seen once).
    await until(
      'every fan at its scheduled 70 % and the frequency read',
      () =>
        [1, 2, 3].every((n) => rig.latest.get(`${SITE}/school-bms/ahu-${n}-speed`)?.value === 70) &&
        rig.latest.has(`${SITE}/school-grid-meter/frequency`),
      60_000,
    );
  }, 90_000);

  afterAll(async () => {
    rig?.sim.sim.setFrequencyProfile(null);
    await rig?.stop();
  });

  it('follows a −100 mHz step with the fans while the bid is in force, and hands them back when it ends', async () => {
    expect(frequencyPointOf(site)).toBe(`${SITE}/school-grid-meter/frequency`);
    const speed = (n: number) => rig.latest.get(`${SITE}/school-bms/ahu-${n}-speed`)?.value ?? Number.NaN;
    const base = [1, 2, 3].map(speed);
    const dispatch = rigMarketDispatch(rig, site);
    const now = rig.clock();
    const commitments = new BehaviorSubject<readonly SiteCommitment[]>([fcrN(1.5, now - 60_000, now + HOUR)]);
    const { droop, lines } = startDroop(dispatch, commitments);
    try {
      await until(`the response to start: ${lines.join(' | ')}`, () => droop.runtime !== undefined, 30_000);
      expect(droop.heldBy('school-bms')).toMatch(/fcr-n/);
      expect(lines.join('\n')).toMatch(
        /follows the grid frequency for fcr-n:1.5 kW with ahu-1, ahu-2, ahu-3/,
      );

      // Under-frequency: full FCR-N activation at −100 mHz, the fans slow down (less drawn).
      rig.sim.sim.setFrequencyProfile(() => 49.9);
      await until(
        `the fans to slow down: ${[1, 2, 3].map(speed).join(', ')} from ${base.join(', ')}`,
        () => (droop.runtime?.responseKw ?? 0) > 1.4 && [1, 2, 3].some((n) => speed(n) < base[n - 1]! - 1),
        60_000,
      );
      const slowed = [1, 2, 3].map(speed);

      // The bid's hour ends: the response stops and every fan goes back to its base speed.
      commitments.next([]);
      await until(`the response to end: ${lines.join(' | ')}`, () => droop.runtime === undefined, 30_000);
      expect(droop.heldBy('school-bms')).toBeUndefined();
      await until(
        `the fans back on base: ${[1, 2, 3].map(speed).join(', ')} (base ${base.join(', ')}, slowed ${slowed.join(', ')})`,
        () => [1, 2, 3].every((n) => Math.abs(speed(n) - base[n - 1]!) < 0.5),
        60_000,
      );
      expect(lines.join('\n')).toMatch(/ended fcr-n:1.5: assets back on their base/);
    } finally {
      await droop.stop();
      dispatch.close();
      rig.sim.sim.setFrequencyProfile(null);
    }
  }, 180_000);

  it('answers an FFR obligation only below its trigger (49.7 Hz), with the fans, and hands them back', async () => {
    const speed = (n: number) => rig.latest.get(`${SITE}/school-bms/ahu-${n}-speed`)?.value ?? Number.NaN;
    await until('the fans back at 70 %', () => [1, 2, 3].every((n) => speed(n) === 70), 60_000);
    const base = [1, 2, 3].map(speed);
    const dispatch = rigMarketDispatch(rig, site);
    const now = rig.clock();
    const ffr: SiteCommitment = {
      id: 'bid-ffr',
      startMs: now - 60_000,
      endMs: now + HOUR,
      reserve: { upKw: 1.5, downKw: 0, sustainMinutes: 1, product: 'ffr' },
    };
    const commitments = new BehaviorSubject<readonly SiteCommitment[]>([ffr]);
    const { droop, lines } = startDroop(dispatch, commitments);
    try {
      await until(`the response to start: ${lines.join(' | ')}`, () => droop.runtime !== undefined, 30_000);
      expect(lines.join('\n')).toMatch(/follows the grid frequency for ffr:1.5 kW/);
      // Above the trigger nothing moves: ten samples at 49.8 Hz, no response.
      rig.sim.sim.setFrequencyProfile(() => 49.8);
      const from = droop.runtime!.samplesLogged;
      await until('ten samples at 49.8 Hz', () => droop.runtime!.samplesLogged >= from + 10, 30_000);
      expect(droop.runtime!.responseKw).toBe(0);
      // Below it: full activation, the fans slow down.
      rig.sim.sim.setFrequencyProfile(() => 49.6);
      await until(
        `the fans to slow down for FFR: ${[1, 2, 3].map(speed).join(', ')} from ${base.join(', ')}`,
        () => (droop.runtime?.responseKw ?? 0) > 1.4 && [1, 2, 3].some((n) => speed(n) < base[n - 1]! - 1),
        60_000,
      );
      rig.sim.sim.setFrequencyProfile(null);
      commitments.next([]);
      await until(`the response to end: ${lines.join(' | ')}`, () => droop.runtime === undefined, 30_000);
      await until(
        `the fans back on base: ${[1, 2, 3].map(speed).join(', ')} (base ${base.join(', ')})`,
        () => [1, 2, 3].every((n) => Math.abs(speed(n) - base[n - 1]!) < 0.5),
        60_000,
      );
    } finally {
      await droop.stop();
      dispatch.close();
      rig.sim.sim.setFrequencyProfile(null);
    }
  }, 180_000);

  it('takes in a fan that becomes movable after the response started (a BMS that answered late)', async () => {
    const speed = (n: number) => rig.latest.get(`${SITE}/school-bms/ahu-${n}-speed`)?.value ?? Number.NaN;
    await until('the fans back at 70 %', () => [1, 2, 3].every((n) => speed(n) === 70), 60_000);
    const dispatch = rigMarketDispatch(rig, site);
    const now = rig.clock();
    const commitments = new BehaviorSubject<readonly SiteCommitment[]>([fcrN(1.5, now - 60_000, now + HOUR)]);
    let late = true;
    const { droop, lines } = startDroop(dispatch, commitments, (id) => !late || id !== 'ahu-3');
    try {
      await until(`the response to start: ${lines.join(' | ')}`, () => droop.runtime !== undefined, 30_000);
      expect(droop.holds().map((h) => h.assetId)).toEqual(['ahu-1', 'ahu-2']);
      // Nothing new: a review leaves the running response alone.
      const first = droop.runtime;
      await droop.review();
      expect(droop.runtime).toBe(first);
      late = false;
      await droop.review();
      expect(lines.join('\n')).toMatch(/1 more assets movable \(ahu-3\): the response restarts with them/);
      expect(droop.holds().map((h) => h.assetId)).toEqual(['ahu-1', 'ahu-2', 'ahu-3']);
      expect(droop.runtime).not.toBe(first);
    } finally {
      await droop.stop();
      dispatch.close();
    }
  }, 120_000);

  it('keeps a slowed fan slowed past the BMS watchdog by writing it again (refresh)', async () => {
    const speed = (n: number) => rig.latest.get(`${SITE}/school-bms/ahu-${n}-speed`)?.value ?? Number.NaN;
    await until('the fans back at 70 %', () => [1, 2, 3].every((n) => speed(n) === 70), 60_000);
    // The fans' own fail-safe: a setpoint not written again within 60 simulated s (3 s here,
    // at 20×) reverts to the schedule's 70 %.
    const fans = [1, 2, 3].map((n) => schoolDevice(rig, `ahu-${n}`, 'sheddable'));
    for (const f of fans) f.watchdog.timeoutMs = 60_000;
    const dispatch = rigMarketDispatch(rig, site);
    const now = rig.clock();
    const commitments = new BehaviorSubject<readonly SiteCommitment[]>([fcrN(1.5, now - 60_000, now + HOUR)]);
    const { droop, lines } = startDroop(dispatch, commitments, () => true, 1_000);
    try {
      await until(`the response to start: ${lines.join(' | ')}`, () => droop.runtime !== undefined, 30_000);
      rig.sim.sim.setFrequencyProfile(() => 49.9);
      await until(
        'the fans to slow down',
        () => (droop.runtime?.responseKw ?? 0) > 1.4 && [1, 2, 3].some((n) => speed(n) < 69),
        60_000,
      );
      await new Promise((r) => setTimeout(r, 1_000));
      const slowed = [1, 2, 3].filter((n) => speed(n) < 69);
      // Four watchdog periods of a constant request: nothing moves, so only the refresh writes.
      const until4 = rig.clock() + 4 * 60_000;
      let reverted = 0;
      while (rig.clock() < until4) {
        if (slowed.some((n) => speed(n) === 70)) reverted++;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(reverted, 'a fan went back to 70 % while the response held it').toBe(0);
    } finally {
      for (const f of fans) f.watchdog.timeoutMs = 3_600_000;
      await droop.stop();
      dispatch.close();
      rig.sim.sim.setFrequencyProfile(null);
    }
  }, 120_000);
});
