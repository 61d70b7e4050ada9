import { createHash } from 'node:crypto';
import { GridflexError } from '../model/index.js';
import { LEDGER_ERRORS } from './errors.js';

/**
 * Canonical JSON, the RFC 8785 (JCS) subset the ledger needs: object keys sorted by UTF-16 code
 * units, no whitespace, strings as JSON.stringify writes them, integers only (a non-integer or
 * unsafe number is refused, bigints are written as decimal strings), `undefined` members left
 * out. Any verifier that sorts keys and writes integers gets the same bytes.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'bigint':
      return JSON.stringify(value.toString());
    case 'number':
      if (!Number.isSafeInteger(value))
        throw new GridflexError(LEDGER_ERRORS.CANONICAL, `canonical JSON holds integers only, not ${value}`);
      return String(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`;
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
    }
    default:
      throw new GridflexError(LEDGER_ERRORS.CANONICAL, `canonical JSON cannot hold a ${typeof value}`);
  }
}

export const sha256 = (text: string | Uint8Array): string => createHash('sha256').update(text).digest('hex');
