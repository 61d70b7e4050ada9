import { describe, expect, it } from 'vitest';
import { checkCounter, isFrozen, scaleValue, shouldPublish } from './quality.js';

describe('checkCounter', () => {
  const h = 3_600_000;
  it('accepts a rising counter', () => {
    expect(checkCounter({ value: 1000, ts: 0 }, { value: 1500, ts: h })).toEqual({ quality: 'good' });
    expect(checkCounter(undefined, { value: 5, ts: 0 }).quality).toBe('good');
  });
  it('flags a counter going backwards as a reset', () => {
    const c = checkCounter({ value: 1000, ts: 0 }, { value: 10, ts: h });
    expect(c.quality).toBe('uncertain');
    expect(c.reason).toMatch(/reset/);
  });
  it('tells a rollover from a reset', () => {
    const c = checkCounter(
      { value: 4_294_967_000, ts: 0 },
      { value: 200, ts: h },
      { rolloverAt: 4_294_967_296 },
    );
    expect(c.reason).toMatch(/rolled over/);
  });
  it('flags a spike above the plausible power', () => {
    expect(checkCounter({ value: 0, ts: 0 }, { value: 10_000, ts: h }, { maxPowerW: 20_000 }).quality).toBe(
      'good',
    );
    expect(checkCounter({ value: 0, ts: 0 }, { value: 100_000, ts: h }, { maxPowerW: 20_000 }).quality).toBe(
      'uncertain',
    );
  });
});

describe('shouldPublish', () => {
  const p = (value: number | null, ts: number, quality: 'good' | 'bad' = 'good') => ({ value, ts, quality });
  it('drops changes within the deadband and re-sends after maxSilence', () => {
    expect(shouldPublish(p(100, 0), p(104, 1000), 5, 60_000)).toBe(false);
    expect(shouldPublish(p(100, 0), p(106, 1000), 5, 60_000)).toBe(true);
    expect(shouldPublish(p(100, 0), p(100, 60_000), 5, 60_000)).toBe(true);
  });
  it('always publishes quality changes and with deadband 0', () => {
    expect(shouldPublish(p(100, 0), p(null, 1, 'bad'), 5, 60_000)).toBe(true);
    expect(shouldPublish(p(100, 0), p(100, 1), 0, 60_000)).toBe(true);
  });
});

describe('isFrozen and scaleValue', () => {
  it('flags values unchanged past staleAfter', () => {
    expect(isFrozen(0, 59_999, 60_000)).toBe(false);
    expect(isFrozen(0, 60_000, 60_000)).toBe(true);
    expect(isFrozen(0, 1e9, undefined)).toBe(false);
  });
  it('scales decimals exactly', () => {
    expect(scaleValue(2301, 0.1, 0)).toBe(230.1);
    expect(scaleValue(-12345, 0.001, 0)).toBe(-12.345);
    expect(scaleValue(123, 100, 0)).toBe(12300);
    expect(scaleValue(10, 2, -5)).toBe(15);
  });
});
