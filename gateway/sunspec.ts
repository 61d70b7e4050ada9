import type { InvalidMarker, RegisterType } from './decode.js';
import type { ModbusFunction, Register } from './register-map.js';

/** SunSpec register maps start with "SunS" (0x5375 0x6E53) at one of these wire addresses. */
export const SUNSPEC_BASES = [40000, 0, 50000] as const;
export const SUNS_MARKER = [0x5375, 0x6e53] as const;
const END_ID = 0xffff;

interface SunSpecPointDef {
  /** Offset from the model's ID register (offset 0 = ID, 1 = L, body from 2). */
  offset: number;
  type: RegisterType;
  /** Offset of the int16 scale factor in the same model. */
  sf?: number;
  unit: string;
  /** Extra factor into the canonical unit (e.g. percent → ratio). */
  scale?: number;
  acc?: boolean;
  writable?: boolean;
}

type ModelDef = { name: string; points: Record<string, SunSpecPointDef> };

const inverter = (name: string): ModelDef => ({
  name,
  points: {
    A: { offset: 2, type: 'uint16', sf: 6, unit: 'A' },
    AphA: { offset: 3, type: 'uint16', sf: 6, unit: 'A' },
    AphB: { offset: 4, type: 'uint16', sf: 6, unit: 'A' },
    AphC: { offset: 5, type: 'uint16', sf: 6, unit: 'A' },
    PhVphA: { offset: 10, type: 'uint16', sf: 13, unit: 'V' },
    PhVphB: { offset: 11, type: 'uint16', sf: 13, unit: 'V' },
    PhVphC: { offset: 12, type: 'uint16', sf: 13, unit: 'V' },
    W: { offset: 14, type: 'int16', sf: 15, unit: 'W' },
    Hz: { offset: 16, type: 'uint16', sf: 17, unit: 'Hz' },
    VA: { offset: 18, type: 'int16', sf: 19, unit: 'VA' },
    VAr: { offset: 20, type: 'int16', sf: 21, unit: 'var' },
    // SunSpec PF is in percent [unverified for every vendor]; points store a ratio.
    PF: { offset: 22, type: 'int16', sf: 23, unit: 'ratio', scale: 0.01 },
    WH: { offset: 24, type: 'uint32', sf: 26, unit: 'Wh', acc: true },
    DCA: { offset: 27, type: 'uint16', sf: 28, unit: 'A' },
    DCV: { offset: 29, type: 'uint16', sf: 30, unit: 'V' },
    DCW: { offset: 31, type: 'int16', sf: 32, unit: 'W' },
    TmpCab: { offset: 33, type: 'int16', sf: 37, unit: 'degC' },
    St: { offset: 38, type: 'uint16', unit: '' },
  },
});

const meterInt = (name: string): ModelDef => ({
  name,
  points: {
    A: { offset: 2, type: 'int16', sf: 6, unit: 'A' },
    AphA: { offset: 3, type: 'int16', sf: 6, unit: 'A' },
    AphB: { offset: 4, type: 'int16', sf: 6, unit: 'A' },
    AphC: { offset: 5, type: 'int16', sf: 6, unit: 'A' },
    PhV: { offset: 7, type: 'int16', sf: 15, unit: 'V' },
    PhVphA: { offset: 8, type: 'int16', sf: 15, unit: 'V' },
    PhVphB: { offset: 9, type: 'int16', sf: 15, unit: 'V' },
    PhVphC: { offset: 10, type: 'int16', sf: 15, unit: 'V' },
    Hz: { offset: 16, type: 'int16', sf: 17, unit: 'Hz' },
    W: { offset: 18, type: 'int16', sf: 22, unit: 'W' },
    WphA: { offset: 19, type: 'int16', sf: 22, unit: 'W' },
    WphB: { offset: 20, type: 'int16', sf: 22, unit: 'W' },
    WphC: { offset: 21, type: 'int16', sf: 22, unit: 'W' },
    VA: { offset: 23, type: 'int16', sf: 27, unit: 'VA' },
    VAR: { offset: 28, type: 'int16', sf: 32, unit: 'var' },
    PF: { offset: 33, type: 'int16', sf: 37, unit: 'ratio', scale: 0.01 },
    TotWhExp: { offset: 38, type: 'uint32', sf: 54, unit: 'Wh', acc: true },
    TotWhImp: { offset: 46, type: 'uint32', sf: 54, unit: 'Wh', acc: true },
  },
});

