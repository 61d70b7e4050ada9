import { GridflexError } from '../model/index.js';
import { LEDGER_ERRORS } from './errors.js';

/**
 * Exact decimal strings ↔ scaled integers. Prices and energies never pass through floating
 * point: "0.2805" CHF/kWh at scale 6 is 280500 micro-CHF/kWh, "1.25" kWh at scale 6 is
 * 1250000 mWh.
 */
export function parseScaled(text: string, scale: number, what: string): bigint {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!m)
    throw new GridflexError(LEDGER_ERRORS.NUMBER, `${what}: "${text}" is not a decimal number`, {
      kind: 'input',
    });
  const frac = m[3] ?? '';
  if (frac.length > scale && /[1-9]/.test(frac.slice(scale)))
    throw new GridflexError(LEDGER_ERRORS.NUMBER, `${what}: "${text}" has more than ${scale} decimals`, {
      kind: 'input',
    });
  const digits = `${m[2]}${frac.slice(0, scale).padEnd(scale, '0')}`;
  const v = BigInt(digits);
  return m[1] === '-' ? -v : v;
}

/** `value / 10^scale` as a decimal string with exactly `decimals` digits (truncating only zeros). */
export function formatScaled(value: bigint | number, scale: number, decimals = scale): string {
  let v = BigInt(value);
  const neg = v < 0n;
  if (neg) v = -v;
  const s = v.toString().padStart(scale + 1, '0');
  const int = s.slice(0, s.length - scale);
  let frac = s.slice(s.length - scale);
  frac = decimals >= scale ? frac.padEnd(decimals, '0') : frac.slice(0, decimals);
  return `${neg ? '-' : ''}${int}${decimals > 0 ? `.${frac}` : ''}`;
}

/** mWh → "12.345678" kWh. */
export const kwh = (mWh: number | bigint, decimals = 3): string => {
  // Display rounding (half up) of a non-negative quantity; stored values stay exact.
  const scale = 6;
  if (decimals >= scale) return formatScaled(mWh, scale, decimals);
  const step = 10n ** BigInt(scale - decimals);
  const v = BigInt(mWh);
  const rounded = ((v + step / 2n) / step) * step;
  return formatScaled(rounded, scale, decimals);
};

/** Minor units → "12.34" (two-decimal currencies: CHF, EUR). */
export const money = (minor: number | bigint): string => formatScaled(minor, 2, 2);
