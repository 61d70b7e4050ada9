import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * Our pages load only their own scripts, styles and data: no inline script, no third party.
 * The OpenAPI UI (a plugin we do not write) needs inline styles, so /docs gets a looser CSP.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');
const DOCS_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'").replace(
  "script-src 'self'",
  "script-src 'self' 'unsafe-inline'",
);

export function securityHeaders(req: FastifyRequest): Record<string, string> {
  const headers: Record<string, string> = {
    'content-security-policy': req.url.startsWith('/docs') ? DOCS_CSP : CSP,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=()',
  };
  if (req.protocol === 'https') headers['strict-transport-security'] = 'max-age=31536000';
  if (req.url.startsWith('/api/')) headers['cache-control'] = 'no-store';
  return headers;
}

/** Set the headers on every reply (streams set them themselves, see routes/live.ts). */
export function installSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (req, reply: FastifyReply, payload) => {
    reply.headers(securityHeaders(req));
    return payload;
  });
}
