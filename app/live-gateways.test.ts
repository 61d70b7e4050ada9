import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ahuFans,
  finnishSchool,
  type Rig,
  SCHOOL_MORNING,
  schoolDevice,
  startRig,
} from '../market/runtime/testing.js';
import type { WriteRequest } from '../model/index.js';
import { LiveGateways } from './runtime.js';

/**
 * The running product's batch write (`LiveGateways.writeMany`, the market executor's port):
 * each request to the gateway that polls its device, a record per request in request order.
 */
const SITE = 'live-gw';
let rig: Rig;

beforeAll(async () => {
  rig = await startRig(finnishSchool({ id: SITE, name: 'live gateways' }, [ahuFans(2)]), {
    speed: 20,
    startMs: SCHOOL_MORNING,
    devices: (d) => d.id === 'school-bms',
  });
}, 90_000);

afterAll(async () => {
  await rig?.stop();
});

const speed = (device: string, point: string, value: number): Omit<WriteRequest, 'site'> => ({
  device,
  point,
  value,
  who: 'market',
  why: 'batch through the running gateways',
});

describe('LiveGateways.writeMany', () => {
  it('writes through the gateway polling each device and refuses a device none polls, in request order', async () => {
    const live = new LiveGateways(rig.hub);
    try {
      await live.add(rig.gateway.cfg);
      const records = await live.writeMany(SITE, [
        speed('school-bms', 'ahu-1-speed', 50),
        speed('school-meter', 'power', 1),
        speed('school-bms', 'ahu-2-speed', 45),
      ]);
      expect(records.map((r) => [r.device, r.point, r.outcome, r.refusal])).toEqual([
        ['school-bms', 'ahu-1-speed', 'written', null],
        ['school-meter', 'power', 'refused', 'no_such_device'],
        ['school-bms', 'ahu-2-speed', 'written', null],
      ]);
      expect(records[1]!.reason).toBe('no running gateway polls this device');
      expect(schoolDevice(rig, 'ahu-1', 'sheddable').setpointPct).toBe(50);
      expect(schoolDevice(rig, 'ahu-2', 'sheddable').setpointPct).toBe(45);
    } finally {
      await live.stop();
    }
  }, 60_000);
});
