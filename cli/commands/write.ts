import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { loadGatewayView } from '../../app/config.js';
import { Gateway, SetpointWriteRepository, type WriteRecord } from '../../gateway/index.js';
import { GridflexError, ValidationError } from '../../model/index.js';
import { openStore } from '../../store/index.js';
import { Hub } from '../../stream/index.js';
import { parseOptions } from '../args.js';
import { CLI_ERRORS } from '../errors.js';
import { PkiOptionSchema } from './browse.js';

export const WriteOptionsSchema = z.object({
  config: z.string().min(1),
  site: z.string().min(1).optional(),
  point: z.string().regex(/^[a-z0-9][a-z0-9_-]*(\/[a-z0-9][a-z0-9_-]*)?$/, 'expected DEVICE/POINT or POINT'),
  value: z
    .string()
    .regex(/^-?\d+(\.\d+)?$/, 'expected a number')
    .transform(Number),
  who: z.string().min(1),
  why: z.string().min(1),
  data: z.string().min(1),
  pki: PkiOptionSchema.optional(),
});

export function register(program: Command): void {
  program
    .command('write')
    .description('write a setpoint through the safety layer (allow-list, limits, rate limit, read-back)')
    .requiredOption('--config <file>', 'gridflex.yaml (or an older gateway file)')
    .option('--site <id>', 'the site of the device (needed when the file lists several)')
    .requiredOption('--point <device/point>', 'the point to write, e.g. battery/limit')
    .requiredOption('--value <number>', 'value in the point unit')
    .option('--who <name>', 'who asks (recorded)', userInfo().username || 'cli')
    .option('--why <text>', 'why (recorded)', 'manual write from the command line')
    .option(
      '--data <dir>',
      'folder of the embedded database and writes.jsonl; the record goes to the store (env GRIDFLEX_DATA, DATABASE_URL)',
      process.env.GRIDFLEX_DATA ?? './data',
    )
    .option('--pki <dir>', 'OPC UA client certificate folder (default: node-opcua per-user folder)')
    .action(async (raw) => {
      const opts = parseOptions(WriteOptionsSchema, raw, 'write');
      const cfg = await loadGatewayView(opts.config, { site: opts.site });
      let [device, point] = opts.point.split('/') as [string, string | undefined];
      if (point === undefined) {
        point = device;
        const owners = cfg.devices.filter((d) => d.points.some((p) => p.id === point));
        if (owners.length !== 1)
          throw new ValidationError('invalid option for gridflex write', [
            {
              path: '--point',
              message:
                owners.length === 0
                  ? `no point "${point}"`
                  : `"${point}" is on several devices: use DEVICE/POINT`,
              code: 'custom',
            },
          ]);
        device = owners[0]!.id;
      }
      const { mkdir } = await import('node:fs/promises');
      const dataDir = resolve(opts.data);
      await mkdir(dataDir, { recursive: true });
      // Opened before the write: without a place to record it, nothing is written.
      const url = process.env.DATABASE_URL;
      const store = await openStore(url ? { url } : { dataDir });
      let rec: WriteRecord;
      try {
        const gw = new Gateway(cfg, new Hub(), {
          auditFile: join(dataDir, 'writes.jsonl'),
          writeLog: await SetpointWriteRepository.open(store),
          ...(opts.pki ? { opcua: { pkiDir: resolve(opts.pki) } } : {}),
        });
        rec = await gw.write({ device, point, value: opts.value, who: opts.who, why: opts.why });
        await gw.stop();
        console.log(JSON.stringify(rec));
        await gw.flushAudit().catch((err: Error) => {
          throw new GridflexError(CLI_ERRORS.GW_AUDIT, `the write record was not stored: ${err.message}`, {
            kind: 'internal',
          });
        });
      } finally {
        await store.close();
      }
      if (rec.outcome === 'written') return;
      throw new GridflexError(
        CLI_ERRORS.WRITE_BY_OUTCOME[rec.outcome],
        `write ${rec.outcome}: ${rec.reason}`,
        {
          kind: rec.outcome === 'refused' ? 'input' : 'unavailable',
        },
      );
    });
}
