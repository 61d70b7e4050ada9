import { ValidationError } from '../../model/index.js';
import { OPT_ERRORS } from '../errors.js';
import type { SpotPrice } from './spot.js';

/**
 * Day-ahead prices from a plain CSV (an exchange's or a supplier's export). Pure.
 *
 * - A header row names the columns: `start` (ISO 8601 with an offset or Z: a local time
 *   without one is ambiguous on the clock-change night and refused), optional `end`, and one
 *   price column whose name ends in `per_mwh` or `per_kwh` (e.g. `price_eur_per_mwh`).
 * - Without `end`, an interval ends where the next row starts; the last row keeps the step
 *   before it.
 * - `,` separates fields, or `;` (then `,` may be the decimal mark, as in German exports).
 * - Errors name the line and column: `line 4, start: expected … got "2026-10-25 02:00"`.
 */
export function parsePriceCsv(text: string, options: { currency: string; zone?: string }): SpotPrice[] {
  const lines = text.split(/\r?\n/);
  const fail = (path: string, message: string): never => {
    throw new ValidationError('price CSV is invalid', [{ path, message, code: 'custom' }], OPT_ERRORS.tariff);
  };
  const headerLine = lines[0]?.trim() ?? '';
  if (headerLine === '') fail('line 1', 'missing header row (start, price_…_per_mwh or price_…_per_kwh)');
  const sep = headerLine.includes(';') ? ';' : ',';
  const header = headerLine.split(sep).map((h) => h.trim().toLowerCase());
  const startCol = header.indexOf('start');
  if (startCol < 0) fail('line 1', `no "start" column (got ${header.join(', ')})`);
  const endCol = header.indexOf('end');
  const priceCol = header.findIndex((h) => h.endsWith('per_mwh') || h.endsWith('per_kwh'));
  if (priceCol < 0) fail('line 1', `no price column ending in per_mwh or per_kwh (got ${header.join(', ')})`);
  const priceName = header[priceCol]!;
  const divisor = priceName.endsWith('per_mwh') ? 1000 : 1;

  const time = (cell: string | undefined, at: string, col: string): number => {
    const s = (cell ?? '').trim();
    const ms = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/.test(s)
      ? Date.parse(s)
      : Number.NaN;
    if (!Number.isFinite(ms))
      fail(
        `${at}, ${col}`,
        `expected an ISO 8601 time with an offset such as 2026-10-25T02:00+01:00, got "${s}"`,
      );
    return ms;
  };

  const rows: { line: number; start: number; end?: number; perKwh: number }[] = [];
  lines.slice(1).forEach((raw, i) => {
    if (raw.trim() === '') return;
    const at = `line ${i + 2}`;
    const cells = raw.split(sep);
    const start = time(cells[startCol], at, 'start');
    const cell = (cells[priceCol] ?? '').trim();
    const v = Number(sep === ';' ? cell.replace(',', '.') : cell);
    if (cell === '' || !Number.isFinite(v)) fail(`${at}, ${priceName}`, `expected a number, got "${cell}"`);
    const end = endCol >= 0 ? time(cells[endCol], at, 'end') : undefined;
    if (end !== undefined && end <= start) fail(`${at}, end`, 'must be after start');
    const prev = rows.at(-1);
    if (prev && start <= prev.start) fail(`${at}, start`, `must be after line ${prev.line}'s start`);
    rows.push({ line: i + 2, start, ...(end === undefined ? {} : { end }), perKwh: v / divisor });
  });
  if (rows.length === 0) fail('line 2', 'no prices');

  return rows.map((r, i) => {
    const next = rows[i + 1];
    const prev = rows[i - 1];
    const end = r.end ?? next?.start ?? (prev ? r.start + (r.start - prev.start) : undefined);
    return {
      startMs: r.start,
      endMs: end ?? fail(`line ${r.line}, end`, 'a single row needs an end column'),
      perKwh: r.perKwh,
      currency: options.currency,
      ...(options.zone === undefined ? {} : { zone: options.zone }),
    };
  });
}
