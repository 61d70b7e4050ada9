import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERROR_KINDS, GridflexError } from '../model/index.js';
import { httpStatus, STATUS_BY_CODE } from './errors.js';

// Issue #12: codes live in one catalogue per module and only server/ knows HTTP statuses.
const root = fileURLToPath(new URL('..', import.meta.url));
const SKIP = new Set(['node_modules', 'dist', 'data', '.git']);

function sourceFiles(): string[] {
  const out: string[] = [];
  for (const top of readdirSync(root, { withFileTypes: true })) {
    if (!top.isDirectory() || SKIP.has(top.name) || top.name.startsWith('.')) continue;
    for (const f of readdirSync(join(root, top.name), { recursive: true, encoding: 'utf8' })) {
      if (f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.includes('node_modules'))
        out.push(join(root, top.name, f));
    }
  }
  return out;
}

/** Every `GFX_…` value kept in a `<module>/errors.ts` catalogue (model's lives in model/errors.ts too). */
function catalogueCodes(): Set<string> {
  const codes = new Set<string>();
  for (const file of sourceFiles().filter((f) => f.endsWith('/errors.ts')))
    for (const m of readFileSync(file, 'utf8').matchAll(/'(GFX_[A-Z0-9_]+)'/g)) codes.add(m[1]!);
  return codes;
}

describe('error catalogues', () => {
  it('no source file throws a GridflexError with a string literal code', () => {
    // `new GridflexError('GFX_…'`, `super('GFX_…'`, and a literal code as the last argument
    // (`new ValidationError(…, 'GFX_…')`, `parseOrThrow(…, 'GFX_…')`).
    const literal = /(new GridflexError|super)\(\s*['"`]GFX_|,\s*['"`]GFX_[A-Z0-9_]*['"`],?\s*\)/g;
    const found: string[] = [];
    for (const file of sourceFiles()) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(literal)) {
        const line = text.slice(0, m.index).split('\n').length;
        found.push(`${relative(root, file)}:${line}`);
      }
    }
    expect(found).toEqual([]);
  });

  it('a GridflexError carries a kind, not an HTTP status', () => {
    const err = new GridflexError('GFX_TEST', 'x');
    expect(err.kind).toBe('internal');
    expect('status' in err).toBe(false);
  });

  it('every catalogued code maps to an HTTP status for every kind', () => {
    const codes = catalogueCodes();
    expect(codes.size).toBeGreaterThan(50);
    for (const code of codes)
      for (const kind of ERROR_KINDS) {
        const status = httpStatus(new GridflexError(code, 'x', { kind }));
        expect(status, `${code} (${kind})`).toBeGreaterThanOrEqual(400);
        expect(status, `${code} (${kind})`).toBeLessThan(600);
      }
    expect(httpStatus(new GridflexError('GFX_NOT_FOUND', 'x', { kind: 'not_found' }))).toBe(404);
    expect(httpStatus(new GridflexError('GFX_MARKET_ACTIVATION', 'x', { kind: 'input' }))).toBe(422);
  });

  it('every code with its own status is in a catalogue (no stale overrides)', () => {
    const codes = catalogueCodes();
    expect(Object.keys(STATUS_BY_CODE).filter((c) => !codes.has(c))).toEqual([]);
  });
});

describe('error log lines', () => {
  it('logs a device that does not answer as one warning without a stack, and only our own failures as errors', async () => {
    const { default: Fastify } = await import('fastify');
    const { installErrorHandler } = await import('./errors.js');
    const lines: { level: number; msg: string; err?: unknown }[] = [];
    const app = Fastify({
      logger: { level: 'info', stream: { write: (l: string) => void lines.push(JSON.parse(l)) } },
    });
    installErrorHandler(app);
    app.get('/device', async () => {
      throw new GridflexError('GFX_DEVICE_UNREACHABLE', 'tcp://127.0.0.1:9 did not answer', {
        kind: 'unavailable',
      });
    });
    app.get('/bug', async () => {
      throw new GridflexError('GFX_SOMETHING', 'broken', { kind: 'internal' });
    });
    expect((await app.inject('/device')).statusCode).toBe(502);
    expect((await app.inject('/bug')).statusCode).toBe(500);
    await app.close();
    const device = lines.find((l) => l.msg === 'tcp://127.0.0.1:9 did not answer');
    expect(device?.level).toBe(40); // pino: warn
    expect(device?.err).toBeUndefined();
    const bug = lines.find((l) => l.msg === 'broken');
    expect(bug?.level).toBe(50); // pino: error, with the stack
    expect(JSON.stringify(bug?.err)).toContain('stack');
  });
});
