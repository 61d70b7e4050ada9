import type { Db, Store } from '../store/index.js';
import { loadMigrations } from '../store/index.js';
import { canonicalJson, sha256 } from './canonical.js';

/**
 * The append-only ledger: every billing fact is an entry chained to the one before by
 * SHA-256 over (previous hash, seq, kind, community, canonical body). The database refuses
 * UPDATE, DELETE and TRUNCATE (trigger); `verify` recomputes the chain and names the first
 * entry that does not fit. Deleting the newest entries leaves a valid shorter chain: that is
 * caught by verifying against a checkpoint (the head printed on each bill).
 */
export type EntryKind = 'readings_accepted' | 'allocation_run' | 'bill_issued' | 'correction';

export interface Entry {
  seq: number;
  community: string;
  kind: EntryKind;
  body: string;
  prevHash: string;
  hash: string;
}

export interface Checkpoint {
  seq: number;
  hash: string;
}

export type VerifyResult =
  | { ok: true; entries: number; head: Checkpoint | null }
  | { ok: false; entries: number; firstBroken: number; reason: string };

export const GENESIS = '0'.repeat(64);

export function entryHash(
  prevHash: string,
  seq: number,
  kind: string,
  community: string,
  body: string,
): string {
  return sha256(`${prevHash}\n${seq}\n${kind}\n${community}\n${body}`);
}

interface Row {
  seq: string | number;
  community: string;
  kind: EntryKind;
  body: string;
  prev_hash: string;
  hash: string;
}
const toEntry = (r: Row): Entry => ({
  seq: Number(r.seq),
  community: r.community,
  kind: r.kind,
  body: r.body,
  prevHash: r.prev_hash,
  hash: r.hash,
});

export class Ledger {
  private constructor(readonly db: Db) {}

  static async open(store: Store): Promise<Ledger> {
    await store.migrate(await loadMigrations('ledger', new URL('./migrations/', import.meta.url)));
    return new Ledger(store.db);
  }

  /** Append one entry inside `tx` (or its own transaction); the table lock serialises writers. */
  async append(community: string, kind: EntryKind, body: unknown, tx?: Db): Promise<Entry> {
    const run = async (db: Db) => {
      if (db.backend === 'postgres') await db.query('LOCK TABLE ledger_entries IN EXCLUSIVE MODE');
      const last = await db.query<Row>('SELECT seq, hash FROM ledger_entries ORDER BY seq DESC LIMIT 1');
      const prevHash = last.rows[0]?.hash ?? GENESIS;
      const seq = Number(last.rows[0]?.seq ?? 0) + 1;
      const text = canonicalJson(body);
      const hash = entryHash(prevHash, seq, kind, community, text);
      await db.query(
        'INSERT INTO ledger_entries (seq, community, kind, body, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6)',
        [seq, community, kind, text, prevHash, hash],
      );
      return { seq, community, kind, body: text, prevHash, hash };
    };
    return tx ? run(tx) : this.db.transaction(run);
  }

  async head(db: Db = this.db): Promise<Checkpoint | null> {
    const r = await db.query<Row>('SELECT seq, hash FROM ledger_entries ORDER BY seq DESC LIMIT 1');
    return r.rows[0] ? { seq: Number(r.rows[0].seq), hash: r.rows[0].hash } : null;
  }

  async entries(community?: string, db: Db = this.db): Promise<Entry[]> {
    const r = community
      ? await db.query<Row>('SELECT * FROM ledger_entries WHERE community = $1 ORDER BY seq', [community])
      : await db.query<Row>('SELECT * FROM ledger_entries ORDER BY seq');
    return r.rows.map(toEntry);
  }

  /** Recompute the whole chain; with a checkpoint, also prove nothing after it was cut off. */
  async verify(checkpoint?: Checkpoint): Promise<VerifyResult> {
    return verifyEntries(await this.entries(), checkpoint);
  }
}

export function verifyEntries(entries: readonly Entry[], checkpoint?: Checkpoint): VerifyResult {
  let prev = GENESIS;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const broken = (reason: string): VerifyResult => ({
      ok: false,
      entries: entries.length,
      firstBroken: i + 1,
      reason,
    });
    if (e.seq !== i + 1) return broken(`entry ${i + 1} is missing (the next stored entry is ${e.seq})`);
    if (e.prevHash !== prev)
      return broken(`entry ${e.seq} does not follow entry ${i}: its previous hash differs`);
    if (entryHash(prev, e.seq, e.kind, e.community, e.body) !== e.hash)
      return broken(`entry ${e.seq} (${e.kind}) was changed: its content does not match its hash`);
    prev = e.hash;
  }
  if (checkpoint) {
    const at = entries[checkpoint.seq - 1];
    if (!at || at.hash !== checkpoint.hash)
      return {
        ok: false,
        entries: entries.length,
        firstBroken: Math.min(checkpoint.seq, entries.length + 1),
        reason: at
          ? `entry ${checkpoint.seq} does not match the checkpoint printed on a bill`
          : `entry ${checkpoint.seq} of the checkpoint is gone: the ledger was cut short`,
      };
  }
  const last = entries[entries.length - 1];
  return { ok: true, entries: entries.length, head: last ? { seq: last.seq, hash: last.hash } : null };
}
