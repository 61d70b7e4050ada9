import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { GridflexError, issuesFromZod, ValidationError } from '../model/index.js';
import { CONFIG_ERRORS } from './errors.js';

/** Errors a building manager sees when a configuration file cannot be used. */
export class ConfigFileError extends GridflexError {
  constructor(message: string, details?: unknown) {
    super(CONFIG_ERRORS.FILE, message, { kind: 'input', details });
  }
}

/** Parse YAML or JSON text (JSON is YAML, but JSON files get JSON's stricter parser). */
export function parseConfigText(text: string, fileName: string): unknown {
  if (extname(fileName).toLowerCase() === '.json') {
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new ConfigFileError(`${fileName} is not valid JSON: ${(err as Error).message}`);
    }
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const where = first.linePos?.[0]
      ? ` at line ${first.linePos[0].line}, column ${first.linePos[0].col}`
      : '';
    throw new ConfigFileError(`${fileName} is not valid YAML${where}: ${first.message.split('\n')[0]}`);
  }
  try {
    // An alias without its anchor, or one that expands past the yaml library's alias limit
    // (an "alias bomb"), is a mistake in the file, not an internal error.
    return doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    throw new ConfigFileError(`${fileName} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
}

/** Validate already-parsed configuration; errors carry the file name and each bad field's path. */
export function validateConfig<S extends z.ZodType>(schema: S, data: unknown, fileName: string): z.output<S> {
  const result = schema.safeParse(data);
  if (!result.success)
    throw new ValidationError(`${fileName} is invalid`, issuesFromZod(result.error), CONFIG_ERRORS.INVALID);
  return result.data;
}

/** Read, parse and validate a YAML or JSON configuration file. */
export async function loadConfigFile<S extends z.ZodType>(schema: S, path: string): Promise<z.output<S>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(err);
    throw new ConfigFileError(`cannot read configuration file ${path}: ${reason}`);
  }
  return validateConfig(schema, parseConfigText(text, path), path);
}
