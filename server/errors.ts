import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { type ErrorKind, type FieldIssue, formatPath, GridflexError } from '../model/index.js';

/** The server's own error codes (routes also answer with the codes of the modules they call). */
export const SERVER_ERRORS = {
  /** Another process (often a second Gridflex) already listens on the address. */
  PORT_IN_USE: 'GFX_PORT_IN_USE',
  /** A username does not have the allowed form. */
  AUTH_BAD_USERNAME: 'GFX_AUTH_BAD_USERNAME',
  /** A role grant names a site or portfolio the role cannot hold. */
  AUTH_BAD_GRANT: 'GFX_AUTH_BAD_GRANT',
  AUTH_USER_EXISTS: 'GFX_AUTH_USER_EXISTS',
  AUTH_NO_USER: 'GFX_AUTH_NO_USER',
  /** The market service is not running on this server. */
  MARKET_OFF: 'GFX_MARKET_OFF',
  /** The signed-in user may not see this (another unit's bill). */
  FORBIDDEN: 'GFX_FORBIDDEN',
  /** A bill's PDF cannot be rendered here (no browser for the renderer). */
  LEDGER_PDF: 'GFX_LEDGER_PDF',
  /** Erasure of household data is not wired on this server (no ledger communities). */
  ERASURE_OFF: 'GFX_ERASURE_OFF',
} as const;

/**
 * The only place where a GridflexError becomes an HTTP status (issue #12): by its kind, unless
 * the code needs a more exact one below.
 */
export const STATUS_BY_KIND: Record<ErrorKind, number> = {
  input: 400,
  not_found: 404,
  conflict: 409,
  forbidden: 403,
  unavailable: 503,
  internal: 500,
};

/**
 * Codes whose status is more exact than their kind's. 422: the request was well formed but the
 * data it needs say no (a gap in readings, a cap, an activation outside the bid); 502: the device
 * behind us answered wrongly or not at all (we are up; it is not).
 */
export const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  GFX_LEDGER_PRICE_CAP: 422,
  GFX_LEDGER_DATA_GAP: 422,
  GFX_LEDGER_NO_TARIFF: 422,
  GFX_MARKET_ACTIVATION: 422,
  GFX_MARKET_METER_DATA: 422,
  GFX_MARKET_BASELINE_DATA: 422,
  GFX_GW_MODBUS_EXCEPTION: 502,
  GFX_DEVICE_UNREACHABLE: 502,
};

/** The HTTP status an API answers a GridflexError with. */
export function httpStatus(err: GridflexError): number {
  return STATUS_BY_CODE[err.code] ?? STATUS_BY_KIND[err.kind] ?? 500;
}

/** Every error response has this shape. `error` is a stable code; `details` is safe to show. */
export interface ErrorBody {
  error: string;
  message: string;
  details?: unknown;
}

/**
 * Map errors to JSON: validation problems to 400 naming each field (`querystring.from`),
 * Gridflex errors to the status of their kind (`httpStatus`) and their code, anything else to 500 with no internals
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
      const status = httpStatus(err);
      // A device that does not answer (502) or a service that is off (503) is the expected
      // outcome of, say, testing a device: one warning line, no stack. Only 500 is our fault.
      if (status === 500) req.log.error({ err }, err.message);
      else if (status > 500) req.log.warn({ code: err.code }, err.message);
      const body: ErrorBody = { error: err.code, message: err.message, details: err.details };
      return reply.code(status).send(body);
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
