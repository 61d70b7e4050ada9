import { describe, expect, it } from 'vitest';
import { LoginThrottle } from './rate-limit.js';

const settings = { maxPerPair: 3, maxPerAddress: 10, windowMs: 15 * 60_000, backoffMs: 60_000 };

describe('LoginThrottle', () => {
  it('counts an attempt in the same step as the check, so the fourth of four at once waits', () => {
    const t = new LoginThrottle(settings);
    const waits = [0, 0, 0, 0].map(() => t.attempt('max', '10.0.0.1', 1000));
    expect(waits).toEqual([0, 0, 0, 60_000]);
  });

  it('makes only the (user, address) pair wait, doubling with each failure after the wait', () => {
    const t = new LoginThrottle(settings);
    for (let i = 0; i < 3; i++) t.attempt('rita', 'stranger', i);
    expect(t.attempt('rita', 'stranger', 10)).toBeGreaterThan(59_000);
    expect(t.attempt('rita', 'home', 10)).toBe(0); // the resident is not locked out
    expect(t.attempt('rita', 'stranger', 60_003)).toBe(0); // back-off over: one more try
    expect(t.attempt('rita', 'stranger', 60_004)).toBe(120_000 - 1);
  });

  it('limits an address across usernames within the window', () => {
    const t = new LoginThrottle({ ...settings, maxPerAddress: 2 });
    expect(t.attempt('u1', 'nat', 0)).toBe(0);
    expect(t.attempt('u2', 'nat', 1)).toBe(0);
    expect(t.attempt('u3', 'nat', 2)).toBe(15 * 60_000 - 2);
    expect(t.attempt('u3', 'other', 2)).toBe(0);
  });

  it('takes back the attempt and forgets the pair after a right password', () => {
    const t = new LoginThrottle(settings);
    t.attempt('max', 'a', 0);
    t.attempt('max', 'a', 1);
    t.attempt('max', 'a', 2);
    t.succeed('max', 'a', 2);
    expect(t.attempt('max', 'a', 3)).toBe(0);
  });
});
