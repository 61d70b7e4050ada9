import { describe, expect, it } from 'vitest';
import { hashPassword, SCRYPT, verifyPassword } from './passwords.js';

describe('password hashing', () => {
  it('stores scrypt parameters and a per-user salt, and verifies only the right password', async () => {
    const a = await hashPassword('correct horse');
    const b = await hashPassword('correct horse');
    expect(a).toMatch(
      new RegExp(`^scrypt\\$${SCRYPT.N}\\$${SCRYPT.r}\\$${SCRYPT.p}\\$[\\w-]{22}\\$[\\w-]{43}$`),
    );
    expect(a).not.toBe(b);
    expect(await verifyPassword('correct horse', a)).toBe(true);
    expect(await verifyPassword('correct horse', b)).toBe(true);
    expect(await verifyPassword('correct hors', a)).toBe(false);
    expect(await verifyPassword('', a)).toBe(false);
  });

  it('treats composed and decomposed umlauts as the same password (NFC)', async () => {
    const hash = await hashPassword('Grüezi');
    expect(await verifyPassword('Gru\u0308ezi', hash)).toBe(true);
  });

  it.each(['', 'plain', 'scrypt$0$8$1$abc$def', 'bcrypt$1$2$3$4$5'])(
    'never matches a malformed hash %j',
    async (h) => {
      expect(await verifyPassword('x', h)).toBe(false);
    },
  );
});
