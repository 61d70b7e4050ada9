import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ActivationPlan } from '../activation.js';
import {
  ahuFans,
  batteryAsset,
  fanAssets,
  type Rig,
  rigExecutor,
  SCHOOL_BATTERY,
  schoolLoad,
  startSchoolRig,
  until,
  wait,
} from './testing.js';

/**
 * The executor against the real gateway (safety layer) and the simulator over Modbus (battery)
 * and OPC UA (three fans). The simulator runs at 20× and the executor's clock is the
 * simulated one; fail-safe timeout one hour so the follow-up interval does not matter.
 */
const SITE = 'rig';
const METER = `${SITE}/school-grid-meter/power`;

let rig: Rig;

beforeAll(async () => {
  rig = await startSchoolRig(
    { id: SITE, name: 'executor rig' },
    [schoolLoad(60, 0.01), ahuFans(3), SCHOOL_BATTERY],
    {
      devices: (d) => d.id !== 'school-pv',
      point: (_d, p) => {
        // The site's gateway file: ahu-1 may not go below 60 % (refused by the safety layer),
        // ahu-2's speed is not allow-listed at all.
        if (p.id === 'ahu-1-speed') return { ...p, min: 60 };
        if (p.id === 'ahu-2-speed') return { ...p, writable: false };
        return p;
      },
    },
  );
}, 90_000);

afterAll(async () => {
  await rig?.stop();
});

function plan(id: string, kw: number, minutes: number): ActivationPlan {
  const now = rig.clock();
  return {
    id,
    productId: 'mfrr',
    direction: 'up',
    startMs: now,
    fullByMs: now + 750_000,
    endMs: now + minutes * 60_000,
    kw,
    sites: [{ siteId: SITE, kw }],
    warnings: [],
  };
}

const simFan = (n: number) => {
  const d = rig.sim.sim.building('school')!.device(`ahu-${n}`)!;
  if (d.type !== 'sheddable') throw new Error('not a fan');
  return d;
};
const simBattery = () => {
  const d = rig.sim.sim.building('school')!.device('battery')!;
  if (d.type !== 'battery') throw new Error('not a battery');
  return d;
};

