import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEADROOM_SLOT_MS, type PlannedSchedule, siteAssets } from '../control/headroom.js';
import type { Site } from '../model/index.js';
import type { Store } from '../store/index.js';
import { Hub } from '../stream/index.js';
import { exampleMarket } from '../testkit/market.js';
import type { MarketUpdate } from './service.js';
import { type RunningMarket, startMarket } from './start.js';

const H = 3_600_000;
const T0 = Date.UTC(2026, 10, 23, 10);
const hour = { fromMs: T0, toMs: T0 + H };

let store: Store;
let sites: Site[];
let market: RunningMarket;
const plans: Record<string, PlannedSchedule | null> = {};
const updates: MarketUpdate[] = [];
let clock = T0 + 60_000;

beforeAll(async () => {
  const hub = new Hub();
  hub.topic('market').subscribe((u) => updates.push(u));
  ({ store, sites, market } = await exampleMarket({
    hub,
    now: () => clock,
    plans: async (site) => plans[site] ?? null,
  }));
});
afterAll(async () => {
  await market?.stop();
  await store?.close();
});

describe('startMarket', () => {
  it('loads the bundled demo portfolio over zev-bern, and drops it when zev-bern does not run', async () => {
    expect(market.portfolios.map((p) => [p.id, p.sites])).toEqual([['demo', ['zev-bern']]]);
    const other = await startMarket({ store, sites: [{ ...sites[0]!, id: 'elsewhere' }], tickMs: 0 });
    expect(other.portfolios).toEqual([]);
    await other.stop();
  });

  it('offers the battery from its limits: idle at mid-band state of charge when none is measured', async () => {
    const a = await market.service.availability('demo', 'dr-event', hour);
    expect(a.slots).toHaveLength(4);
    // 20 kWh, SoC 10–100 %: 11 kWh stored, 10 kW for the DR event's sustain window is within energy.
    for (const slot of a.slots) {
      expect(slot.upKw).toBeGreaterThan(0);
      expect(slot.upKw).toBeLessThanOrEqual(10);
      expect(slot.downKw).toBeLessThanOrEqual(10);
    }
  });

  it('uses the measured state of charge: an empty battery offers no up, full charging down', async () => {
    const battery = siteAssets(sites[0]!).find((x) => x.type === 'battery')!;
    const soc = battery.type === 'battery' ? battery.measure.soc! : '';
    await store.readings.ingest([{ pointId: soc, ts: T0, value: 10, quality: 'good' }]);
    const a = await market.service.availability('demo', 'dr-event', hour);
    expect(a.slots[0]!.upKw).toBe(0);
    expect(a.slots[0]!.downKw).toBeGreaterThan(0);
  });

  it("takes the optimiser's plan when it covers the window", async () => {
    const slots = 16;
    // The measured SoC (10 %) offers no up; the plan charges 10 kW from 10 kWh, so stopping
    // the charge and then discharging is up flexibility the fallback would not see.
    plans['zev-bern'] = {
      startMs: T0,
      slotMinutes: HEADROOM_SLOT_MS / 60_000,
      schedule: {
        assets: {
          battery: {
            type: 'battery',
            chargeKw: Array(slots).fill(10),
            dischargeKw: Array(slots).fill(0),
            socKwh: Array.from({ length: slots + 1 }, (_, i) => Math.min(18, 10 + i * 0.5)),
          },
        },
      },
    };
    try {
      const a = await market.service.availability('demo', 'dr-event', hour);
      expect(a.slots[0]!.upKw).toBeGreaterThan(5);
      expect(a.slots[0]!.sites[0]!.assets[0]!.upLimitedBy).not.toBe('horizon');
    } finally {
      plans['zev-bern'] = null;
    }
  });

  it('records an activation it cannot dispatch as failed, with the reason, and publishes it', async () => {
    const battery = siteAssets(sites[0]!).find((x) => x.type === 'battery')!;
    const soc = battery.type === 'battery' ? battery.measure.soc! : '';
    // Sold a minute before the hour (a started hour is not sold any more), activated inside it.
    clock = T0 - 60_000;
    await store.readings.ingest([{ pointId: soc, ts: T0 - 90_000, value: 90, quality: 'good' }]);
    const { bids } = await market.service.buildBids('demo', 'dr-event', hour, {
      kind: 'fixed',
      priceCentsPerMwh: 1000,
    });
    expect(bids.length).toBeGreaterThan(0);
    await market.service.accept('demo', 'dr-event', [{ bidId: bids[0]!.id }]);
    clock = T0 + 60_000;
    const { view } = await market.service.activate(
      'demo',
      { id: 'dr-1', productId: 'dr-event', kw: 5, durationMs: 15 * 60_000 },
      'operator',
    );
    expect(view.activation.state).toBe('failed');
    expect(view.history.at(-1)!.note).toContain('no market executor runs here');
    expect(updates.map((u) => u.state)).toEqual(['received', 'dispatching', 'failed']);
  });
});
