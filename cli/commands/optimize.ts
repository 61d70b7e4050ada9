import type { Command } from 'commander';
import { z } from 'zod';
import { loadConfigFile } from '../../config/load.js';
import { optimize, ProblemSchema, SOLVERS } from '../../optimizer/index.js';
import { parseOptions } from '../args.js';

export const OptimizeOptionsSchema = z.object({
  input: z.string({ error: 'expected a problem file (JSON or YAML)' }).min(1),
  solver: z.enum(['highs', 'jsl'], { error: 'expected highs or jsl' }),
  timeLimit: z
    .string()
    .regex(/^\d+(\.\d+)?$/, 'expected a number of seconds')
    .transform(Number)
    .refine((s) => s > 0, 'expected a number of seconds above 0')
    .optional(),
});

export function register(program: Command): void {
  program
    .command('optimize')
    .description(
      'plan one site: solve the LP problem in a JSON/YAML file (format: optimizer/README.md) and print the result as JSON',
    )
    .option('--input <file>', 'problem file (JSON or YAML)')
    .option('--solver <name>', 'highs (default) or jsl (javascript-lp-solver, small problems only)', 'highs')
    .option('--time-limit <seconds>', 'stop the solver after this long (HiGHS); status time_limit')
    .action(async (raw) => {
      const opts = parseOptions(OptimizeOptionsSchema, raw, 'optimize');
      const problem = await loadConfigFile(ProblemSchema, opts.input);
      const result = await optimize(
        problem,
        SOLVERS[opts.solver],
        opts.timeLimit === undefined ? {} : { timeLimitS: opts.timeLimit },
      );
      console.log(JSON.stringify(result, null, 2));
      if (result.status !== 'optimal') {
        console.error(`gridflex: ${result.status}${result.message ? `: ${result.message}` : ''}`);
        process.exitCode = 1;
      }
    });
}
