import { Worker } from 'node:worker_threads';
import { type ErrorKind, GridflexError } from '../model/index.js';
import { OPT_ERRORS } from './errors.js';
import { LP_ARRAYS, type LpModel } from './lp.js';
import type { SolveRequest } from './solve-worker.js';
import type { LpSolution, SolveOptions, SolverName } from './solver.js';

type Reply = {
  id: number;
  solution?: LpSolution;
  /** The LP's arrays handed back when they were moved to the thread. */
  lp?: Partial<LpArrays>;
  error?: { code: string; message: string; kind: ErrorKind };
};

/**
 * From the TypeScript sources (tests, tsx) the worker first registers tsx's loader, then
 * imports the worker module; built code loads the compiled worker directly.
 */
function spawn(): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./solve-worker.js', import.meta.url));
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./solve-worker.ts', import.meta.url).href;
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { eval: true });
}

export interface WorkerSolveOptions extends SolveOptions {
  /** Cancels the solve: the worker is terminated and the promise rejects with GFX_OPT_CANCELLED. */
  signal?: AbortSignal;
  /**
   * Hard wall-clock budget (ms), enforced by terminating the worker; the result is then
   * `time_limit`. Unlike HiGHS' own time limit it also bounds jsl and model loading.
   */
  budgetMs?: number;
  /** HiGHS only: keep this site's model on the thread and warm-start its next solve. */
  site?: string;
}

/**
 * What solves a live site's LPs off the caller's event loop: a `SolveWorker` (a thread of this
 * process), or app/'s `QueueSolver` (the job queue and `gridflex worker` processes). A solve
 * rejects with `GFX_OPT_CANCELLED` when `signal` aborts.
 */
export interface LpSolveService {
  solve(lp: LpModel, solver: SolverName, options?: WorkerSolveOptions): Promise<LpSolution>;
  close(): Promise<void>;
}

/** The LP's typed arrays, in the order they are lent to the thread and handed back. */

type LpArrays = { [K in (typeof LP_ARRAYS)[number]]: LpModel[K] };

/** Whether a typed array owns its whole (non-shared) buffer, so it can be moved, not copied. */
export function ownsBuffer(a: Float64Array | Int32Array): boolean {
  return a.buffer instanceof ArrayBuffer && a.byteOffset === 0 && a.byteLength === a.buffer.byteLength;
}

/**
 * The model as posted: the typed arrays themselves (their buffers are moved to the thread,
 * not copied, when each owns its buffer; names are not enumerable and stay behind).
 */
function lend(lp: LpModel): { model: LpModel; transfer: ArrayBuffer[] } {
  const transfer: ArrayBuffer[] = [];
  const seen = new Set<ArrayBufferLike>();
  for (const k of LP_ARRAYS) {
    const a = lp[k];
    // Two fields on one buffer could not both be moved; such a model is copied instead.
    if (!ownsBuffer(a) || seen.has(a.buffer)) return { model: lp, transfer: [] };
    seen.add(a.buffer);
  }
  for (const k of LP_ARRAYS) transfer.push(lp[k].buffer as ArrayBuffer);
  return { model: lp, transfer };
}

type Pending = {
  resolve: (s: LpSolution) => void;
  reject: (e: unknown) => void;
  /** The model whose arrays were moved to the thread: they are put back when the reply comes. */
  lent: LpModel | null;
};

/**
 * One solver thread. Solves without `signal` or `budgetMs` are posted at once and queue on the
 * thread, so a caller can hand over the next model while one is solving (the thread never
 * waits for this thread to build it; see `planFleet`); the LP's typed arrays are moved to the
 * thread and back (transferred, not copied), as are the solution's. A solve with `signal` or
 * `budgetMs` waits for the solves before it, since stopping it terminates the thread
 * (the only way to stop a blocking WebAssembly or JavaScript solver): solves still queued
 * on a thread that is stopped reject with `GFX_OPT_THREAD_STOPPED`, and the next solve
 * starts a fresh thread.
 */
