import type { ModbusFunction } from './register-map.js';
import { isBitTable } from './register-map.js';

/** One value to fetch: `count` registers (or bits) from `address` in table `function`. */
export interface ReadItem<K = string> {
  key: K;
  function: ModbusFunction;
  address: number;
  count: number;
}

/** One Modbus read request and the items it carries. */
export interface ReadRequest<K = string> {
  function: ModbusFunction;
  address: number;
  count: number;
  items: ReadItem<K>[];
}

export interface PlanOptions {
  /** Largest register read (protocol limit 125). */
  maxRegisters: number;
  /** Largest coil/discrete read (protocol limit 2000). Default 2000. */
  maxBits?: number;
  /** Largest hole of unrequested addresses one read may bridge. */
  maxGap: number;
  /** Ranges the device must never be asked for (a bridge over them would fail the whole read). */
  forbidden?: readonly { function?: ModbusFunction | undefined; from: number; to: number }[];
}

const TABLE_ORDER: ModbusFunction[] = ['coil', 'discrete', 'input', 'holding'];

/**
 * Merge a device's reads into as few requests as possible. Items are sorted per table; an
 * item joins the current request when the hole before it is at most `maxGap`, the hole
 * touches no forbidden address, and the request stays within the size limit. Overlapping and
 * duplicate items share registers. Pure: the same items always give the same plan.
 */
export function planReads<K>(items: readonly ReadItem<K>[], options: PlanOptions): ReadRequest<K>[] {
  const out: ReadRequest<K>[] = [];
  for (const fn of TABLE_ORDER) {
    const max = isBitTable(fn) ? (options.maxBits ?? 2000) : options.maxRegisters;
    const forbidden = (options.forbidden ?? []).filter((f) => f.function === undefined || f.function === fn);
    const sorted = items
      .filter((i) => i.function === fn)
      .sort((a, b) => a.address - b.address || b.count - a.count);
    let cur: ReadRequest<K> | null = null;
    for (const item of sorted) {
      if (cur) {
        const end = cur.address + cur.count; // first address after the request
        const itemEnd = item.address + item.count;
        const gap = item.address - end;
        const span = Math.max(end, itemEnd) - cur.address;
        const bridgesForbidden = gap > 0 && forbidden.some((f) => f.from < item.address && f.to >= end);
        if (gap <= options.maxGap && span <= max && !bridgesForbidden) {
          cur.count = span;
          cur.items.push(item);
          continue;
        }
      }
      cur = { function: fn, address: item.address, count: item.count, items: [item] };
      out.push(cur);
    }
  }
  return out;
}

/** The registers (or bits) of `item` inside the data returned for `request`. */
export function sliceItem<T>(
  request: ReadRequest<unknown>,
  data: readonly T[],
  item: ReadItem<unknown>,
): T[] {
  const start = item.address - request.address;
  return data.slice(start, start + item.count);
}
