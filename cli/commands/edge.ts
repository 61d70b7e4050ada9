import { resolve } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { EdgeConfigSchema, startEdge } from '../../app/edge.js';
import { loadConfigFile } from '../../config/load.js';
import { parseOptions } from '../args.js';
import { stopOnSignals } from '../signals.js';

const EdgeOptionsSchema = z.object({
  config: z.string().min(1),
  data: z.string().min(1),
});

export function register(program: Command): void {
  program
    .command('edge')
    .description('run a building edge: gateway and safety layer, durable outbox and MQTT uplink to central')
    .requiredOption('--config <file>', 'edge file: a gateway file with an uplink: section (YAML or JSON)')
    .option(
      '--data <dir>',
      'folder of the embedded database (outbox, command log) and write audit (env GRIDFLEX_DATA)',
      process.env.GRIDFLEX_DATA ?? './data',
    )
    .action(async (raw) => {
      const opts = parseOptions(EdgeOptionsSchema, raw, 'edge');
      const cfg = await loadConfigFile(EdgeConfigSchema, opts.config);
      const edge = await startEdge(cfg, { dataDir: resolve(opts.data), say: (l) => console.log(l) });
      console.log('Press Ctrl-C to stop.');
      stopOnSignals(
        async () => {
          const s = edge.link.status();
          await edge.stop();
          console.log(
            `stopped: ${s.sent} messages sent, cursor ${s.cursor}, ${s.backlog} waiting in the outbox`,
          );
        },
        (line) => console.log(line),
      );
    });
}
