import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { VERSION } from '../config/version.js';
import { listPoints, type Site } from '../model/index.js';
import { AuditLog, buildApp } from '../server/index.js';
import { openStore, type Store } from '../store/index.js';
import { DiskQueue, Hub, StoreWriter } from '../stream/index.js';

export interface RuntimeOptions {
  dataDir: string;
  databaseUrl?: string;
  sites: Site[];
  logLevel: string;
}

/** The running core: store, hub, store writer (with its disk spool) and the HTTP app. */
export interface Runtime {
  store: Store;
  hub: Hub;
  writer: StoreWriter;
  app: FastifyInstance;
  /** Hand `audit.append` to modules that must record what they did (setpoint writes, activations). */
  audit: AuditLog;
  sites: Site[];
  stop(): Promise<void>;
}

/**
 * Compose the core every long-running command shares. Readings published on the hub are
 * batched into the store; while the store is down they spool to `<data>/spool`.
 */
export async function startRuntime(options: RuntimeOptions): Promise<Runtime> {
  const dataDir = resolve(options.dataDir);
  const store = await openStore(options.databaseUrl ? { url: options.databaseUrl } : { dataDir });
  await store.readings.describePoints(listPoints(options.sites));
  const hub = new Hub();
  const disk = await DiskQueue.open(join(dataDir, 'spool'));
  const writer = new StoreWriter(store.readings, { disk }).start(hub.readings$);
  const app = await buildApp(
    { store, hub, writer, sites: options.sites, version: VERSION },
    { logger: { level: options.logLevel } },
  );
  writer.status$.subscribe((s) => {
    if (s.lastError && s.state === 'retrying')
      app.log.warn({ writer: s }, `store writes failing, spooling to disk: ${s.lastError}`);
  });
  let stopping: Promise<void> | null = null;
  return {
    store,
    hub,
    writer,
    app,
    audit: new AuditLog(store.db),
    sites: options.sites,
    stop: () => {
      stopping ??= (async () => {
        await app.close();
        hub.close();
        await writer.stop();
        await store.close();
      })();
      return stopping;
    },
  };
}

/** Stop cleanly on Ctrl-C or a service manager's TERM; a second signal exits at once. */
export function stopOnSignals(stop: () => Promise<void>, say: (line: string) => void): void {
  let signalled = false;
  const handler = (signal: NodeJS.Signals) => {
    if (signalled) process.exit(130);
    signalled = true;
    say(`${signal} received, stopping (pending readings are written or spooled)…`);
    stop().then(
      () => process.exit(0),
      (err) => {
        console.error(`gridflex: error while stopping: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
