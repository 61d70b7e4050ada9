import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { type FieldIssue, formatPath, GridflexError } from '../model/index.js';

/** The server's own error codes (routes also answer with the codes of the modules they call). */
export const SERVER_ERRORS = {
  /** Another process (often a second Gridflex) already listens on the address. */
  PORT_IN_USE: 'GFX_PORT_IN_USE',
} as const;

/** Every error response has this shape. `error` is a stable code; `details` is safe to show. */
export interface ErrorBody {
  error: string;
  message: string;
  details?: unknown;
}

/**
 * Map errors to JSON: validation problems to 400 naming each field (`querystring.from`),
 * Gridflex errors to their own status and code, anything else to 500 with no internals
 * (the log has them, under the request id the body quotes).
 */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (hasZodFastifySchemaValidationErrors(err)) {
      const issues: FieldIssue[] = err.validation.map((v) => {
        const path = v.instancePath
          .split('/')
          .filter(Boolean)
          .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
        return {
          path: formatPath([err.validationContext ?? 'body', ...path]),
          message: v.message ?? 'invalid',
          code: v.keyword,
        };
      });
      const first = issues[0]!;
      const body: ErrorBody = {
        error: 'GFX_VALIDATION',
        message: `${first.path}: ${first.message}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''}`,
        details: { issues },
      };
      return reply.code(400).send(body);
    }
    if (err instanceof GridflexError) {
      if (err.status >= 500) req.log.error({ err }, err.message);
      const body: ErrorBody = { error: err.code, message: err.message, details: err.details };
      return reply.code(err.status).send(body);
    }
    if (isResponseSerializationError(err)) {
      req.log.error({ err, issues: err.cause.issues }, 'response did not match its schema');
    } else if (err.statusCode && err.statusCode < 500) {
      // Fastify's own client errors (malformed JSON, body too large, unsupported media type).
      return reply
        .code(err.statusCode)
        .send({ error: err.code ?? 'GFX_BAD_REQUEST', message: err.message } satisfies ErrorBody);
    } else {
      req.log.error({ err }, 'unhandled error');
    }
    const body: ErrorBody = {
      error: 'GFX_INTERNAL',
      message: `an internal error occurred; the server log has the details under request id ${req.id}`,
    };
    return reply.code(500).send(body);
  });

  app.setNotFoundHandler((req, reply) => {
    const body: ErrorBody = {
      error: 'GFX_NOT_FOUND',
      message: `no route ${req.method} ${req.url.split('?')[0]}`,
    };
    return reply.code(404).send(body);
  });
}
