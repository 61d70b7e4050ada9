import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { z } from 'zod';
import type { LpModel } from './lp.js';
import type { LpSolution, SolveOptions } from './solver.js';

/**
 * An LP model and its solution as JSON, for a solve in another process (app/queue-solver.ts:
 * through the job queue to `gridflex worker`). Every typed array travels as its bytes
 * (IEEE 754 doubles, 32-bit integers, in the platform's byte order: little-endian wherever
 * Gridflex runs), raw-deflated and base64-encoded: exact (±Infinity bounds included, which
 * JSON numbers cannot carry) and about 5× smaller than the bytes (a 5-asset site: 46 KB of
 * arrays, 9 KB deflated). Names are not sent: the solvers do not use them, and the caller
 * keeps the model it built for the explanation.
 */

type Typed = Float64Array | Int32Array;

function pack(a: Typed): string {
  return deflateRawSync(Buffer.from(a.buffer, a.byteOffset, a.byteLength)).toString('base64');
}

/** The array of `n` elements packed in `text`, or why not (a wrong length, a corrupt stream). */
function unpack<T extends Typed>(
  text: string,
  n: number,
  make: (buffer: ArrayBuffer, count: number) => T,
  bytes: number,
): T | string {
  let raw: Buffer;
  try {
    // Bounded: a stream that inflates past what the model needs is refused, not allocated.
    raw = inflateRawSync(Buffer.from(text, 'base64'), { maxOutputLength: Math.max(1, n * bytes) });
  } catch (err) {
    return `not a packed array of ${n} values (${(err as Error).message})`;
  }
  if (raw.byteLength !== n * bytes) return `expected ${n} values, got ${raw.byteLength / bytes}`;
  // Copied into a buffer of its own: the inflated bytes may sit at any offset of a shared pool.
  const own = new ArrayBuffer(raw.byteLength);
  new Uint8Array(own).set(raw);
  return make(own, n);
}

const f64 = (b: ArrayBuffer, n: number) => new Float64Array(b, 0, n);
const i32 = (b: ArrayBuffer, n: number) => new Int32Array(b, 0, n);

export const SolverNameSchema = z.enum(['highs', 'jsl', 'cbc', 'auto']);

/** What of `SolveOptions` travels (never `signal`). */
export const SolveOptionsWireSchema = z.strictObject({
  timeLimitS: z.number().positive().optional(),
  algorithm: z.enum(['auto', 'choose', 'simplex', 'ipm']).optional(),
  presolve: z.enum(['on', 'off', 'auto']).optional(),
});
export type SolveOptionsWire = z.infer<typeof SolveOptionsWireSchema>;

const count = z.int().min(0).max(50_000_000);

/** An LP model as sent: sizes, the offset, and each array packed. */
export const LpWireSchema = z.strictObject({
  numCols: count,
  numRows: count,
  nonzeros: count,
  offset: z.number(),
  colCost: z.base64(),
  colLower: z.base64(),
  colUpper: z.base64(),
  rowLower: z.base64(),
  rowUpper: z.base64(),
  starts: z.base64(),
  indices: z.base64(),
  values: z.base64(),
});
export type LpWire = z.infer<typeof LpWireSchema>;

/** The wire form read back into a model the solvers take; each array's length and the CSR checked, issues named by field. */
export const LpFromWireSchema = LpWireSchema.transform((w, ctx): LpModel => {
  const sizes = {
    colCost: [w.numCols, f64, 8],
    colLower: [w.numCols, f64, 8],
    colUpper: [w.numCols, f64, 8],
    rowLower: [w.numRows, f64, 8],
    rowUpper: [w.numRows, f64, 8],
    starts: [w.numRows + 1, i32, 4],
    indices: [w.nonzeros, i32, 4],
    values: [w.nonzeros, f64, 8],
  } as const;
  const out: Partial<Record<keyof typeof sizes, Typed>> = {};
  for (const [key, [n, make, bytes]] of Object.entries(sizes) as [
    keyof typeof sizes,
    (typeof sizes)[keyof typeof sizes],
  ][]) {
    const a = unpack(w[key], n, make as (b: ArrayBuffer, n: number) => Typed, bytes);
    if (typeof a === 'string') ctx.addIssue({ code: 'custom', path: [key], message: a });
    else out[key] = a;
  }
  if (Object.keys(out).length < Object.keys(sizes).length) return z.NEVER;
  const starts = out.starts as Int32Array;
  const indices = out.indices as Int32Array;
  for (let i = 0; i < w.numRows; i++)
    if (starts[i]! > starts[i + 1]!) {
      ctx.addIssue({ code: 'custom', path: ['starts', i + 1], message: 'row starts must not decrease' });
      return z.NEVER;
    }
  if (starts[0] !== 0 || starts[w.numRows] !== w.nonzeros) {
    ctx.addIssue({
      code: 'custom',
      path: ['starts'],
      message: `must run from 0 to nonzeros (${w.nonzeros}), got ${starts[0]}…${starts[w.numRows]}`,
    });
    return z.NEVER;
  }
  for (let k = 0; k < w.nonzeros; k++)
    if (indices[k]! < 0 || indices[k]! >= w.numCols) {
      ctx.addIssue({ code: 'custom', path: ['indices', k], message: `column ${indices[k]} of ${w.numCols}` });
      return z.NEVER;
    }
  return {
    numCols: w.numCols,
    numRows: w.numRows,
    offset: w.offset,
    colNames: [],
    rowNames: [],
    colCost: out.colCost as Float64Array,
    colLower: out.colLower as Float64Array,
    colUpper: out.colUpper as Float64Array,
    rowLower: out.rowLower as Float64Array,
    rowUpper: out.rowUpper as Float64Array,
    starts,
    indices,
    values: out.values as Float64Array,
  };
});

