import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { chmod, link, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { GridflexError } from '../model/index.js';
import { sha256 } from './canonical.js';
import { LEDGER_KEY } from './errors.js';

/**
 * The community's signing key for ledger checkpoints (Ed25519, node:crypto). It lives outside
 * the database on purpose: someone who can rewrite the ledger table (a database owner, a
 * restored backup) can recompute every hash, but cannot sign the new head without this file.
 *
 * Folder layout (default `<GRIDFLEX_DATA or ./data>/ledger-keys`, or `GRIDFLEX_LEDGER_KEYS`):
 * - `signing-key.pem`: the private key (PKCS#8, mode 0600), created on the first issue;
 * - `public/<keyId>.pub`: every public key this community ever signed with (raw 32 bytes,
 *   base64url), so checkpoints signed before a rotation still verify.
 * `rotate()` writes a new signing key and keeps the old public key; the old private key is
 * deleted. A key id is the first 16 hex digits of SHA-256 over the raw public key.
 */
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export interface PublicKeyInfo {
  keyId: string;
  /** Raw Ed25519 public key, base64url (43 characters): what a bill prints. */
  publicKey: string;
}

export function publicKeyInfo(key: KeyObject): PublicKeyInfo {
  const der = key.export({ format: 'der', type: 'spki' });
  const raw = der.subarray(der.length - 32);
  return { keyId: keyIdOf(raw.toString('base64url')), publicKey: raw.toString('base64url') };
}

export function keyIdOf(publicKey: string): string {
  return sha256(Buffer.from(publicKey, 'base64url')).slice(0, 16);
}

function importPublic(publicKey: string): KeyObject | null {
  const raw = Buffer.from(publicKey, 'base64url');
  if (raw.length !== 32) return null;
  try {
    return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
  } catch {
    return null;
  }
}

/** Check a signature made by `signWith`; false for a malformed key or signature. */
export function verifySignature(message: string, signature: string, publicKey: string): boolean {
  const key = importPublic(publicKey);
  if (!key) return false;
  const sig = Buffer.from(signature, 'base64url');
  if (sig.length !== 64) return false;
  return verify(null, Buffer.from(message), key, sig);
}

export interface Signer extends PublicKeyInfo {
  sign(message: string): string;
}

export function signerOf(privateKey: KeyObject): Signer {
  const info = publicKeyInfo(createPublicKey(privateKey));
  return { ...info, sign: (message) => sign(null, Buffer.from(message), privateKey).toString('base64url') };
}

/** A key that lives only in memory (tests, one-off checks): nothing is written. */
export function ephemeralKeyring(): Keyring {
  const { privateKey } = generateKeyPairSync('ed25519');
  const signer = signerOf(privateKey);
  return {
    dir: null,
    signer: async () => signer,
    trusted: async () => [{ keyId: signer.keyId, publicKey: signer.publicKey }],
  };
}

export interface Keyring {
  /** The folder, or null for an in-memory keyring. */
  readonly dir: string | null;
  /** The current signing key, created in the folder when there is none yet. */
  signer(): Promise<Signer>;
  /** Every public key the community signed with (current and retired). */
  trusted(): Promise<PublicKeyInfo[]>;
}

/** The key folder of a data folder: `GRIDFLEX_LEDGER_KEYS` when set, else `<dataDir>/ledger-keys`. */
export function ledgerKeyDir(dataDir: string, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.GRIDFLEX_LEDGER_KEYS ?? join(dataDir, 'ledger-keys'));
}

/** Without a data folder given: `GRIDFLEX_LEDGER_KEYS`, else `<GRIDFLEX_DATA or ./data>/ledger-keys`. */
export function defaultKeyDir(env: NodeJS.ProcessEnv = process.env): string {
  return ledgerKeyDir(env.GRIDFLEX_DATA ?? './data', env);
}

export class KeyFolder implements Keyring {
  private cached: Signer | undefined;
  constructor(readonly dir: string) {}

  private get keyFile(): string {
    return join(this.dir, 'signing-key.pem');
  }

  async signer(): Promise<Signer> {
    if (this.cached) return this.cached;
    let pem: string;
    try {
      pem = await readFile(this.keyFile, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw keyError(this.keyFile, err);
      pem = await this.create();
    }
    try {
      this.cached = signerOf(createPrivateKey(pem));
    } catch (err) {
      throw keyError(this.keyFile, err);
    }
    await this.publish(this.cached);
    return this.cached;
  }

  /** First issue: a new key. Written beside and hard-linked into place, so two processes starting together agree on one key. */
  private async create(): Promise<string> {
    await mkdir(join(this.dir, 'public'), { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const tmp = `${this.keyFile}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, pem, { mode: 0o600 });
    try {
      await link(tmp, this.keyFile);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw keyError(this.keyFile, err);
    } finally {
      await rm(tmp, { force: true });
    }
    return readFile(this.keyFile, 'utf8');
  }

  private async publish(s: PublicKeyInfo): Promise<void> {
    await mkdir(join(this.dir, 'public'), { recursive: true });
    const file = join(this.dir, 'public', `${s.keyId}.pub`);
    await writeFile(file, `${s.publicKey}\n`, { flag: 'wx' }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw keyError(file, err);
    });
  }

  async trusted(): Promise<PublicKeyInfo[]> {
    let names: string[];
    try {
      names = await readdir(join(this.dir, 'public'));
    } catch {
      names = [];
    }
    const out: PublicKeyInfo[] = [];
    for (const n of names.filter((x) => x.endsWith('.pub')).sort()) {
      const publicKey = (await readFile(join(this.dir, 'public', n), 'utf8')).trim();
      // A public file whose name is not its key's id was not written by us: ignore it.
      if (importPublic(publicKey) && `${keyIdOf(publicKey)}.pub` === n)
        out.push({ keyId: keyIdOf(publicKey), publicKey });
    }
    return out;
  }

  /** A new signing key; the old public key stays trusted for checkpoints it signed. */
  async rotate(): Promise<Signer> {
    await this.signer();
    const { privateKey } = generateKeyPairSync('ed25519');
    const tmp = `${this.keyFile}.rotate.tmp`;
    await writeFile(tmp, privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, this.keyFile);
    this.cached = undefined;
    return this.signer();
  }
}

function keyError(file: string, cause: unknown): GridflexError {
  return new GridflexError(LEDGER_KEY, `the ledger signing key ${file} cannot be read or created`, {
    kind: 'internal',
    cause,
  });
}
