import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** 32 random bytes, base64url: the value of a session cookie. */
export const newSessionSecret = () => randomBytes(32).toString('base64url');

/**
 * Session ids and token secrets are 256-bit random values, so a fast hash suffices to store
 * them (no dictionary to guess from); only the hash is kept in the database.
 */
export const sha256 = (text: string) => createHash('sha256').update(text).digest('base64url');

export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const TOKEN = /^gfx_([a-f0-9]{12})_([A-Za-z0-9_-]{43})$/;

/** `gfx_<id>_<secret>`: the id (12 hex) finds the row, the secret (32 bytes) proves possession. */
export function newApiToken(): { id: string; secret: string; token: string } {
  const id = randomBytes(6).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { id, secret, token: `gfx_${id}_${secret}` };
}

export function parseApiToken(token: string): { id: string; secret: string } | null {
  const m = TOKEN.exec(token);
  return m ? { id: m[1]!, secret: m[2]! } : null;
}
