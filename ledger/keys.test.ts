import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KeyFolder, keyIdOf, verifySignature } from './keys.js';
import { checkpointProblem, makeSeal, printedCheckpoint } from './seal.js';

const dirs: string[] = [];
const folder = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gfx-ledger-keys-'));
  dirs.push(dir);
  return dir;
};
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('the community signing key', () => {
  it('is created once on first use, private (0600), and its public key is published', async () => {
    const dir = await folder();
    const [a, b] = await Promise.all([new KeyFolder(dir).signer(), new KeyFolder(dir).signer()]);
    expect(a.keyId).toBe(b.keyId);
    expect((await stat(join(dir, 'signing-key.pem'))).mode & 0o777).toBe(0o600);
    expect(await new KeyFolder(dir).trusted()).toEqual([{ keyId: a.keyId, publicKey: a.publicKey }]);
    expect(keyIdOf(a.publicKey)).toBe(a.keyId);
    expect((await readFile(join(dir, 'public', `${a.keyId}.pub`), 'utf8')).trim()).toBe(a.publicKey);
    const sig = a.sign('hello');
    expect(verifySignature('hello', sig, a.publicKey)).toBe(true);
    expect(verifySignature('hellO', sig, a.publicKey)).toBe(false);
  });

  it('rotates: new checkpoints use the new key, old ones still verify', async () => {
    const dir = await folder();
    const keys = new KeyFolder(dir);
    const old = await keys.signer();
    const seal = makeSeal('c', '2026-10', 2, [], { seq: 5, hash: 'a'.repeat(64) }, old, 0);
    const fresh = await keys.rotate();
    expect(fresh.keyId).not.toBe(old.keyId);
    expect((await keys.signer()).keyId).toBe(fresh.keyId);
    const trusted = await keys.trusted();
    expect(trusted.map((k) => k.keyId).sort()).toEqual([old.keyId, fresh.keyId].sort());
    expect(checkpointProblem('c', printedCheckpoint(seal), trusted)).toBeNull();
    // Another community's name, another hash, or a key not in the folder: refused.
    expect(checkpointProblem('d', printedCheckpoint(seal), trusted)).toMatch(/signature/);
    expect(checkpointProblem('c', { ...printedCheckpoint(seal), hash: 'b'.repeat(64) }, trusted)).toMatch(
      /signature/,
    );
    expect(
      checkpointProblem('c', printedCheckpoint(seal), [trusted.find((k) => k.keyId === fresh.keyId)!]),
    ).toMatch(/not one of the community's keys/);
  });
});
