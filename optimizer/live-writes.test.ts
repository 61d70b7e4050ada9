import { afterEach, describe, expect, it } from 'vitest';
import { tenLiveMinutes, unchangedRewrites } from './testing.js';

describe('live optimiser writes over ten minutes on the simulator', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  it('never rewrites an unchanged value except to renew the fail-safe lease, and the battery never reverts', async () => {
    // The rig asserts on the way that the battery's 60-second fail-safe never lapses.
    const { gw } = await tenLiveMinutes(cleanup);
    const records = gw.records;
    const unchanged = unchangedRewrites(records);
    const leases = unchanged.filter((r) => r.why.startsWith('Lease refresh'));
    // Every unchanged rewrite is a lease refresh, labelled as one; there were some (60 s fail-safe).
    expect(unchanged).toEqual(leases);
    expect(leases.length).toBeGreaterThanOrEqual(8);
    expect(leases.length).toBeLessThanOrEqual(20);
    expect(records.every((r) => r.outcome !== 'refused')).toBe(true);
    // The optimiser put its own rate back after the other writer's.
    const afterAlice = records.slice(records.findIndex((r) => r.who === 'alice') + 1);
    expect(afterAlice.find((r) => r.point === 'charge_rate')?.who).toBe('optimizer');
    // A sentence in the site's time: "Plan for 04:00–04:15 (solved at 04:10): battery idle".
    const whys = records.filter((r) => r.who === 'optimizer').map((r) => r.why);
    expect(whys[0]).toMatch(/^Plan for 04:00–04:15 \(solved at 04:10\): battery (charging \d+\.\d kW|idle)$/);
    expect(whys.some((w) => w.startsWith('Plan for 04:15–04:30'))).toBe(true);
    console.log(
      `ten minutes: ${records.filter((r) => r.who === 'optimizer').length} optimiser writes, ${leases.length} of them lease refreshes`,
    );
  }, 180_000);
});
