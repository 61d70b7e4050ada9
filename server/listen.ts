import type { FastifyInstance } from 'fastify';
import { GridflexError } from '../model/index.js';
import { SERVER_ERRORS } from './errors.js';

/**
 * `app.listen`, with a busy address turned into one clear line (`GFX_PORT_IN_USE`, exit 1 in
 * the CLI) instead of an "unexpected error" stack. The caller must still stop what it started
 * before listening (gateways, timers), or the process keeps running after the error.
 */
export async function listenOrExplain(
  app: FastifyInstance,
  at: { port: number; host: string },
): Promise<string> {
  try {
    return await app.listen(at);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES')
      throw new GridflexError(
        SERVER_ERRORS.PORT_IN_USE,
        code === 'EADDRINUSE'
          ? `${at.host}:${at.port} is already in use (another Gridflex running?); stop it or choose another --port`
          : `not allowed to listen on ${at.host}:${at.port} (ports below 1024 need privileges); choose another --port`,
        { kind: 'internal', details: { host: at.host, port: at.port } },
      );
    throw err;
  }
}
