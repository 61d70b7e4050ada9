import type { z } from 'zod';
import type { BatteryProblemSchema, ProblemInput } from '../optimizer/problem.js';

/**
 * LP problems small enough to solve by hand, as `parseProblem` input (the JSON `gridflex
 * optimize` reads).
 */

/** `n` hourly slots at 0.2 import, nothing paid for export, no load and no PV; `fill` replaces fields. */
export const hourly = (n: number, fill: Partial<ProblemInput> = {}): ProblemInput => ({
  slotMinutes: 60,
  prices: { import: Array(n).fill(0.2), export: Array(n).fill(0) },
  baseLoadKw: Array(n).fill(0),
  pvKw: Array(n).fill(0),
  ...fill,
});

/** Battery `b1`: 10 kWh, 5 kW either way, lossless, empty; `over` replaces fields. */
export const lpBattery = (
  over: Partial<z.input<typeof BatteryProblemSchema>> = {},
): z.input<typeof BatteryProblemSchema> => ({
  type: 'battery',
  id: 'b1',
  capacityKwh: 10,
  maxChargeKw: 5,
  maxDischargeKw: 5,
  chargeEfficiency: 1,
  dischargeEfficiency: 1,
  initialKwh: 0,
  ...over,
});
