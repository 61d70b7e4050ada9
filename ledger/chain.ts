import type { Db, Store } from '../store/index.js';
import { loadMigrations } from '../store/index.js';
import { canonicalJson, sha256 } from './canonical.js';
import { defaultKeyDir, KeyFolder, type Keyring, type PublicKeyInfo } from './keys.js';
import {
  billDigest,
  type Checkpoint,
  checkpointProblem,
  outputHash,
  type SealBody,
  type SignedCheckpoint,
} from './seal.js';

export type { Checkpoint, SignedCheckpoint } from './seal.js';

/**
 * The append-only ledger: every billing fact is an entry chained to the one before by
 * SHA-256 over (previous hash, seq, kind, community, canonical body). The database refuses
 * UPDATE, DELETE and TRUNCATE (trigger); `verify` recomputes the chain and names the first
 * entry that does not fit. Deleting the newest entries leaves a valid shorter chain: that is
 * caught by verifying against a checkpoint (the signed head printed on each bill, seal.ts).
 * Beyond the chain, `verify` checks every run's bills against the run's output hash and every
 * `seal`'s signature against the community's public keys (keys.ts).
 */
export type EntryKind = 'readings_accepted' | 'allocation_run' | 'bill_issued' | 'correction' | 'seal';

export interface Entry {
  seq: number;
  community: string;
  kind: EntryKind;
  body: string;
  prevHash: string;
  hash: string;
}

export type VerifyResult =
  | {
      ok: true;
      entries: number;
      head: Checkpoint | null;
      /** Seals whose signature was checked; runs issued before seals existed (not signed). */
      seals: number;
      unsealedRuns: number;
    }
  | { ok: false; entries: number; firstBroken: number; reason: string };

export interface VerifyOptions {
  /** A checkpoint printed on a bill (signed or just SEQ:HASH). */
  checkpoint?: Checkpoint | SignedCheckpoint;
  /** The community's public keys. Undefined: signatures are checked, but any key is accepted. */
  trusted?: readonly PublicKeyInfo[];
}

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
  private constructor(
    readonly db: Db,
    readonly keys: Keyring,
  ) {}

  /** `keys` defaults to the key folder of `defaultKeyDir()` (GRIDFLEX_LEDGER_KEYS or <GRIDFLEX_DATA>/ledger-keys). */
  static async open(store: Store, options: { keys?: Keyring } = {}): Promise<Ledger> {
    await store.migrate(await loadMigrations('ledger', new URL('./migrations/', import.meta.url)));
    return new Ledger(store.db, options.keys ?? new KeyFolder(defaultKeyDir()));
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

  /**
   * Recompute the whole chain, check bills against their runs and seals against the keys
   * (`trusted`, default: the keyring's); with a checkpoint, also prove nothing after it was cut off.
   */
  async verify(
    checkpoint?: Checkpoint | SignedCheckpoint,
    trusted?: readonly PublicKeyInfo[],
  ): Promise<VerifyResult> {
    return verifyEntries(await this.entries(), {
      checkpoint,
      trusted: trusted ?? (await this.keys.trusted()),
    });
  }
}

export function verifyEntries(
  entries: readonly Entry[],
  options: VerifyOptions | Checkpoint = {},
): VerifyResult {
  const { checkpoint, trusted } = 'seq' in options ? { checkpoint: options, trusted: undefined } : options;
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
    if ('signature' in checkpoint) {
      const problem = checkpointProblem(at.community, checkpoint, trusted);
      if (problem)
        return { ok: false, entries: entries.length, firstBroken: checkpoint.seq, reason: problem };
    }
  }
  const trust = verifyTrust(entries, trusted);
  if ('reason' in trust) return { ok: false, entries: entries.length, ...trust };
  const last = entries[entries.length - 1];
  return {
    ok: true,
    entries: entries.length,
    head: last ? { seq: last.seq, hash: last.hash } : null,
    ...trust,
  };
}

interface RunListing {
  solarHash?: string;
  outputHash: string;
  bills?: { id: string; sha256: string }[];
}

/**
 * Past the chain (which `verifyEntries` has checked): every run that lists its bills has
 * exactly those bills, unchanged, and they match its output hash; every such run is closed by
 * a seal; every seal covers an existing head and is signed by a trusted key.
 */
function verifyTrust(
  entries: readonly Entry[],
  trusted: readonly PublicKeyInfo[] | undefined,
): { seals: number; unsealedRuns: number } | { firstBroken: number; reason: string } {
  const runs = new Map<number, RunListing>();
  const billsOf = new Map<number, Entry[]>();
  const sealed = new Set<number>();
  let seals = 0;
  let unsealedRuns = 0;
  for (const e of entries) {
    if (e.kind === 'allocation_run') {
      runs.set(e.seq, JSON.parse(e.body) as RunListing);
      billsOf.set(e.seq, []);
    } else if (e.kind === 'bill_issued') {
      const body = JSON.parse(e.body) as { run?: Checkpoint; checkpoint?: Checkpoint };
      const ref = body.run ?? body.checkpoint;
      const list = ref && billsOf.get(ref.seq);
      if (!ref || !list || entries[ref.seq - 1]!.hash !== ref.hash)
        return { firstBroken: e.seq, reason: `bill entry ${e.seq} names no allocation run before it` };
      list.push(e);
    } else if (e.kind === 'seal') {
      const s = JSON.parse(e.body) as SealBody;
      const at = entries[s.covers.seq - 1];
      if (!at || s.covers.seq >= e.seq || at.hash !== s.covers.hash)
        return {
          firstBroken: e.seq,
          reason: `seal ${e.seq} does not match the entry it covers (${s.covers.seq})`,
        };
      const problem = checkpointProblem(e.community, { ...s.covers, ...s }, trusted);
      if (problem) return { firstBroken: e.seq, reason: `seal ${e.seq}: ${problem}` };
      for (const b of s.bills)
        if (b.seq > s.covers.seq || entries[b.seq - 1]?.hash !== b.hash)
          return {
            firstBroken: e.seq,
            reason: `seal ${e.seq} lists bill entry ${b.seq}, which is not there`,
          };
      sealed.add(s.run);
      seals++;
    }
  }
  for (const [seq, run] of runs) {
    const bills = billsOf.get(seq)!;
    if (!run.bills) {
      // Issued before runs listed their bills: only the chain protects these.
      if (!sealed.has(seq)) unsealedRuns++;
      continue;
    }
    const reason = (why: string) => ({ firstBroken: seq, reason: `allocation run ${seq}: ${why}` });
    if (bills.length !== run.bills.length)
      return reason(`it issued ${run.bills.length} bills; the ledger holds ${bills.length} of them`);
    for (const [i, e] of bills.entries())
      if (billDigest(JSON.parse(e.body)) !== run.bills[i]!.sha256)
        return reason(`bill entry ${e.seq} differs from the bill the run issued`);
    if (run.solarHash === undefined || outputHash(run.solarHash, run.bills) !== run.outputHash)
      return reason('its output hash does not match its bills');
    if (!sealed.has(seq)) return reason('its bills were never sealed (the signed checkpoint is missing)');
  }
  return { seals, unsealedRuns };
}
