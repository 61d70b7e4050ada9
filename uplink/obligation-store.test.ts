import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../store/index.js';
import { announceSkip, testBackends } from '../store/testing.js';
import { ObligationStore } from './obligation-store.js';
import type { Obligations } from './protocol.js';

const list = (issuedAt: number, kw: number): Obligations => ({
  v: 1,
  issuedAt,
  obligations: [
    { id: `o-${issuedAt}`, product: 'fcr-n', startMs: 0, endMs: 3_600_000, upKw: kw, downKw: kw },
  ],
});

for (const backend of testBackends) {
  describe.skipIf(backend.skipReason)(`the edge's kept obligations on ${backend.name}`, () => {
    announceSkip(backend, "the edge's kept obligations");
    let store: Store;
    beforeAll(async () => {
      store = await backend.open();
    });
    afterAll(() => store?.close());

    it('keeps the newest list per site; an older copy delivered late does not replace it', async () => {
      const a = await ObligationStore.open(store, 'site-a');
      const b = await ObligationStore.open(store, 'site-b');
      expect(await a.latest()).toBeNull();
      expect(await a.save(list(200, 4))).toBe(true);
      // A retained copy from before, delivered after a reconnect: ignored.
      expect(await a.save(list(100, 9))).toBe(false);
      expect(await a.latest()).toEqual(list(200, 4));
      // The same list again (a re-delivery) is fine; a newer one replaces it.
      expect(await a.save(list(200, 4))).toBe(true);
      expect(await a.save(list(300, 0))).toBe(true);
      expect((await a.latest())?.issuedAt).toBe(300);
      expect(await b.latest()).toBeNull();
    });
  });
}
