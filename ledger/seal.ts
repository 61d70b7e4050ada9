import { canonicalJson, sha256 } from './canonical.js';
import { keyIdOf, type PublicKeyInfo, type Signer, verifySignature } from './keys.js';

/**
 * Signed checkpoints. After a period's bills are appended, a `seal` entry signs the chain head
 * (the last bill) with the community's Ed25519 key. That head is the checkpoint printed on
 * every bill of the period, so it covers everything up to and including each of them; the
 * signature makes "recompute every hash after an edit" detectable without the key.
 *
 * The signed message is self-contained (community, head seq and hash, time, key id), so a
 * printed checkpoint can be checked against the public key printed beside it, with no ledger.
 */
export interface Checkpoint {
  seq: number;
  hash: string;
}

/** What a bill prints: the signed head that covers it, and the key that signed it. */
export interface SignedCheckpoint extends Checkpoint {
  signedAt: string;
  keyId: string;
  publicKey: string;
  signature: string;
}

export interface SealBody {
  period: string;
  /** The allocation run this seal closes. */
  run: number;
  /** The bill entries of that run, each with its hash. */
  bills: Checkpoint[];
  /** The chain head when the seal was made: the last bill entry of the run. */
  covers: Checkpoint;
  signedAt: string;
  keyId: string;
  publicKey: string;
  signature: string;
}

export function checkpointMessage(community: string, c: Checkpoint, signedAt: string, keyId: string): string {
  return `gridflex-ledger-checkpoint/1\n${community}\n${c.seq}\n${c.hash}\n${signedAt}\n${keyId}`;
}

export function makeSeal(
  community: string,
  period: string,
  run: number,
  bills: Checkpoint[],
  covers: Checkpoint,
  signer: Signer,
  nowMs: number,
): SealBody {
  const signedAt = new Date(nowMs).toISOString();
  return {
    period,
    run,
    bills,
    covers,
    signedAt,
    keyId: signer.keyId,
    publicKey: signer.publicKey,
    signature: signer.sign(checkpointMessage(community, covers, signedAt, signer.keyId)),
  };
}

export function printedCheckpoint(seal: SealBody): SignedCheckpoint {
  return {
    ...seal.covers,
    signedAt: seal.signedAt,
    keyId: seal.keyId,
    publicKey: seal.publicKey,
    signature: seal.signature,
  };
}

/**
 * Why a signed checkpoint cannot be trusted, or null when its signature is good and made by
 * one of `trusted` (the community's keys; undefined: only the signature itself is checked).
 */
export function checkpointProblem(
  community: string,
  c: SignedCheckpoint,
  trusted?: readonly PublicKeyInfo[],
): string | null {
  if (keyIdOf(c.publicKey) !== c.keyId) return `the key id ${c.keyId} does not belong to its public key`;
  if (!verifySignature(checkpointMessage(community, c, c.signedAt, c.keyId), c.signature, c.publicKey))
    return `the signature of checkpoint ${c.seq} does not match (signed by key ${c.keyId})`;
  if (trusted && !trusted.some((k) => k.publicKey === c.publicKey))
    return `checkpoint ${c.seq} is signed by key ${c.keyId}, which is not one of the community's keys`;
  return null;
}

/** The pure bill as listed in its run: SHA-256 of its canonical JSON, without the run reference. */
export function billDigest(bill: object): string {
  const { run: _run, checkpoint: _legacy, ...pure } = bill as Record<string, unknown>;
  return sha256(canonicalJson(pure));
}

/** The run's output hash over the solar allocation and every bill it issued. */
export function outputHash(solarHash: string, bills: readonly { id: string; sha256: string }[]): string {
  return sha256(canonicalJson({ solar: solarHash, bills }));
}

/** Where a bill's checkpoint is shown as text: `SEQ:HASH`, with the key id. */
export function checkpointCode(c: Checkpoint): string {
  return `${c.seq}:${c.hash}`;
}
