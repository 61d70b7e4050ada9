import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../store/index.js';
import { announceSkip, testBackends } from '../store/testing.js';
import { Ledger } from './chain.js';
import { compileCommunity } from './community.js';
import { issueBills } from './issue.js';
import { parseReadingsCsv } from './readings.js';
import { exampleCommunity, exampleCsv } from './testing.js';

const START = Date.UTC(2026, 9, 1, 10);
const period = { label: '2026-10', startMs: START, endMs: START + 4 * 900_000 };

/** Bypass the append-only trigger as a database owner could, to prove verify catches it. */
async function tamper(store: Store, ...statements: string[]) {
  await store.db.transaction(async (tx) => {
    await tx.query('ALTER TABLE ledger_entries DISABLE TRIGGER USER');
    for (const sql of statements) await tx.query(sql);
    await tx.query('ALTER TABLE ledger_entries ENABLE TRIGGER USER');
  });
}

for (const backend of testBackends) {
  describe.skipIf(backend.skipReason)(`tamper-evident ledger on ${backend.name}`, () => {
    announceSkip(backend, 'ledger chain');
    let store: Store;
    let ledger: Ledger;

    beforeAll(async () => {
      store = await backend.open();
      ledger = await Ledger.open(store);
    });
    afterAll(async () => store?.close());

    const fresh = async () => {
      // Each case starts from its own chain: the table cannot be emptied, so use a new store.
      await store.close();
      store = await backend.open();
      ledger = await Ledger.open(store);
      const c = compileCommunity(exampleCommunity());
      const issued = await issueBills(ledger, c, period, parseReadingsCsv(exampleCsv(START)));
      return { c, issued };
    };

    it('issues bills chained after the readings and the allocation run, and verifies', async () => {
      const { issued } = await fresh();
      expect(issued.status).toBe('issued');
      const kinds = (await ledger.entries()).map((e) => e.kind);
      expect(kinds).toEqual([
        'readings_accepted',
        'allocation_run',
        'bill_issued',
        'bill_issued',
        'bill_issued',
      ]);
      expect(issued.checkpoint.seq).toBe(2);
      expect(issued.bills[0]!.checkpoint).toEqual(issued.checkpoint);
      expect(await ledger.verify(issued.checkpoint)).toMatchObject({ ok: true, entries: 5 });
    });

    it('refuses UPDATE, DELETE and TRUNCATE in the database', async () => {
      await fresh();
      await expect(store.db.query("UPDATE ledger_entries SET body = '{}' WHERE seq = 1")).rejects.toThrow(
        /append-only/,
      );
      await expect(store.db.query('DELETE FROM ledger_entries WHERE seq = 5')).rejects.toThrow(/append-only/);
      await expect(store.db.query('TRUNCATE ledger_entries')).rejects.toThrow(/append-only/);
      expect((await ledger.entries()).length).toBe(5);
    });

    it('names the first broken entry when one stored byte changes', async () => {
      await fresh();
      const before = (await ledger.entries())[2]!.body;
      // One byte: the first digit of the bill's total becomes a 9.
      await tamper(
        store,
        `UPDATE ledger_entries SET body = overlay(body placing '9' from position('"totalMinor":' in body) + 13 for 1) WHERE seq = 3`,
      );
      const after = (await ledger.entries())[2]!.body;
      expect(after.length).toBe(before.length);
      expect([...after].filter((ch, i) => ch !== before[i]).length).toBe(1);
      expect(await ledger.verify()).toMatchObject({
        ok: false,
        firstBroken: 3,
        reason: expect.stringMatching(/entry 3 .* was changed/),
      });
    });

    it('detects a deleted entry and two reordered entries', async () => {
      await fresh();
      await tamper(store, 'DELETE FROM ledger_entries WHERE seq = 4');
      expect(await ledger.verify()).toMatchObject({
        ok: false,
        firstBroken: 4,
        reason: expect.stringMatching(/missing/),
      });
      await fresh();
      // Swap entries 3 and 4 (each keeps its own hashes).
      await tamper(
        store,
        'CREATE TEMP TABLE swap AS SELECT * FROM ledger_entries WHERE seq IN (3, 4)',
        'DELETE FROM ledger_entries WHERE seq IN (3, 4)',
        'INSERT INTO ledger_entries SELECT 7 - seq, community, kind, body, prev_hash, hash FROM swap',
        'DROP TABLE swap',
      );
      expect(await ledger.verify()).toMatchObject({ ok: false, firstBroken: 3 });
    });

    it('detects the newest entries cut off, given the checkpoint printed on a bill', async () => {
      const { issued } = await fresh();
      const head = await ledger.head();
      await tamper(store, 'DELETE FROM ledger_entries WHERE seq = 5');
      expect((await ledger.verify()).ok).toBe(true);
      expect(await ledger.verify(head!)).toMatchObject({
        ok: false,
        reason: expect.stringMatching(/cut short/),
      });
      expect((await ledger.verify(issued.checkpoint)).ok).toBe(true);
    });

    it('imports idempotently, and never changes an issued bill silently', async () => {
      const { c } = await fresh();
      const again = await issueBills(ledger, c, period, parseReadingsCsv(exampleCsv(START)));
      expect(again.status).toBe('unchanged');
      expect((await ledger.entries()).length).toBe(5);
      const changed = exampleCsv(START).replace(/m-A,(\S+T10:00:00.000Z),1/, 'm-A,$1,1.5');
      await expect(issueBills(ledger, c, period, parseReadingsCsv(changed))).rejects.toThrow(
        /was billed .* correction/,
      );
      const corrected = await issueBills(ledger, c, period, parseReadingsCsv(changed), { correct: true });
      expect(corrected.status).toBe('corrected');
      const kinds = (await ledger.entries()).map((e) => e.kind).slice(5);
      expect(kinds).toEqual([
        'readings_accepted',
        'correction',
        'allocation_run',
        'bill_issued',
        'bill_issued',
        'bill_issued',
      ]);
      expect(JSON.parse((await ledger.entries())[6]!.body).reverses).toEqual([2, 3, 4, 5]);
      expect((await ledger.verify()).ok).toBe(true);
    });
  });
}
