import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SMALLEST_RUN_CONFIG as CONFIG, runCli } from '../testing.js';

describe('gridflex run on an address that is taken (issue #15 finding 8)', () => {
  let dir: string;
  let busy: ReturnType<typeof createServer>;
  let port: number;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gfx-run-busy-'));
    await writeFile(join(dir, 'gridflex.yaml'), CONFIG);
    busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    port = (busy.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise<void>((r) => busy.close(() => r()));
    await rm(dir, { recursive: true, force: true });
  });

  it('says so in one line and exits 1, instead of a stack or hanging', async () => {
    const res = await runCli(
      [
        'run',
        '--config',
        join(dir, 'gridflex.yaml'),
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--data',
        join(dir, 'data'),
      ],
      { GRIDFLEX_DATA: join(dir, 'data') },
      240_000,
    );
    expect(res.code).toBe(1);
    const lines = res.stderr
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('gridflex:'));
    expect(lines).toEqual([
      `gridflex: 127.0.0.1:${port} is already in use (another Gridflex running?); stop it or choose another --port`,
    ]);
    expect(res.stderr).not.toMatch(/unexpected error|\n\s+at /);
  }, 300_000);
});
