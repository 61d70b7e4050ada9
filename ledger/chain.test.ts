import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../store/index.js';
import { announceSkip, testBackends } from '../store/testing.js';
import { canonicalJson } from './canonical.js';
import { type Entry, entryHash, GENESIS, Ledger } from './chain.js';
import { compileCommunity } from './community.js';
import { issueBills } from './issue.js';
import { ephemeralKeyring } from './keys.js';
import { parseReadingsCsv } from './readings.js';
import type { SealBody } from './seal.js';
import { exampleCommunity, exampleCsv } from './testing.js';

const START = Date.UTC(2026, 9, 1, 10);
const period = { label: '2026-10', startMs: START, endMs: START + 4 * 900_000 };
const NEXT = START + 4 * 900_000;
const period2 = { label: '2026-11', startMs: NEXT, endMs: NEXT + 4 * 900_000 };
const keys = ephemeralKeyring();
const c0 = exampleCommunity().id;

/**
 * What someone with write access to the table but not the key can do: rewrite entries, then
 * recompute every hash after them (and the seq numbers and hashes other entries quote), so
 * the chain itself is consistent again.
 */
async function rewrite(store: Store, edit: (entries: Entry[]) => Entry[]) {
  const before = await (await Ledger.open(store, { keys })).entries();
  const kept = edit(before.map((e) => ({ ...e })));
  const seqMap = new Map<number, number>();
  const hashMap = new Map<string, string>();
  for (const [i, e] of kept.entries()) seqMap.set(e.seq, i + 1);
  let prev = GENESIS;
  const out: Entry[] = [];
  for (const [i, e] of kept.entries()) {
    const body = e.body
      .replace(/[0-9a-f]{64}/g, (h) => hashMap.get(h) ?? h)
      .replace(/"(seq|run)":(\d+)/g, (_m, k, n) => `"${k}":${seqMap.get(Number(n)) ?? n}`);
    const seq = i + 1;
    const hash = entryHash(prev, seq, e.kind, e.community, body);
    hashMap.set(e.hash, hash);
    out.push({ ...e, seq, body, prevHash: prev, hash });
    prev = hash;
  }
  await store.db.transaction(async (tx) => {
    await tx.query('ALTER TABLE ledger_entries DISABLE TRIGGER USER');
    await tx.query('DELETE FROM ledger_entries');
    for (const e of out)
      await tx.query(
        'INSERT INTO ledger_entries (seq, community, kind, body, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6)',
        [e.seq, e.community, e.kind, e.body, e.prevHash, e.hash],
      );
    await tx.query('ALTER TABLE ledger_entries ENABLE TRIGGER USER');
  });
}

/** Bypass the append-only trigger as a database owner could, to prove verify catches it. */
async function tamper(store: Store, ...statements: string[]) {
  await store.db.transaction(async (tx) => {
    await tx.query('ALTER TABLE ledger_entries DISABLE TRIGGER USER');
    for (const sql of statements) await tx.query(sql);
    await tx.query('ALTER TABLE ledger_entries ENABLE TRIGGER USER');
  });
}

