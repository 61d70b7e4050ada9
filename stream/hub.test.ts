import { toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Reading } from '../model/index.js';
import { Hub } from './hub.js';

declare module './hub.js' {
  interface HubTopics {
    'test.plans': { siteId: string; version: number };
  }
}

const reading = (ts: number): Reading => ({ pointId: 'a/b/c', ts, value: ts, quality: 'good' });

describe('hub', () => {
  it('delivers readings to every subscriber in publish order', () => {
    const hub = new Hub();
    const a: number[] = [];
    const b: number[] = [];
    hub.readings$.subscribe((r) => a.push(r.ts));
    hub.readings$.subscribe((r) => b.push(r.ts));
    hub.publishReadings([reading(1), reading(2)]);
    hub.publish('readings', reading(3));
    expect(a).toEqual([1, 2, 3]);
    expect(b).toEqual([1, 2, 3]);
  });

  it('carries topics that modules declare, typed', async () => {
    const hub = new Hub();
    const plans = hub.topic('test.plans').pipe(toArray()).toPromise();
    hub.publish('test.plans', { siteId: 'bern', version: 1 });
    hub.close();
    expect(await plans).toEqual([{ siteId: 'bern', version: 1 }]);
  });

  it('completes subscribers on close and ignores later publishes', () => {
    const hub = new Hub();
    let completed = false;
    const seen: number[] = [];
    hub.readings$.subscribe({ next: (r) => seen.push(r.ts), complete: () => (completed = true) });
    hub.close();
    hub.publishReadings([reading(1)]);
    expect(completed).toBe(true);
    expect(seen).toEqual([]);
    let lateCompleted = false;
    hub.topic('test.plans').subscribe({ complete: () => (lateCompleted = true) });
    expect(lateCompleted).toBe(true);
  });
});
