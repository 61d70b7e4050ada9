import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { loadConfigFile } from '../../config/load.js';
import {
  Gateway,
  GatewayConfigSchema,
  gatewaySite,
  SetpointWriteRepository,
  type WriteLog,
} from '../../gateway/index.js';
import { listPoints } from '../../model/index.js';
import { openStore, openStoreWhenReachable, type Store, StoreUnavailableError } from '../../store/index.js';
import { DiskQueue, Hub, type ReadingSink, StoreWriter } from '../../stream/index.js';
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
      const hub = new Hub();
      const disk = await DiskQueue.open(join(dataDir, 'spool'));
      // Until the store answers, readings are refused by this sink and so spooled to disk, and
      // write records wait in the gateway's queue: a gateway started during a database outage
      // polls and spools instead of exiting.
      let store: Store | null = null;
      let writeRepo: SetpointWriteRepository | null = null;
      const notYet = () => Promise.reject(new StoreUnavailableError('the store is not connected yet'));
      const sink: ReadingSink = { ingest: (batch) => (store ? store.readings.ingest(batch) : notYet()) };
      const writeLog: WriteLog = {
        append: (r) => (writeRepo ? writeRepo.append(r) : notYet()),
        lastSent: (site) => (writeRepo ? writeRepo.lastSent(site) : notYet()),
      };
      const attach = async (s: Store) => {
        await s.readings.describePoints(listPoints([gatewaySite(cfg)]));
        writeRepo = await SetpointWriteRepository.open(s);
        store = s;
      };
      const waiting = new AbortController();
      const connectLater = async (first: Error) => {
        console.error(`gridflex: the store does not answer (${first.message}); polling and spooling to disk`);
        for (;;) {
          const s = await openStoreWhenReachable(
            { url },
            {
              signal: waiting.signal,
              onRetry: (err, ms) =>
                console.error(`gridflex: store still unreachable, next try in ${ms} ms: ${err.message}`),
            },
          );
          try {
            await attach(s);
            console.log(`  store connected: ${s.description}`);
            return;
          } catch (err) {
            await s.close().catch(() => {});
            if (waiting.signal.aborted) return;
            console.error(`gridflex: store setup failed, retrying: ${(err as Error).message}`);
          }
        }
      };
      let connecting: Promise<void> | null = null;
      try {
        await attach(await openStore(url ? { url } : { dataDir }));
      } catch (err) {
        // Only a server can come back by itself; an embedded store that fails to open is fatal.
        if (!url || !(err instanceof StoreUnavailableError)) throw err;
        connecting = connectLater(err).catch((e: Error) => {
          if (!waiting.signal.aborted) console.error(`gridflex: store not opened: ${e.message}`);
        });
      }
      const writer = new StoreWriter(sink, {
        disk,
        onError: (err) =>
          console.error(`gridflex: store write failed, spooling to disk: ${(err as Error).message}`),
      }).start(hub.readings$);
      const gw = new Gateway(cfg, hub, {
        auditFile: join(dataDir, 'writes.jsonl'),
        writeLog,
        ...(opts.pki ? { opcua: { pkiDir: resolve(opts.pki) } } : {}),
      });
      gw.start();
      const points = cfg.devices.reduce((n, d) => n + d.points.length, 0);
      console.log(`Gridflex gateway is running: ${cfg.devices.length} devices, ${points} points`);
      console.log(
        `  store: ${(store as Store | null)?.description ?? 'not connected yet (spooling to disk)'}`,
      );
      console.log('Press Ctrl-C to stop.');
      stopOnSignals(
        async () => {
          await gw.stop();
          await gw
            .flushAudit()
            .catch((err: Error) => console.error(`gridflex: a write record was not stored: ${err.message}`));
          hub.close();
          const s = await writer.stop();
          waiting.abort();
          await connecting;
          await (store as Store | null)?.close();
          console.log(
            `stopped: ${s.received} readings received, ${s.stored} stored, ${s.pendingDisk} spooled`,
          );
        },
        (line) => console.log(line),
      );
    });
}