describe('GatewayExecutor on the simulator', () => {
  it('re-dispatches to the battery what two fans could not take (speed floor refused, point not allow-listed)', async () => {
    const executor = rigExecutor(rig, {
      // Fans first in merit order, the battery after them.
      assets: [...fanAssets(rig, 'school'), batteryAsset(rig, 'school', { costPerKwh: 1 })],
      gridImportLimitKw: 200,
    });
    try {
      const status = await executor.start(plan('exec-refused', 8, 30));
      const site = status.sites[0]!;
      expect(status.state).toBe('active');
      expect(site.setpointsRefused).toBe(2);
      expect(site.messages.join('\n')).toMatch(/school-ahu-1 dropped out: ahu-1-speed refused/);
      expect(site.messages.join('\n')).toMatch(
        /school-ahu-2 dropped out: ahu-2-speed refused .*not allow-listed/,
      );
      expect(site.dispatchedKw).toBeCloseTo(8, 6);
      expect(site.shortfallKw).toBe(0);
      // What the devices were told: ahu-3 to its floor, the battery the rest (8 − one fan's 1.03 kW).
      const fanKw = 3.7 * (0.7 ** 3 - 0.4 ** 3);
      expect(simFan(3).setpointPct).toBeCloseTo(40, 6);
      expect(simFan(1).setpointPct).toBeNull();
      expect(simFan(2).setpointPct).toBeNull();
      // The battery's first write (its part before the re-dispatch) may hold the second back
      // for the rate limit's 5 s: the next follow-up writes it.
      await until(
        'the battery at its new share',
        () => Math.abs(-simBattery().setpointW / 1000 - (8 - fanKw)) < 0.05,
        30_000,
      );
      expect(-simBattery().setpointW / 1000).toBeCloseTo(8 - fanKw, 1);
    } finally {
      await executor.stop('exec-refused', 'test over');
      await until('back to base', () => executor.status('exec-refused')?.state === 'done', 60_000);
      executor.close();
    }
    expect(simBattery().setpointW).toBe(0);
  }, 120_000);

  it('re-dispatches the shortfall to the fans when the battery drops out mid-activation (device refuses the write)', async () => {
    const battery = simBattery();
    const ratedW = battery.params.maxDischargeW;
    const executor = rigExecutor(rig, {
      // The battery first this time, the fans behind it.
      assets: [batteryAsset(rig, 'school'), ...fanAssets(rig, 'school', { costPerKwh: 1 })],
      gridImportLimitKw: 200,
    });
    try {
      const first = await executor.start(plan('exec-dropout', 6, 30));
      expect(first.sites[0]!.dispatchedKw).toBeCloseTo(6, 6);
      // A write the rate limit held back goes out at the next follow-up.
      await until('the battery at 6 kW', () => Math.abs(-battery.setpointW / 1000 - 6) < 0.05, 30_000);
      // The inverter derates to 1 kW: the next refresh of its 6 kW is answered with exception 3.
      battery.params.maxDischargeW = 1000;
      await until(
        'the battery to drop out',
        () =>
          (executor.status('exec-dropout')?.sites[0]?.messages ?? []).some((m) =>
            /battery dropped out/.test(m),
          ),
        60_000,
      );
      const fanKw = 3.7 * (0.7 ** 3 - 0.4 ** 3);
      await until(
        'the re-dispatch to be accounted',
        () => (executor.status('exec-dropout')?.sites[0]?.dispatchedKw ?? 6) < 6,
        30_000,
      );
      await until('ahu-3 at its floor', () => simFan(3).setpointPct === 40, 30_000);
      const site = executor.status('exec-dropout')!.sites[0]!;
      expect(site.messages.join('\n')).toMatch(/school-battery dropped out: \S+ rejected/);
      // Only ahu-3 is allow-listed down to 40 %: it takes its full 1.03 kW, the rest is shortfall.
      expect(site.dispatchedKw).toBeCloseTo(fanKw, 6);
      expect(site.shortfallKw).toBeCloseTo(6 - fanKw, 6);
      expect(simFan(3).setpointPct).toBeCloseTo(40, 6);
      // The dropped battery was put back to idle, not left discharging at what it still could
      // (a return the rate limit holds back goes out at a following follow-up).
      await until('the dropped battery back to idle', () => battery.setpointW === 0, 30_000);
      expect(battery.setpointW).toBe(0);
      expect(site.messages.join('\n')).not.toMatch(/not put back to base/);
    } finally {
      battery.params.maxDischargeW = ratedW;
      await executor.stop('exec-dropout', 'test over');
      await until('back to base', () => executor.status('exec-dropout')?.state === 'done', 60_000);
      executor.close();
    }
    expect(simBattery().setpointW).toBe(0);
  }, 120_000);

  it('restores the battery afterwards without lifting the grid meter over the import limit', async () => {
    // The earlier activations left everything at base (checked there).
    expect(simBattery().setpointW).toBe(0);
    await wait(2_000);
    const importKw = () => rig.latest.get(METER)!.value / 1000;
    const before = importKw();
    // The connection allows only 6 kW above what the site draws now; recharging at the
    // battery's 50 kW would break it.
    const limitKw = before + 6;
    const executor = rigExecutor(
      rig,
      {
        assets: [batteryAsset(rig, 'school')],
        gridImportLimitKw: limitKw,
        siteImportKw: importKw,
      },
      { followUpMs: 250, restoreSlotMs: 60_000, restoreSlots: 30 },
    );
    try {
      const started = await executor.start(plan('exec-restore', 30, 2));
      expect(started.sites[0]!.dispatchedKw).toBeCloseTo(30, 6);
      await until(
        'the restore to start',
        () => executor.status('exec-restore')?.state === 'restoring',
        60_000,
      );
      const restoreFrom = rig.clock();
      await until('the restore to finish', () => executor.status('exec-restore')?.state === 'done', 120_000);
      const restoreTo = rig.clock();
      const charges = rig.gateway.records.filter(
        (r) => r.point === 'charge_rate' && r.why.startsWith('restore after exec-restore'),
      );
      expect(charges.length).toBeGreaterThan(0);
      // Every recharge written stays within the 6 kW the grid limit leaves; the executor plans
      // on one import reading taken when the activation ends, so the load's noise at that
      // instant (about ±0.5 kW here) moves it a little.
      const ratedKw = simBattery().params.maxChargeW / 1000;
      const maxChargeKw = Math.max(...charges.map((r) => (r.requested * ratedKw) / 100));
      expect(maxChargeKw).toBeGreaterThan(1);
      expect(maxChargeKw).toBeLessThanOrEqual(6 + 0.5);
      // At the meter: no reading during the restore above the limit (1 kW for the load's noise).
      const during = rig.history(METER).filter((r) => r.ts >= restoreFrom && r.ts <= restoreTo);
      expect(during.length).toBeGreaterThan(10);
      expect(Math.max(...during.map((r) => r.value / 1000))).toBeLessThan(limitKw + 1);
      expect(simBattery().setpointW).toBe(0);
    } finally {
      executor.close();
    }
  }, 240_000);

  it('writes the fans as one batch through writeMany and the battery command by command, in its order', async () => {
    // The battery's last return to base is a moment old: past its rate limit (5 s simulated) first.
    await wait(1_000);
    const many = vi.spyOn(rig.gateway, 'writeMany');
    const one = vi.spyOn(rig.gateway, 'write');
    const executor = rigExecutor(rig, {
      assets: [...fanAssets(rig, 'school'), batteryAsset(rig, 'school', { costPerKwh: 1 })],
      gridImportLimitKw: 200,
    });
    try {
      const status = await executor.start(plan('exec-batch', 8, 30));
      const site = status.sites[0]!;
      // The batch's refusals drop their fans as single refusals do; the battery takes their share.
      expect(site.setpointsRefused).toBe(2);
      expect(site.dispatchedKw).toBeCloseTo(8, 6);
      expect(simFan(3).setpointPct).toBeCloseTo(40, 6);
      // The three fans of the BMS: one batch, each fan's speed once.
      expect(many.mock.calls.map(([reqs]) => reqs.map((r) => r.point))).toEqual([
        ['ahu-1-speed', 'ahu-2-speed', 'ahu-3-speed'],
      ]);
      // The battery: write by write, in the driver's order (rates, then the mode); no fan alone.
      const points = one.mock.calls.map(([r]) => r.point);
      expect(points.slice(0, 3)).toEqual(['charge_rate', 'discharge_rate', 'mode']);
      expect(points.filter((p) => p.endsWith('-speed'))).toEqual([]);
    } finally {
      many.mockRestore();
      one.mockRestore();
      await executor.stop('exec-batch', 'test over');
      await until('back to base', () => executor.status('exec-batch')?.state === 'done', 60_000);
      executor.close();
    }
    expect(simBattery().setpointW).toBe(0);
    expect(simFan(3).setpointPct).toBeCloseTo(70, 6);
  }, 120_000);
});
