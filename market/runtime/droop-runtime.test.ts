import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Reading } from '../../model/index.js';
import { findProduct, loadProducts } from '../product.js';
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
});
