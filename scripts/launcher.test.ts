import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('..', import.meta.url));

function run(root: string, env: NodeJS.ProcessEnv = {}): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      [join(root, 'bin/gridflex.mjs')],
      { env: { ...process.env, GRIDFLEX_FROM_SOURCE: '', ...env }, timeout: 120_000 },
      (err, stdout, stderr) => (err ? reject(err) : resolve({ stdout, stderr })),
    ),
  );
}

/**
 * A package root with the real launcher, a "built" dist/ and "sources" that say which one ran:
 * bin/gridflex.mjs must run dist/ when it is the build of the sources and the sources otherwise.
 */
describe('bin/gridflex.mjs runs the build only when it is current', () => {
  let root: string;
  const past = new Date(Date.now() - 3_600_000);
  const touchPast = (path: string) => utimesSync(path, past, past);

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'gfx-launcher-'));
    cpSync(join(repo, 'bin'), join(root, 'bin'), { recursive: true });
    symlinkSync(join(repo, 'node_modules'), join(root, 'node_modules'));
    writeFileSync(join(root, 'package.json'), '{ "type": "module" }\n');
    mkdirSync(join(root, 'cli/commands'), { recursive: true });
    writeFileSync(join(root, 'cli/main.ts'), "const from: string = 'sources';\nconsole.log(from);\n");
    writeFileSync(join(root, 'cli/commands/x.ts'), 'export {};\n');
    mkdirSync(join(root, 'dist/cli'), { recursive: true });
    writeFileSync(join(root, 'dist/cli/main.js'), "console.log('dist');\n");
    for (const p of ['cli/main.ts', 'cli/commands/x.ts', 'cli/commands', 'cli', 'bin/freshness.mjs'])
      touchPast(join(root, p));
    writeFileSync(join(root, 'dist/build.json'), JSON.stringify({ startedAtMs: Date.now() - 60_000 }));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('runs dist/ when no source changed after the build, silently', async () => {
    expect(await run(root)).toEqual({ stdout: 'dist\n', stderr: '' });
  });

  it('runs the sources, saying why, when a source file changed after the build', async () => {
    writeFileSync(join(root, 'cli/commands/x.ts'), 'export const changed = 1;\n');
    const r = await run(root);
    expect(r.stdout).toBe('sources\n');
    expect(r.stderr).toMatch(
      /running the TypeScript sources \(cli\/commands\/x\.ts changed after the build\)/,
    );
  }, 120_000);

  it('notices a file added or removed (its folder changes)', async () => {
    rmSync(join(root, 'cli/commands/x.ts'));
    const r = await run(root);
    expect(r.stdout).toBe('sources\n');
    expect(r.stderr).toMatch(/cli\/commands changed after the build/);
  }, 120_000);

  it('runs the sources when dist/ was never built, and when GRIDFLEX_FROM_SOURCE=1 (quietly)', async () => {
    expect(await run(root, { GRIDFLEX_FROM_SOURCE: '1' })).toEqual({ stdout: 'sources\n', stderr: '' });
    rmSync(join(root, 'dist/build.json'));
    const r = await run(root);
    expect(r.stdout).toBe('sources\n');
    expect(r.stderr).toMatch(/dist\/ is not built/);
  }, 120_000);

  it('runs dist/ where no sources ship beside it (an image with dist/ and bin/ only)', async () => {
    rmSync(join(root, 'cli'), { recursive: true });
    expect(await run(root)).toEqual({ stdout: 'dist\n', stderr: '' });
  });
});
