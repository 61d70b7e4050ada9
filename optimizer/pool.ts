import { Worker } from 'node:worker_threads';
import { GridflexError } from '../model/index.js';
import type { LpModel } from './lp.js';
import type { SolveRequest } from './solve-worker.js';
import type { LpSolution, SolveOptions, SolverName } from './solver.js';

type Reply = { id: number; solution?: LpSolution; error?: { code: string; message: string; status: number } };

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
 * One solver thread. Solves run one at a time; cancelling or overrunning the budget
 * terminates the thread (the only way to stop a blocking WebAssembly or JavaScript solver) and
 * the next solve starts a fresh one.
 */
export class SolveWorker {
  private worker: Worker | null = null;
  private nextId = 1;
  private queue: Promise<unknown> = Promise.resolve();

  solve(lp: LpModel, solver: SolverName, options: WorkerSolveOptions = {}): Promise<LpSolution> {
    const run = this.queue.then(() => this.run(lp, solver, options));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private run(lp: LpModel, solver: SolverName, options: WorkerSolveOptions): Promise<LpSolution> {
    const { signal, budgetMs, site, ...solveOptions } = options;
    if (signal?.aborted) return Promise.reject(cancelled());
    this.worker ??= spawn();
    const worker = this.worker;
    const id = this.nextId++;
    const started = performance.now();
    return new Promise<LpSolution>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const cleanup = () => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        signal?.removeEventListener('abort', onAbort);
        if (timer) clearTimeout(timer);
      };
      const kill = () => {
        cleanup();
        if (this.worker === worker) this.worker = null;
        return worker.terminate();
      };
      const onMessage = (reply: Reply) => {
        if (reply.id !== id) return;
        cleanup();
        if (reply.solution) resolve(reply.solution);
        else
          reject(
            new GridflexError(
              reply.error?.code ?? 'GFX_OPT_SOLVER',
              reply.error?.message ?? 'solver failed',
              {
                status: reply.error?.status ?? 500,
              },
            ),
          );
      };
      const onError = (err: Error) => {
        void kill();
        reject(new GridflexError('GFX_OPT_SOLVER', `solver thread failed: ${err.message}`, { cause: err }));
      };
      const onAbort = () => {
        void kill();
        reject(cancelled());
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (budgetMs !== undefined)
        timer = setTimeout(() => {
          void kill();
          resolve({
            status: 'time_limit',
            solveMs: performance.now() - started,
            message: `no plan within the ${budgetMs} ms budget; the solve was stopped`,
          });
        }, budgetMs);
      const req: SolveRequest = {
        id,
        lp,
        solver,
        options: solveOptions,
        ...(site === undefined ? {} : { site }),
      };
      worker.postMessage(req);
    });
  }

  /** Stops the thread; a later solve starts a new one. */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }
}

function cancelled(): GridflexError {
  return new GridflexError('GFX_OPT_CANCELLED', 'the solve was cancelled by a newer plan', { status: 409 });
}
