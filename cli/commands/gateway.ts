import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { loadConfigFile } from '../../config/load.js';
import { Gateway, GatewayConfigSchema, gatewaySite, SetpointWriteRepository } from '../../gateway/index.js';
import { listPoints } from '../../model/index.js';
import { openStore } from '../../store/index.js';
import { DiskQueue, Hub, StoreWriter } from '../../stream/index.js';
import { parseOptions } from '../args.js';
import { stopOnSignals } from '../signals.js';
import { PkiOptionSchema } from './browse.js';

export const GatewayOptionsSchema = z.object({
  config: z.string().min(1),
  data: z.string().min(1),
  pki: PkiOptionSchema.optional(),
});

export function register(program: Command): void {
  program
    .command('gateway')
    .description(
      'poll the devices of a gateway file continuously into the store (spooling to disk while it is down)',
    )
    .requiredOption('--config <file>', 'gateway file (YAML or JSON)')
    .option(
      '--data <dir>',
      'folder of the embedded database, spool and write audit (env GRIDFLEX_DATA)',
      process.env.GRIDFLEX_DATA ?? './data',
    )
    .option('--pki <dir>', 'OPC UA client certificate folder (default: node-opcua per-user folder)')
    .action(async (raw) => {
      const opts = parseOptions(GatewayOptionsSchema, raw, 'gateway');
      const cfg = await loadConfigFile(GatewayConfigSchema, opts.config);
      const dataDir = resolve(opts.data);
      const url = process.env.DATABASE_URL;
      const store = await openStore(url ? { url } : { dataDir });
      await store.readings.describePoints(listPoints([gatewaySite(cfg)]));
      const hub = new Hub();
      const disk = await DiskQueue.open(join(dataDir, 'spool'));
      const writer = new StoreWriter(store.readings, {
        disk,
        onError: (err) =>
          console.error(`gridflex: store write failed, spooling to disk: ${(err as Error).message}`),
      }).start(hub.readings$);
      const gw = new Gateway(cfg, hub, {
        auditFile: join(dataDir, 'writes.jsonl'),
        writeLog: await SetpointWriteRepository.open(store),
        ...(opts.pki ? { opcua: { pkiDir: resolve(opts.pki) } } : {}),
      });
      gw.start();
      const points = cfg.devices.reduce((n, d) => n + d.points.length, 0);
      console.log(`Gridflex gateway is running: ${cfg.devices.length} devices, ${points} points`);
      console.log(`  store: ${store.description}`);
      console.log('Press Ctrl-C to stop.');
      stopOnSignals(
        async () => {
          await gw.stop();
          await gw
            .flushAudit()
            .catch((err: Error) => console.error(`gridflex: a write record was not stored: ${err.message}`));
          hub.close();
          const s = await writer.stop();
          await store.close();
          console.log(
            `stopped: ${s.received} readings received, ${s.stored} stored, ${s.pendingDisk} spooled`,
          );
        },
        (line) => console.log(line),
      );
    });
}