export class SolveWorker implements LpSolveService {
  private worker: Worker | null = null;
  private nextId = 1;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly pending = new Map<number, Pending>();
  /** Stoppable solves queued or running: later solves wait for them instead of joining a thread that may be stopped. */
  private stoppable = 0;

  solve(lp: LpModel, solver: SolverName, options: WorkerSolveOptions = {}): Promise<LpSolution> {
    const stoppable = options.signal !== undefined || options.budgetMs !== undefined;
    const wait = stoppable || this.stoppable > 0;
    if (stoppable) this.stoppable++;
    const run = wait ? this.queue.then(() => this.run(lp, solver, options)) : this.run(lp, solver, options);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    if (stoppable) void settled.then(() => this.stoppable--);
    this.queue = Promise.all([this.queue, settled]);
    return run;
  }

  /** Solves posted and not answered yet. */
  get inFlight(): number {
    return this.pending.size;
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const worker = spawn();
    worker.on('message', (reply: Reply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (p.lent && reply.lp) Object.assign(p.lent, reply.lp);
      if (reply.solution) p.resolve(reply.solution);
      else
        p.reject(
          new GridflexError(reply.error?.code ?? OPT_ERRORS.solver, reply.error?.message ?? 'solver failed', {
            kind: reply.error?.kind ?? 'internal',
          }),
        );
    });
    worker.on('error', (err: Error) => {
      this.stop(
        worker,
        new GridflexError(OPT_ERRORS.solver, `solver thread failed: ${err.message}`, { cause: err }),
      );
    });
    this.worker = worker;
    return worker;
  }

  /** Terminates the thread; every solve still on it rejects with `error`. */
  private stop(worker: Worker, error: unknown): Promise<number> {
    if (this.worker === worker) this.worker = null;
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const p of waiting) p.reject(error);
    return worker.terminate();
  }

  private run(lp: LpModel, solver: SolverName, options: WorkerSolveOptions): Promise<LpSolution> {
    const { signal, budgetMs, site, ...solveOptions } = options;
    if (signal?.aborted) return Promise.reject(cancelled());
    const worker = this.thread();
    const id = this.nextId++;
    const started = performance.now();
    // A warm site's model is kept on the thread and compared with the next one: copy it.
    const { model, transfer } = site === undefined ? lend(lp) : { model: lp, transfer: [] };
    return new Promise<LpSolution>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const cleanup = () => {
        signal?.removeEventListener('abort', onAbort);
        if (timer) clearTimeout(timer);
      };
      const onAbort = () => {
        this.pending.delete(id);
        cleanup();
        void this.stop(worker, threadStopped());
        reject(cancelled());
      };
      this.pending.set(id, {
        resolve: (s) => {
          cleanup();
          resolve(s);
        },
        reject: (e) => {
          cleanup();
          reject(e);
        },
        lent: transfer.length > 0 ? lp : null,
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      if (budgetMs !== undefined)
        timer = setTimeout(() => {
          this.pending.delete(id);
          cleanup();
          void this.stop(worker, threadStopped());
          resolve({
            status: 'time_limit',
            solveMs: performance.now() - started,
            message: `no plan within the ${budgetMs} ms budget; the solve was stopped`,
          });
        }, budgetMs);
      const req: SolveRequest = {
        id,
        lp: model,
        solver,
        options: solveOptions,
        ...(site === undefined ? {} : { site }),
        ...(transfer.length > 0 ? { returnLp: true } : {}),
      };
      worker.postMessage(req, transfer);
    });
  }

  /** Stops the thread; a later solve starts a new one. */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await this.stop(w, threadStopped());
  }
}

function threadStopped(): GridflexError {
  return new GridflexError(OPT_ERRORS.threadStopped, 'the solver thread was stopped before this solve ran', {
    kind: 'unavailable',
  });
}

function cancelled(): GridflexError {
  return new GridflexError(OPT_ERRORS.cancelled, 'the solve was cancelled by a newer plan', {
    kind: 'conflict',
  });
}
