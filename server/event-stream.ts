import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Observable, Subscription } from 'rxjs';
import { identify } from './access.js';
import { securityHeaders } from './security-headers.js';
import type { Services } from './services.js';

/** One Server-Sent Event: its name and a JSON body. */
export interface ServerEvent {
  event: string;
  data: unknown;
}

const frame = (e: ServerEvent) => `event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`;

export type OpenEventStream = (
  req: FastifyRequest,
  reply: FastifyReply,
  events$: Observable<ServerEvent>,
  first?: ServerEvent[],
) => void;

/**
 * Server-Sent Event streams of one plugin. A stream sends `first`, then each event of `events$`;
 * it ends when the caller's session ends (checked at each heartbeat, whose comment line also
 * keeps proxies from closing it), when `events$` completes, when the client goes, or when the
 * server closes (fastify would otherwise wait for the open responses).
 */
export function eventStreams(app: FastifyInstance, s: Services): OpenEventStream {
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });
  return (req, reply, events$, first = []) => {
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      ...securityHeaders(req),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    });
    raw.write('retry: 3000\n\n');
    for (const e of first) raw.write(frame(e));
    let sub: Subscription | undefined;
    const heartbeat = setInterval(async () => {
      const still = await identify(req, s.auth).catch(() => null);
      if (!still) return end();
      raw.write(': keep-alive\n\n');
    }, s.settings.liveHeartbeatMs);
    const end = () => {
      if (!open.delete(end)) return;
      clearInterval(heartbeat);
      sub?.unsubscribe();
      raw.end();
    };
    open.add(end);
    req.raw.on('close', end);
    sub = events$.subscribe({ next: (e) => raw.write(frame(e)), complete: () => end() });
  };
}
