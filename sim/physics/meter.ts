/** An energy meter: power with import positive, and monotonic import/export counters. */
export interface MeterState {
  powerW: number;
  importWh: number;
  exportWh: number;
}

export function meter(): MeterState {
  return { powerW: 0, importWh: 0, exportWh: 0 };
}

/** Register a constant power over dtS seconds. Counters only ever grow. */
export function accumulate(m: MeterState, powerW: number, dtS: number): void {
  m.powerW = powerW;
  const wh = (powerW * dtS) / 3600;
  if (wh > 0) m.importWh += wh;
  else m.exportWh -= wh;
}
