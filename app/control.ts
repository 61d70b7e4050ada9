import { chmod, rm } from 'node:fs/promises';
import { createConnection, createServer, type Server } from 'node:net';
import { join, resolve } from 'node:path';
import { type ErrorKind, GridflexError } from '../model/index.js';
import type { Store } from '../store/index.js';
import { APP_ERRORS } from './errors.js';
import { manageUsers, type UserRequest, UserRequestSchema, type UserResult } from './users.js';

/**
 * The running process's control socket: the embedded database can be opened by one process
 * only, so while `gridflex run` holds it, `gridflex user …` sends its request here instead
 * (one JSON line each way). A Unix socket in the data folder, mode 0600: whoever may use it
 * could open the database files directly, so it grants nothing new. Not started for
 * PostgreSQL, which the CLI reaches directly.
 */
export const controlSocketPath = (dataDir: string) => join(resolve(dataDir), 'gridflex.sock');

export async function startControlSocket(store: Store, dataDir: string): Promise<{ close(): Promise<void> }> {
  const path = controlSocketPath(dataDir);
  // A socket file left by a process that died (the data folder's lock says it is gone).
  await rm(path, { force: true });
  const server: Server = createServer((conn) => {
    let text = '';
    conn.setEncoding('utf8');
    conn.on('data', (chunk) => {
      text += chunk;
      const nl = text.indexOf('\n');
      if (nl < 0) return;
      const line = text.slice(0, nl);
      (async () => {
        const req = UserRequestSchema.parse(JSON.parse(line));
        return { ok: true, result: await manageUsers(store, req) };
      })()
        .catch((err: unknown) => ({
          ok: false,
          error: {
            code: err instanceof GridflexError ? err.code : APP_ERRORS.controlFailed,
            kind: err instanceof GridflexError ? err.kind : 'internal',
            message: (err as Error).message,
          },
        }))
        .then((reply) => conn.end(`${JSON.stringify(reply)}\n`));
    });
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

/** Ask the running process to do a user request; fails with GFX_APP_NOT_RUNNING when none listens. */
export function sendUserRequest(dataDir: string, req: UserRequest): Promise<UserResult> {
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
          | { ok: true; result: UserResult }
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
