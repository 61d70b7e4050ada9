import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Reading } from '../../model/index.js';
import { findProduct, loadProducts } from '../product.js';
import { FanAssetSchema } from './assets.js';
import { DroopRuntime } from './droop-runtime.js';
import type { LogEntry } from './proof-log.js';

const reading = (pointId: string, ts: number, value: number): Reading => ({
  pointId,
  ts,
  value,
  quality: 'good',
});

describe('the droop runtime’s metered power (the proof)', () => {
  it('is the sum of every building’s grid meter, logged only once each has been read', async () => {
    const product = findProduct(await loadProducts(), 'fcr-n');
    const log: LogEntry[] = [];
    const meters = ['lapp/school-1-grid-meter/power', 'lapp/library-grid-meter/power'];
    const rt = new DroopRuntime({
      products: [{ product, capacityKw: 10 }],
      assets: [],
      port: { write: () => Promise.reject(new Error('no asset to write')) },
      frequencyPoint: 'lapp/school-1-grid-meter/frequency',
      meteredPoint: meters,
      onLog: (e) => log.push(e),
    });
    const hub = new Subject<Reading>();
    const sub = rt.attach(hub);
    const t = Date.UTC(2026, 10, 18, 8);
    hub.next(reading(meters[0]!, t, 40_000));
    hub.next(reading('lapp/school-1-grid-meter/frequency', t + 100, 50));
    // One meter of two read: no site power yet, rather than one building's passed off as it.
    expect(log.at(-1)?.meteredKw).toBeUndefined();
    hub.next(reading(meters[1]!, t + 150, 12_500));
    hub.next(reading('lapp/school-1-grid-meter/frequency', t + 200, 50));
    expect(log.at(-1)?.meteredKw).toBe(52.5);
    // A newer reading of one meter replaces its part only; a bad one changes nothing.
    hub.next(reading(meters[0]!, t + 250, 38_000));
    hub.next({ ...reading(meters[1]!, t + 260, 0), quality: 'bad' });
    hub.next(reading('lapp/school-1-grid-meter/frequency', t + 300, 50));
    expect(log.at(-1)?.meteredKw).toBe(50.5);
    sub.unsubscribe();
  });

  it('logs the fans’ own delivery: their draw at base speed minus their metered draw, once each is read', async () => {
    const product = findProduct(await loadProducts(), 'fcr-n');
    const fan = (n: number, powerPoint?: string) =>
      FanAssetSchema.parse({
        kind: 'fan',
        id: `ahu-${n}`,
        siteId: 'lapp',
        device: 'school-1-bms',
        point: `lapp/school-1-bms/ahu-${n}-speed`,
        ratedKw: 3.7,
        basePct: 70,
        minPct: 40,
        maxPct: 85,
        ...(powerPoint ? { powerPoint } : {}),
      });
    const power = (n: number) => `lapp/school-1-bms/ahu-${n}-power`;
    const start = (assets: ReturnType<typeof fan>[], lastValue?: (key: string) => number | undefined) => {
      const log: LogEntry[] = [];
      const rt = new DroopRuntime({
        products: [{ product, capacityKw: 2 }],
        assets,
        port: { write: () => Promise.reject(new Error('nothing is written at 50 Hz')) },
        frequencyPoint: 'lapp/school-1-grid-meter/frequency',
        onLog: (e) => log.push(e),
        ...(lastValue ? { lastValue } : {}),
      });
      const hub = new Subject<Reading>();
      rt.attach(hub);
      return { hub, log };
    };
    const t = Date.UTC(2026, 10, 18, 8);
    const { hub, log } = start([fan(1, power(1)), fan(2, power(2))]);
    hub.next(reading(power(1), t, 1000));
    hub.next(reading('lapp/school-1-grid-meter/frequency', t + 100, 50));
    expect(log.at(-1)?.deliveredKw).toBeUndefined();
    hub.next(reading(power(2), t + 150, 1500));
    hub.next(reading('lapp/school-1-grid-meter/frequency', t + 200, 50));
    // Base: 2 × 3.7 kW × 0.7³ = 2.5382 kW; drawn 2.5 kW: 0.0382 kW less, + up.
    expect(log.at(-1)?.deliveredKw).toBeCloseTo(2 * 3.7 * 0.343 - 2.5, 9);
    // A fan without a power point of its own: no delivery claimed for the group.
    const partial = start([fan(1, power(1)), fan(2)]);
    partial.hub.next(reading(power(1), t, 1000));
    partial.hub.next(reading('lapp/school-1-grid-meter/frequency', t + 100, 50));
    expect(partial.log.at(-1)?.deliveredKw).toBeUndefined();
    // Fans whose server reports only changes: their last reports count from the first sample.
    const seeded = start([fan(1, power(1)), fan(2, power(2))], (k) => (k === power(1) ? 1000 : 1500));
    seeded.hub.next(reading('lapp/school-1-grid-meter/frequency', t + 100, 50));
    expect(seeded.log.at(-1)?.deliveredKw).toBeCloseTo(2 * 3.7 * 0.343 - 2.5, 9);
  });
});
