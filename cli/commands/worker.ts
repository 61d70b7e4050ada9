import type { Command } from 'commander';
import { z } from 'zod';
import { runReplanWorker } from '../../app/uplink.js';
import { parseOptions } from '../args.js';
import { stopOnSignals } from '../signals.js';

const WorkerOptionsSchema = z.object({
  batch: z.coerce.number().int().min(1).max(1000),
  once: z.boolean().optional(),
});

export function register(program: Command): void {
  program
    .command('worker')
    .description(
      "solve fleet re-plan jobs from the PostgreSQL job queue (pg-boss; needs DATABASE_URL) and store the plans there, and the live optimisers' LPs of gridflex run with uplink.workers",
    )
    .option('--batch <n>', 'jobs fetched at once', '10')
    .option('--once', 'exit when the queue is empty')
    .action(async (raw) => {
      const opts = parseOptions(WorkerOptionsSchema, raw, 'worker');
      const url = process.env.DATABASE_URL ?? '';
      const stop = new AbortController();
      console.log('Gridflex re-plan worker: waiting for jobs. Press Ctrl-C to stop.');
      const running = runReplanWorker(
        { url, batchSize: opts.batch, signal: stop.signal, ...(opts.once ? { untilEmpty: true } : {}) },
        (r) =>
          console.log(
            r.kind === 'lp'
              ? `  ${r.site}: live LP ${r.status}, answered to central`
              : `  ${r.site}: ${r.status}${r.objective === null ? '' : `, cost ${r.objective.toFixed(2)}`}${r.stored === false ? ' (already stored: a job delivered again)' : ', stored'}`,
          ),
      );
      // A signal lets the job in hand finish and be completed before the process exits.
      stopOnSignals(
        async () => {
          stop.abort();
          await running.catch(() => 0);
        },
        (line) => console.log(line),
      );
      const n = await running;
      console.log(`stopped: ${n} jobs solved`);
    });
}
