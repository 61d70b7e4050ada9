import type { z } from 'zod';

/** One problem found in input, addressed by its path (e.g. `sites[0].grid.importLimitKw`). */
export interface FieldIssue {
  path: string;
  message: string;
  code: string;
}

/** Codes shared by every module (each module keeps its own in `<module>/errors.ts`). */
export const MODEL_ERRORS = {
  /** Input did not match its schema (`details.issues` names each field). */
  VALIDATION: 'GFX_VALIDATION',
  /** The thing asked for (site, bill, portfolio, …) does not exist. */
  NOT_FOUND: 'GFX_NOT_FOUND',
} as const;

/**
 * What kind of failure an error is, independent of the transport: `server/` maps it to an HTTP
 * status, the CLI to an exit code. Modules say what went wrong, never how HTTP spells it.
 */
export const ERROR_KINDS = [
  'input',
  'not_found',
  'conflict',
  'forbidden',
  'unavailable',
  'internal',
] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

/**
 * Base of every error Gridflex raises on purpose. `code` is stable (kept as a constant in the
 * module's catalogue, e.g. `OPT_ERRORS.solver`); `kind` classifies it (default `internal`);
 * `details` is safe to show to the user who caused it.
 */
export class GridflexError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;
  readonly details: unknown;

  constructor(
    code: string,
    message: string,
    options: { kind?: ErrorKind; details?: unknown; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.kind = options.kind ?? 'internal';
    this.details = options.details;
  }
}

/** Input (a file, a request, a message, CLI arguments) did not match its schema. */
export class ValidationError extends GridflexError {
  readonly issues: FieldIssue[];

  /** `headline` starts the message, e.g. "sites.yaml is invalid"; the first issue follows it. */
  constructor(headline: string, issues: FieldIssue[], code: string = MODEL_ERRORS.VALIDATION) {
    const first = issues[0];
    const summary = first ? `${first.path || '(root)'}: ${first.message}` : 'invalid';
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
    super(code, `${headline}: ${summary}${more}`, { kind: 'input', details: { issues } });
    this.issues = issues;
  }
}

/** `a.b[2].c` from a zod path. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

export function issuesFromZod(error: z.ZodError, prefix: readonly PropertyKey[] = []): FieldIssue[] {
  return error.issues.map((issue) => ({
    path: formatPath([...prefix, ...issue.path]),
    message: issue.message,
    code: issue.code,
  }));
}

/** Parse `input` with `schema`; on failure throw a ValidationError naming every bad field. */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  input: unknown,
  what: string,
  code?: string,
): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw new ValidationError(`${what} is invalid`, issuesFromZod(result.error), code);
  return result.data;
}