const meterFloat = (name: string): ModelDef => ({
  name,
  points: {
    A: { offset: 2, type: 'float32', unit: 'A' },
    PhV: { offset: 10, type: 'float32', unit: 'V' },
    PhVphA: { offset: 12, type: 'float32', unit: 'V' },
    Hz: { offset: 26, type: 'float32', unit: 'Hz' },
    W: { offset: 28, type: 'float32', unit: 'W' },
    WphA: { offset: 30, type: 'float32', unit: 'W' },
    VA: { offset: 36, type: 'float32', unit: 'VA' },
    VAR: { offset: 44, type: 'float32', unit: 'var' },
    PF: { offset: 52, type: 'float32', unit: 'ratio', scale: 0.01 },
    TotWhExp: { offset: 60, type: 'float32', unit: 'Wh' },
    TotWhImp: { offset: 68, type: 'float32', unit: 'Wh' },
  },
});

/**
 * The SunSpec models Gridflex understands, with point offsets computed from sunspec/models
 * (see shared reference devices.md). Models 123, 124 and 802 are partial [unverified types].
 */
export const SUNSPEC_MODELS: Readonly<Record<number, ModelDef>> = {
  1: { name: 'common', points: { DA: { offset: 66, type: 'uint16', unit: '' } } },
  101: inverter('inverter, single phase'),
  102: inverter('inverter, split phase'),
  103: inverter('inverter, three phase'),
  201: meterInt('meter, single phase'),
  202: meterInt('meter, split phase'),
  203: meterInt('meter, wye'),
  204: meterInt('meter, delta'),
  211: meterFloat('meter, single phase (float)'),
  212: meterFloat('meter, split phase (float)'),
  213: meterFloat('meter, wye (float)'),
  214: meterFloat('meter, delta (float)'),
  // Offsets as served by sim/ (sim/README.md, model 123) and the SunSpec model 123 definition;
  // not in shared/reference/devices.md [unverified against the sunspec/models JSON]. A real
  // inverter applies WMaxLimPct only while WMaxLim_Ena = 1, and reverts after
  // WMaxLimPct_RvrtTms seconds without a new write (0 = never).
  123: {
    name: 'immediate controls',
    points: {
      Conn: { offset: 4, type: 'uint16', unit: '' },
      WMaxLimPct: { offset: 5, type: 'uint16', sf: 23, unit: '%', writable: true },
      WMaxLimPct_RvrtTms: { offset: 7, type: 'uint16', unit: 's', writable: true },
      WMaxLim_Ena: { offset: 9, type: 'uint16', unit: '', writable: true },
    },
  },
  124: {
    name: 'storage (legacy)',
    points: {
      WChaMax: { offset: 2, type: 'uint16', sf: 18, unit: 'W' },
      StorCtl_Mod: { offset: 5, type: 'uint16', unit: '', writable: true },
      ChaState: { offset: 8, type: 'uint16', sf: 22, unit: '%' },
      ChaSt: { offset: 11, type: 'uint16', unit: '' },
      OutWRte: { offset: 12, type: 'int16', sf: 25, unit: '%', writable: true },
      InWRte: { offset: 13, type: 'int16', sf: 25, unit: '%', writable: true },
      InOutWRte_RvrtTms: { offset: 15, type: 'uint16', unit: 's', writable: true },
    },
  },
  802: {
    name: 'battery',
    points: {
      SoC: { offset: 11, type: 'uint16', sf: 56, unit: '%' },
      SoCRsvMin: { offset: 10, type: 'uint16', sf: 56, unit: '%', writable: true },
      CtrlHb: { offset: 19, type: 'uint16', unit: 'count', writable: true },
      V: { offset: 34, type: 'uint16', sf: 59, unit: 'V' },
      A: { offset: 44, type: 'int16', sf: 61, unit: 'A' },
      W: { offset: 47, type: 'int16', sf: 63, unit: 'W' },
    },
  },
};

