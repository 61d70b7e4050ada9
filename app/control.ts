import { chmod, rm } from 'node:fs/promises';
import { createConnection, createServer, type Server } from 'node:net';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { type ErrorKind, GridflexError, parseOrThrow } from '../model/index.js';
import { openStore, STORE_ERRORS, type Store } from '../store/index.js';
import { APP_ERRORS } from './errors.js';
import {
  type LedgerRequest,
  LedgerRequestSchema,
  type LedgerResult,
  manageLedger,
} from './ledger-requests.js';
import { manageUsers, type UserRequest, UserRequestSchema, type UserResult } from './users.js';

/**
 * The running process's control socket: the embedded database can be opened by one process
 * only, so while `gridflex run` holds it, `gridflex user …`, `gridflex bill` and `gridflex
 * ledger verify` send their request here instead (one JSON line each way). A Unix socket in the
 * data folder, mode 0600: whoever may use it could open the database files directly, so it
 * grants nothing new. Not started for PostgreSQL, which the CLI reaches directly.
 *
 * What a request may do is what its schema lets through: user management (app/users.ts) and
 * the ledger's bill and verify (app/ledger-requests.ts, data only: no file or folder is named).
 * Anything else (another op, an unknown field, a line that is not JSON or is over
 * MAX_REQUEST_BYTES) is refused with GFX_APP_CONTROL_REFUSED, naming the field.
 */
export const ControlRequestSchema = z.discriminatedUnion('op', [UserRequestSchema, LedgerRequestSchema]);
export type ControlRequest = z.infer<typeof ControlRequestSchema>;

/** A month of 15-minute profiles of a large community as SDAT-CH XML fits with room to spare. */
export const MAX_REQUEST_BYTES = 64 * 1024 * 1024;

export const controlSocketPath = (dataDir: string) => join(resolve(dataDir), 'gridflex.sock');

const refused = (message: string) => new GridflexError(APP_ERRORS.controlRefused, message, { kind: 'input' });

function parseRequest(line: string): ControlRequest {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (err) {
    throw refused(`control request is not JSON: ${(err as Error).message}`);
  }
  return parseOrThrow(ControlRequestSchema, json, 'control request', APP_ERRORS.controlRefused);
}

async function handle(
  store: Store,
  dataDir: string,
  req: ControlRequest,
): Promise<UserResult | LedgerResult> {
  if (req.op === 'bill' || req.op === 'verify') return manageLedger(store, dataDir, req);
  return manageUsers(store, req);
}

export async function startControlSocket(store: Store, dataDir: string): Promise<{ close(): Promise<void> }> {
  const path = controlSocketPath(dataDir);
  // A socket file left by a process that died (the data folder's lock says it is gone).
  await rm(path, { force: true });
  const server: Server = createServer((conn) => {
    let text = '';
    const answer = (work: () => Promise<unknown>) => {
      conn.removeListener('data', onData);
      work()
        .then((result) => ({ ok: true, result }))
        .catch((err: unknown) => ({
          ok: false,
          error: {
            code: err instanceof GridflexError ? err.code : APP_ERRORS.controlFailed,
            kind: err instanceof GridflexError ? err.kind : 'internal',
            message: (err as Error).message,
          },
        }))
        .then((reply) => conn.end(`${JSON.stringify(reply)}\n`));
    };
    // One request per connection: the first line is answered, anything after it is ignored.
    const onData = (chunk: string) => {
      text += chunk;
      const nl = text.indexOf('\n');
      if (nl >= 0) answer(async () => handle(store, dataDir, parseRequest(text.slice(0, nl))));
      else if (text.length > MAX_REQUEST_BYTES)
        answer(async () => {
          throw refused(`control request over ${MAX_REQUEST_BYTES} bytes`);
        });
    };
    conn.setEncoding('utf8');
    conn.on('data', onData);
    conn.on('error', () => conn.destroy());
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(path, () => ok());
  });
  await chmod(path, 0o600);
  return {
    close: async () => {
      await new Promise<void>((ok) => server.close(() => ok()));
      await rm(path, { force: true });
    },
  };
}

/** Send one request to the running process; fails with GFX_APP_NOT_RUNNING when none listens. */
export function sendControlRequest(dataDir: string, req: unknown): Promise<unknown> {
  return new Promise((ok, fail) => {
    const conn = createConnection(controlSocketPath(dataDir));
    let text = '';
    conn.setEncoding('utf8');
    conn.on('connect', () => conn.write(`${JSON.stringify(req)}\n`));
    conn.on('data', (chunk) => {
      text += chunk;
    });
    conn.on('error', (err) =>
      fail(
        new GridflexError(
          APP_ERRORS.controlUnreachable,
          `the database in ${dataDir} is in use, and no running Gridflex answers on ${controlSocketPath(dataDir)}: ${err.message}`,
          { kind: 'unavailable' },
        ),
      ),
    );
    conn.on('end', () => {
      try {
        const reply = JSON.parse(text) as
          | { ok: true; result: unknown }
          | { ok: false; error: { code: string; kind: ErrorKind; message: string } };
        if (reply.ok) ok(reply.result);
        else fail(new GridflexError(reply.error.code, reply.error.message, { kind: reply.error.kind }));
      } catch (err) {
        fail(
          new GridflexError(
            APP_ERRORS.controlFailed,
            `no answer from the running Gridflex: ${(err as Error).message}`,
          ),
        );
      }
    });
  });
}

/** Ask the running process to do a user request. */
export const sendUserRequest = (dataDir: string, req: UserRequest) =>
  sendControlRequest(dataDir, req) as Promise<UserResult>;

/** Ask the running process to bill or verify. */
export const sendLedgerRequest = <R extends LedgerRequest>(dataDir: string, req: R) =>
  sendControlRequest(dataDir, req) as Promise<Extract<LedgerResult, { op: R['op'] }>>;

/**
 * Do `local` on the store (DATABASE_URL, or the embedded one in `dataDir`); while `gridflex run`
 * holds the embedded store, do `remote` (a control request) instead. `meanwhile` runs while the
 * store opens (PGlite compiles its WebAssembly off the main thread); when it throws, the store
 * is closed and nothing else is done.
 */
export async function onStoreOrRunning<T>(
  where: { url?: string | undefined; dataDir: string },
  local: (store: Store) => Promise<T>,
  remote: () => Promise<T>,
  meanwhile?: () => void,
): Promise<T> {
  const opening = openStore(where.url ? { url: where.url } : { dataDir: where.dataDir });
  try {
    meanwhile?.();
  } catch (err) {
    await opening.then((s) => s.close()).catch(() => {});
    throw err;
  }
  let store: Store;
  try {
    store = await opening;
  } catch (err) {
    if (!where.url && err instanceof GridflexError && err.code === STORE_ERRORS.LOCKED) return remote();
    throw err;
  }
  try {
    return await local(store);
  } finally {
    await store.close();
  }
}
