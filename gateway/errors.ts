/**
 * The gateway's error catalogue: stable codes (callers and the API branch on these, never on
 * the words) and how a failed connection is named for people.
 */
export const GATEWAY_ERRORS = {
  /** The device answered a request with a Modbus exception. */
  MODBUS_EXCEPTION: 'GFX_GW_MODBUS_EXCEPTION',
  /** The device could not be reached, or did not answer in time (`details.problem` says how). */
  UNREACHABLE: 'GFX_GW_UNREACHABLE',
  /** An OPC UA user certificate or key file could not be used. */
  OPCUA_USER_CERT: 'GFX_GATEWAY_OPCUA_USER_CERT',
} as const;

/** How a connection failed, as a stable code. */
export type ConnectionProblem =
  | 'refused'
  | 'timed_out'
  | 'host_unreachable'
  | 'network_unreachable'
  | 'host_not_found'
  | 'reset'
  | 'closed';

const BY_ERRNO: Record<string, [ConnectionProblem, string]> = {
  ECONNREFUSED: ['refused', 'connection refused'],
  ETIMEDOUT: ['timed_out', 'timed out'],
  EHOSTUNREACH: ['host_unreachable', 'host unreachable'],
  EHOSTDOWN: ['host_unreachable', 'host unreachable'],
  ENETUNREACH: ['network_unreachable', 'network unreachable'],
  ENOTFOUND: ['host_not_found', 'host not found'],
  EAI_AGAIN: ['host_not_found', 'host not found'],
  ECONNRESET: ['reset', 'connection reset by the device'],
  EPIPE: ['closed', 'connection closed by the device'],
};

/** Our own connect timeout (`no connection within N ms`) and modbus-serial's `Timed out`. */
const TIMEOUT_WORDS = /no connection within|timed out|timeout/i;

/**
 * Name a connection failure for what it is (refused, timed out, host unreachable, …), from the
 * errno code on the error, its cause, or in its message (node-opcua wraps socket errors in text).
 */
export function connectionProblem(
  err: unknown,
): { problem: ConnectionProblem; words: string; errno: string | null } | null {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const o = e as { code?: unknown; errno?: unknown; message?: unknown };
    const named = [o.code, o.errno].find((c): c is string => typeof c === 'string' && c in BY_ERRNO);
    const inText = typeof o.message === 'string' ? o.message.match(/\bE[A-Z_]{4,}\b/g) : null;
    const errno = named ?? inText?.find((c) => c in BY_ERRNO);
    if (errno) {
      const [problem, words] = BY_ERRNO[errno]!;
      return { problem, words, errno };
    }
  }
  const message = err instanceof Error ? err.message : String(err);
  if (TIMEOUT_WORDS.test(message)) return { problem: 'timed_out', words: 'timed out', errno: null };
  return null;
}

/** An error's message for people, led by the named connection problem when there is one. */
export function describeError(err: unknown): string {
  const message =
    err instanceof Error
      ? err.message
      : typeof err === 'object' && err !== null && 'message' in err
        ? String(err.message)
        : String(err);
  const p = connectionProblem(err);
  if (!p) return message;
  if (p.errno) return `${p.words} (${p.errno})`;
  return message.toLowerCase().startsWith(p.words) ? message : `${p.words}: ${message}`;
}
