import { z } from 'zod';
import { type FieldIssue, ValidationError } from '../model/index.js';
import { CLI_ERRORS } from './errors.js';

const flag = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/**
 * Validate a command's parsed options with a zod schema. Errors name the flag as the user
 * typed it (`--port: expected an integer`), not the property name.
 */
export function parseOptions<S extends z.ZodType>(schema: S, options: unknown, command: string): z.output<S> {
  const result = schema.safeParse(options);
  if (result.success) return result.data;
  const issues: FieldIssue[] = result.error.issues.map((i) => ({
    path: i.path.length > 0 ? flag(String(i.path[0])) : '',
    message: i.message,
    code: i.code,
  }));
  throw new ValidationError(`invalid option for gridflex ${command}`, issues, CLI_ERRORS.ARGS);
}

/** A TCP port given on the command line or in the environment. */
export const PortOptionSchema = z
  .string()
  .regex(/^\d{1,5}$/, 'expected a port number from 0 to 65535')
  .transform(Number)
  .refine((n) => n <= 65535, 'expected a port number from 0 to 65535');