for (const backend of testBackends) {
  describe.skipIf(backend.skipReason)(
    `tamper-evident ledger on ${backend.name}`,
    { timeout: 180_000 },
    () => {
      announceSkip(backend, 'ledger chain');
      let store: Store;
      let ledger: Ledger;

      beforeAll(async () => {
        store = await backend.open();
        ledger = await Ledger.open(store, { keys });
      });
      afterAll(async () => store?.close());

      const fresh = async () => {
        // Each case starts from its own chain: the table cannot be emptied, so use a new store.
        await store.close();
        store = await backend.open();
        ledger = await Ledger.open(store, { keys });
        const c = compileCommunity(exampleCommunity());
        const issued = await issueBills(ledger, c, period, parseReadingsCsv(exampleCsv(START)));
        return { c, issued };
      };

      it('issues bills chained after the readings and the allocation run, seals them, and verifies', async () => {
        const { issued } = await fresh();
        expect(issued.status).toBe('issued');
        const kinds = (await ledger.entries()).map((e) => e.kind);
        expect(kinds).toEqual([
          'readings_accepted',
          'allocation_run',
          'bill_issued',
          'bill_issued',
          'bill_issued',
          'seal',
        ]);
        // The printed checkpoint is the last bill: it covers every bill of the period.
        expect(issued.checkpoint).toMatchObject({ seq: 5, keyId: (await keys.signer()).keyId });
        for (const b of issued.bills) {
          expect(b.checkpoint).toEqual(issued.checkpoint);
          expect(b.entry.seq).toBeLessThanOrEqual(issued.checkpoint.seq);
          expect(b.run.seq).toBe(2);
        }
        expect(await ledger.verify(issued.checkpoint)).toMatchObject({ ok: true, entries: 6, seals: 1 });
      });

      it('refuses UPDATE, DELETE and TRUNCATE in the database', async () => {
        await fresh();
        await expect(store.db.query("UPDATE ledger_entries SET body = '{}' WHERE seq = 1")).rejects.toThrow(
          /append-only/,
        );
        await expect(store.db.query('DELETE FROM ledger_entries WHERE seq = 5')).rejects.toThrow(
          /append-only/,
        );
        await expect(store.db.query('TRUNCATE ledger_entries')).rejects.toThrow(/append-only/);
        expect((await ledger.entries()).length).toBe(6);
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
        const { c, issued } = await fresh();
        await issueBills(ledger, c, period2, parseReadingsCsv(exampleCsv(NEXT)));
        const head = await ledger.head();
        // The second month's whole tail (readings, run, bills, seal) cut off: a valid shorter chain.
        await tamper(store, 'DELETE FROM ledger_entries WHERE seq > 6');
        expect((await ledger.verify()).ok).toBe(true);
        expect(await ledger.verify(head!)).toMatchObject({
          ok: false,
          reason: expect.stringMatching(/cut short/),
        });
        expect((await ledger.verify(issued.checkpoint)).ok).toBe(true);
      });

      it('finding 6: deleting a month’s bill entries and recomputing the hashes fails verify', async () => {
        const { c } = await fresh();
        const second = await issueBills(ledger, c, period2, parseReadingsCsv(exampleCsv(NEXT)));
        expect((await ledger.verify(second.checkpoint)).ok).toBe(true);
        const printed = second.checkpoint;
        await rewrite(store, (es) =>
          es.filter((e) => !(e.kind === 'bill_issued' && e.body.includes('"2026-11"'))),
        );
        const after = await ledger.verify();
        expect(after).toMatchObject({ ok: false });
        expect(after.ok || after.reason).toMatch(/seal .* (does not match|lists bill entry)|issued 3 bills/);
        expect((await ledger.verify(printed)).ok).toBe(false);
      });

      it('finding 6: deleting a whole month (run, bills, seal) and recomputing fails the next seal and the printed checkpoint', async () => {
        const { c, issued } = await fresh();
        const second = await issueBills(ledger, c, period2, parseReadingsCsv(exampleCsv(NEXT)));
        await rewrite(store, (es) => es.filter((e) => e.seq > 6 || e.kind === 'readings_accepted'));
        const r = await ledger.verify();
        expect(r).toMatchObject({ ok: false, reason: expect.stringMatching(/signature/) });
        expect(await ledger.verify(issued.checkpoint)).toMatchObject({ ok: false });
        expect(await ledger.verify(second.checkpoint)).toMatchObject({ ok: false });
      });

      it('finding 6: editing one bill and recomputing every hash after it fails on the signature', async () => {
        const { issued } = await fresh();
        await rewrite(store, (es) =>
          es.map((e) =>
            e.seq === 4 ? { ...e, body: e.body.replace(/"totalMinor":(\d)/, '"totalMinor":9') } : e,
          ),
        );
        // The chain is consistent again, but the bill no longer matches its run's listing, and
        // the printed checkpoint (the last bill, after the edited one) no longer matches.
        expect(await ledger.verify()).toMatchObject({
          ok: false,
          reason: expect.stringMatching(/bill entry 4 differs|seal 6/),
        });
        expect((await ledger.verify(issued.checkpoint)).ok).toBe(false);
      });

      it('finding 6: a forger who also rewrites the run listing and re-signs with another key is refused', async () => {
        const { issued } = await fresh();
        const forger = await ephemeralKeyring().signer();
        const { billDigest, makeSeal, outputHash } = await import('./seal.js');
        await rewrite(store, (es) => {
          const bill = es[3]!;
          bill.body = bill.body.replace(/"totalMinor":(\d)/, '"totalMinor":9');
          const run = es[1]!;
          const body = JSON.parse(run.body);
          body.bills[1].sha256 = billDigest(JSON.parse(bill.body));
          body.outputHash = outputHash(body.solarHash, body.bills);
          run.body = JSON.stringify(body);
          return es;
        });
        // Now the chain and the listing agree; only the seal's signature (over the old head) is left.
        const broken = await ledger.verify();
        expect(broken).toMatchObject({ ok: false, reason: expect.stringMatching(/seal 6: the signature/) });
        // Re-sign the new head with a key of the forger's own: not the community's key.
        const entries = await ledger.entries();
        await rewrite(store, (es) => {
          const seal = JSON.parse(es[5]!.body) as SealBody;
          const head = entries[4]!;
          es[5]!.body = JSON.stringify(
            makeSeal(c0, '2026-10', seal.run, seal.bills, { seq: head.seq, hash: head.hash }, forger, START),
          );
          return es;
        });
        expect(await ledger.verify()).toMatchObject({
          ok: false,
          reason: expect.stringMatching(/not one of the community's keys/),
        });
        expect((await ledger.verify(issued.checkpoint)).ok).toBe(false);
      });

      it('seals a period billed before seals existed when it is issued again unchanged', async () => {
        const { c } = await fresh();
        // The shape written before this change: no seal, no bill listing, bills name their run as `checkpoint`.
        await rewrite(store, (es) =>
          es
            .filter((e) => e.kind !== 'seal')
            .map((e) => {
              const body = JSON.parse(e.body);
              if (e.kind === 'allocation_run') {
                delete body.bills;
                delete body.solarHash;
              }
              if (e.kind === 'bill_issued') {
                body.checkpoint = body.run;
                delete body.run;
              }
              return { ...e, body: canonicalJson(body) };
            }),
        );
        expect(await ledger.verify()).toMatchObject({ ok: true, seals: 0, unsealedRuns: 1 });
        const again = await issueBills(ledger, c, period, parseReadingsCsv(exampleCsv(START)));
        expect(again.status).toBe('unchanged');
        expect(again.checkpoint).toMatchObject({ seq: 5, signature: expect.any(String) });
        expect(await ledger.verify(again.checkpoint)).toMatchObject({ ok: true, seals: 1, unsealedRuns: 0 });
      });

      it('imports idempotently, and never changes an issued bill silently', async () => {
        const { c } = await fresh();
        const again = await issueBills(ledger, c, period, parseReadingsCsv(exampleCsv(START)));
        expect(again.status).toBe('unchanged');
        expect(again.checkpoint).toEqual(
          (await issueBills(ledger, c, period, parseReadingsCsv(exampleCsv(START)))).checkpoint,
        );
        expect((await ledger.entries()).length).toBe(6);
        const changed = exampleCsv(START).replace(/m-A,(\S+T10:00:00.000Z),1/, 'm-A,$1,1.5');
        await expect(issueBills(ledger, c, period, parseReadingsCsv(changed))).rejects.toThrow(
          /was billed .* correction/,
        );
        const corrected = await issueBills(ledger, c, period, parseReadingsCsv(changed), { correct: true });
        expect(corrected.status).toBe('corrected');
        const kinds = (await ledger.entries()).map((e) => e.kind).slice(6);
        expect(kinds).toEqual([
          'readings_accepted',
          'correction',
          'allocation_run',
          'bill_issued',
          'bill_issued',
          'bill_issued',
          'seal',
        ]);
        expect(JSON.parse((await ledger.entries())[7]!.body).reverses).toEqual([2, 3, 4, 5]);
        expect(await ledger.verify(corrected.checkpoint)).toMatchObject({ ok: true, seals: 2 });
      });
    },
  );
}