/** `"203.W"` → model 203, point W. */
export function parseSunSpecRef(ref: string): { model: number; name: string } | null {
  const m = /^(\d+)\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(ref);
  if (!m) return null;
  const model = Number(m[1]);
  const def = SUNSPEC_MODELS[model];
  if (!def?.points[m[2]!]) return null;
  return { model, name: m[2]! };
}

export function sunSpecRefs(): string[] {
  return Object.entries(SUNSPEC_MODELS).flatMap(([id, def]) =>
    Object.keys(def.points).map((p) => `${id}.${p}`),
  );
}

export interface SunSpecModel {
  id: number;
  /** Wire address of the model's ID register. */
  address: number;
  length: number;
}

export interface SunSpecMap {
  base: number;
  models: SunSpecModel[];
}

export type ReadHolding = (address: number, count: number) => Promise<number[]>;

/**
 * Find the SunSpec map: probe each base for "SunS", then walk the chain of `ID, L` headers by
 * L (never by assumed lengths: some devices' common block has L = 65) up to the 0xFFFF end
 * marker or the end of the address space. Returns null when no base holds the marker; a
 * failed connection is thrown as it is (it says nothing about the map).
 */
export async function discoverSunSpec(
  read: ReadHolding,
  bases: readonly number[] = SUNSPEC_BASES,
): Promise<SunSpecMap | null> {
  for (const base of bases) {
    let marker: number[];
    try {
      marker = await read(base, 2);
    } catch (err) {
      // A Modbus exception means "not at this base"; the next base may answer. Anything else
      // (refused, timed out, unreachable) is about the connection, not the map: say so.
      if (typeof (err as { exceptionCode?: unknown }).exceptionCode === 'number') continue;
      throw err;
    }
    if (marker[0] !== SUNS_MARKER[0] || marker[1] !== SUNS_MARKER[1]) continue;
    const models: SunSpecModel[] = [];
    let address = base + 2;
    while (address + 1 <= 65535 && models.length < 256) {
      const [id, length] = await read(address, 2);
      if (id === undefined || length === undefined || id === END_ID || id === 0) break;
      models.push({ id, address, length });
      address += 2 + length;
    }
    return { base, models };
  }
  return null;
}

/** A SunSpec point as a concrete register, or why it cannot be read on this device. */
export function sunSpecRegister(map: SunSpecMap, ref: string): Register | { error: string } {
  const parsed = parseSunSpecRef(ref);
  if (!parsed) return { error: `unknown SunSpec point "${ref}"` };
  const model = map.models.find((m) => m.id === parsed.model);
  if (!model) return { error: `the device has no SunSpec model ${parsed.model}` };
  const def = SUNSPEC_MODELS[parsed.model]!.points[parsed.name]!;
  const size = def.type.endsWith('64') ? 4 : def.type.endsWith('32') ? 2 : 1;
  if (def.offset + size - 1 > model.length + 1 || (def.sf !== undefined && def.sf > model.length + 1))
    return {
      error: `SunSpec model ${parsed.model} on this device is too short (L=${model.length}) for ${parsed.name}`,
    };
  const invalid: InvalidMarker = def.acc ? 'sunspec-acc' : 'sunspec';
  const fn: ModbusFunction = 'holding';
  return {
    address: model.address + def.offset,
    function: fn,
    type: def.type,
    wordOrder: 'big',
    byteOrder: 'big',
    scale: def.scale ?? 1,
    offset: 0,
    scaleFactor: def.sf === undefined ? undefined : model.address + def.sf,
    unit: def.unit,
    invalid,
    writable: def.writable ?? false,
  };
}

/** Decode a SunSpec string (registers of two ASCII bytes, NUL-padded). */
export function decodeSunSpecString(words: readonly number[]): string {
  const bytes = Buffer.alloc(words.length * 2);
  words.forEach((w, i) => {
    bytes.writeUInt16BE(w, i * 2);
  });
  return bytes.toString('latin1').replace(/\0+$/, '').trim();
}