export function lpToWire(lp: LpModel): LpWire {
  return {
    numCols: lp.numCols,
    numRows: lp.numRows,
    nonzeros: lp.values.length,
    offset: lp.offset,
    colCost: pack(lp.colCost),
    colLower: pack(lp.colLower),
    colUpper: pack(lp.colUpper),
    rowLower: pack(lp.rowLower),
    rowUpper: pack(lp.rowUpper),
    starts: pack(lp.starts),
    indices: pack(lp.indices),
    values: pack(lp.values),
  };
}

/** A solution as sent back: `x` and `rowDual` packed as the model's arrays are. */
export const LpSolutionWireSchema = z.strictObject({
  status: z.enum(['optimal', 'infeasible', 'time_limit', 'error']),
  x: z.base64().optional(),
  rowDual: z.base64().optional(),
  objective: z.number().optional(),
  message: z.string().optional(),
  solveMs: z.number().min(0),
  engine: z.string().optional(),
});
export type LpSolutionWire = z.infer<typeof LpSolutionWireSchema>;

export function solutionToWire(s: LpSolution): LpSolutionWire {
  return {
    status: s.status,
    ...(s.x ? { x: pack(s.x) } : {}),
    ...(s.rowDual ? { rowDual: pack(s.rowDual) } : {}),
    ...(s.objective !== undefined ? { objective: s.objective } : {}),
    ...(s.message !== undefined ? { message: s.message } : {}),
    solveMs: s.solveMs,
    ...(s.engine !== undefined ? { engine: s.engine } : {}),
  };
}

/** The wire solution of `lp` read back: `x` must have a value per column, `rowDual` one per row. */
export function solutionFromWireSchema(lp: Pick<LpModel, 'numCols' | 'numRows'>) {
  return LpSolutionWireSchema.transform((w, ctx): LpSolution => {
    const x = w.x === undefined ? undefined : unpack(w.x, lp.numCols, f64, 8);
    const rowDual = w.rowDual === undefined ? undefined : unpack(w.rowDual, lp.numRows, f64, 8);
    if (typeof x === 'string') ctx.addIssue({ code: 'custom', path: ['x'], message: x });
    if (typeof rowDual === 'string') ctx.addIssue({ code: 'custom', path: ['rowDual'], message: rowDual });
    if (typeof x === 'string' || typeof rowDual === 'string') return z.NEVER;
    if (w.status === 'optimal' && (x === undefined || w.objective === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['x'], message: 'an optimal solution needs x and its objective' });
      return z.NEVER;
    }
    return {
      status: w.status,
      solveMs: w.solveMs,
      ...(x ? { x } : {}),
      ...(rowDual ? { rowDual } : {}),
      ...(w.objective !== undefined ? { objective: w.objective } : {}),
      ...(w.message !== undefined ? { message: w.message } : {}),
      ...(w.engine !== undefined ? { engine: w.engine } : {}),
    };
  });
}

/** The options of a solve as they travel (the signal stays behind). */
export function solveOptionsToWire(o: SolveOptions): SolveOptionsWire {
  return {
    ...(o.timeLimitS !== undefined ? { timeLimitS: o.timeLimitS } : {}),
    ...(o.algorithm !== undefined ? { algorithm: o.algorithm } : {}),
    ...(o.presolve !== undefined ? { presolve: o.presolve } : {}),
  };
}
