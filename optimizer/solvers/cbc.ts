import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { type LpModel, objectiveOf, toMps } from '../lp.js';
import type { LpSolution, LpSolver, SolveOptions } from '../solver.js';
import { highsSolver } from './highs.js';

/**
 * Columns from which the native path (CLP's barrier with crossover, through `cbc`) is used by
 * `autoSolver`; below it HiGHS in WebAssembly is as fast and skips a process start and two
 * files. Measured with bench/optimizer.ts section 10 (README "Measured").
 */
export const NATIVE_MIN_COLUMNS = 20_000;

/**
 * The `cbc` executable, or null: `GRIDFLEX_CBC` (a path, or `off` to never use one), else
 * `cbc` on PATH. Looked up on every solve (a stat per directory), so installing or removing
 * the package takes effect without a restart.
 */
export function findCbc(explicit?: string | null): string | null {
  const wanted = explicit === undefined ? process.env.GRIDFLEX_CBC : explicit;
  if (wanted === null || wanted === 'off') return null;
  const candidates =
    wanted !== undefined && wanted !== ''
      ? [wanted]
      : (process.env.PATH ?? '/usr/bin:/bin').split(delimiter).map((d) => join(d, 'cbc'));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // not here
    }
  }
  return null;
}

export interface CbcSolverOptions {
  /** Path of `cbc`; null: none (always the fallback). Default: `findCbc()`. */
  binary?: string | null;
  /** What solves when `cbc` is missing or fails. Default: HiGHS (WebAssembly). */
  fallback?: LpSolver;
}

/** What CBC's `saveSolution` binary file holds (CbcOrClpParam.cpp): full double precision. */
function readSolutionFile(buf: Buffer, lp: LpModel): { x: Float64Array; rowDual: Float64Array } | null {
  if (buf.length < 16) return null;
  const rows = buf.readInt32LE(0);
  const cols = buf.readInt32LE(4);
  if (rows !== lp.numRows || cols !== lp.numCols || buf.length !== 16 + 16 * (rows + cols)) return null;
  // Copied out: the Buffer's offset into its pool need not be 8-byte aligned.
  const doubles = (at: number, n: number) => {
    const out = new Float64Array(n);
    for (let k = 0; k < n; k++) out[k] = buf.readDoubleLE(at + 8 * k);
    return out;
  };
  const rowDual = doubles(16 + 8 * rows, rows);
  const x = doubles(16 + 16 * rows, cols);
  return { x, rowDual };
}

type Outcome = { code: number | null; stdout: string; killed: 'time' | 'abort' | null; error?: Error };

function run(
  binary: string,
  args: string[],
  timeLimitS: number | undefined,
  signal?: AbortSignal,
): Promise<Outcome> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve({ code: null, stdout: '', killed: 'abort' });
      return;
    }
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    const chunks: Buffer[] = [];
    let killed: Outcome['killed'] = null;
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      killed = 'abort';
      child.kill('SIGKILL');
    };
    if (timeLimitS !== undefined)
      timer = setTimeout(() => {
        killed = 'time';
        child.kill('SIGKILL');
      }, timeLimitS * 1000);
    signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    const done = (o: Omit<Outcome, 'stdout' | 'killed'>) => {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve({ ...o, stdout: Buffer.concat(chunks).toString('utf8'), killed });
    };
    child.on('error', (error) => done({ code: null, error }));
    child.on('close', (code) => done({ code }));
  });
}

/**
 * CBC's LP solver (CLP) as a child process: the model goes out as free MPS (no names, one row
 * per model row), the solution comes back in CBC's binary solution file (primal values and
 * row duals at full precision). `algorithm`: interior point (`barrier`, then crossover to a
 * basic solution, the default: measured faster than CBC's own default dual simplex on large
 * sites) or `simplex` (dual simplex). A missing `cbc`, a crash or an unreadable answer falls
 * back to HiGHS (WebAssembly) and says so in `message`; `engine` names what solved.
 * `timeLimitS` and `signal` kill the process (status `time_limit`; a cancelled solve rejects
 * like the worker's, with the AbortSignal's reason).
 */
export function cbcSolver(options: CbcSolverOptions = {}): LpSolver {
  const fallback = options.fallback ?? highsSolver;
  const viaFallback = async (lp: LpModel, o: SolveOptions, why: string): Promise<LpSolution> => {
    const sol = await fallback.solve(lp, o);
    return {
      ...sol,
      engine: sol.engine ?? fallback.name,
      message: sol.message ? `${why}; ${sol.message}` : why,
    };
  };
  return {
    name: 'cbc',
    async solve(lp, o = {}) {
      const { signal, ...solveOptions } = o;
      const binary = options.binary === undefined ? findCbc() : options.binary;
      if (binary === null) return viaFallback(lp, solveOptions, 'cbc is not installed: solved with HiGHS');
      const started = performance.now();
      const dir = await mkdtemp(join(tmpdir(), 'gridflex-cbc-'));
      try {
        const model = join(dir, 'model.mps');
        const solution = join(dir, 'solution.bin');
        await writeFile(model, toMps(lp));
        const method = solveOptions.algorithm === 'simplex' ? 'dualSimplex' : 'barrier';
        const out = await run(
          binary,
          [model, method, 'saveSolution', solution],
          solveOptions.timeLimitS,
          signal,
        );
        if (out.killed === 'abort') throw signal?.reason ?? new Error('cancelled');
        if (out.killed === 'time')
          return {
            status: 'time_limit',
            solveMs: performance.now() - started,
            message: `cbc stopped at the ${solveOptions.timeLimitS} s time limit`,
            engine: 'cbc',
          };
        if (out.error || out.code !== 0)
          return viaFallback(
            lp,
            solveOptions,
            `cbc failed (${out.error?.message ?? `exit ${out.code}`}): solved with HiGHS`,
          );
        // CBC's closing line for an LP: "Optimal objective …", "PrimalInfeasible objective …",
        // "DualInfeasible objective …" (unbounded; the schema rules those sites out).
        if (/^PrimalInfeasible objective/m.test(out.stdout))
          return {
            status: 'infeasible',
            solveMs: performance.now() - started,
            message: 'cbc: primal infeasible',
            engine: 'cbc',
          };
        if (!/^Optimal objective/m.test(out.stdout))
          return viaFallback(lp, solveOptions, 'cbc ended without an optimal solution: solved with HiGHS');
        const sol = readSolutionFile(await readFile(solution), lp);
        if (!sol) return viaFallback(lp, solveOptions, 'cbc wrote an unreadable solution: solved with HiGHS');
        return {
          status: 'optimal',
          x: sol.x,
          rowDual: sol.rowDual,
          objective: objectiveOf(lp, sol.x),
          solveMs: performance.now() - started,
          engine: 'cbc',
        };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

/**
 * HiGHS (WebAssembly) for small and medium sites; CBC as a child process from
 * `NATIVE_MIN_COLUMNS` columns when `cbc` is installed (it falls back to HiGHS on its own).
 */
export function autoSolver(options: CbcSolverOptions & { minColumns?: number } = {}): LpSolver {
  const cbc = cbcSolver(options);
  const fallback = options.fallback ?? highsSolver;
  const min = options.minColumns ?? NATIVE_MIN_COLUMNS;
  return {
    name: 'auto',
    solve: (lp, o) => (lp.numCols >= min ? cbc.solve(lp, o) : fallback.solve(lp, o)),
  };
}
