import { describe, expect, it } from 'vitest';
import { LoginLimiter } from './rate-limit.js';

describe('LoginLimiter', () => {
  it('refuses a key after maxFailures within the window, until the oldest failure leaves it', () => {
    const l = new LoginLimiter(3, 60_000);
    const keys = ['ip:1', 'user:max'];
    for (const t of [0, 10_000, 20_000]) {
      expect(l.retryAfter(keys, t)).toBe(0);
      l.fail(keys, t);
    }
    expect(l.retryAfter(keys, 30_000)).toBe(30_000);
    expect(l.retryAfter(['ip:2', 'user:max'], 30_000)).toBe(30_000); // the username alone is limited
    expect(l.retryAfter(['ip:2', 'user:eve'], 30_000)).toBe(0);
    expect(l.retryAfter(keys, 60_001)).toBe(0);
  });

  it('forgets failures after a successful login', () => {
    const l = new LoginLimiter(2, 60_000);
    l.fail(['user:max'], 0);
    l.succeed(['user:max']);
    l.fail(['user:max'], 1);
    expect(l.retryAfter(['user:max'], 2)).toBe(0);
  });
});
