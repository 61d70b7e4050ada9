import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlSocketPath, sendControlRequest } from '../../app/control.js';
import { packageRoot } from '../../config/version.js';
import { runCli, SMALLEST_RUN_CONFIG, startCli } from '../testing.js';

// Each CLI start loads every command's libraries from source: slow on the shared 2-core machine.
const SLOW = 240_000;
const env = { DATABASE_URL: '' };
const examples = `${packageRoot()}/deploy/examples`;

describe('gridflex bill and ledger verify while gridflex run holds the embedded database', () => {
  let dir: string;
  let data: string;
  let run: Awaited<ReturnType<typeof startCli>>;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gfx-bill-run-'));
    data = join(dir, 'data');
    await writeFile(join(dir, 'gridflex.yaml'), SMALLEST_RUN_CONFIG);
    run = await startCli(
      ['run', '--config', join(dir, 'gridflex.yaml'), '--host', '127.0.0.1', '--port', '0', '--data', data],
      /Press Ctrl-C to stop/,
      { ...env, GRIDFLEX_DATA: data },
      SLOW,
    );
  }, SLOW);
  afterAll(async () => {
    await run?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it(
    'bills a month through the running process, writes the bills here, and verifies the ledger',
    async () => {
      expect((await stat(controlSocketPath(data))).mode & 0o777).toBe(0o600);
      const out = join(dir, 'bills');
      const bill = await runCli(
        [
          'bill',
          '--community',
          `${examples}/zev-bern-community.yaml`,
          '--readings',
          `${examples}/zev-bern-readings.csv.gz`,
          '--period',
          '2026-10',
          '--format',
          'json',
          '--out',
          out,
          '--data',
          data,
        ],
        env,
        SLOW,
      );
      expect(bill.stderr).toBe('');
      expect(bill.code).toBe(0);
      const issued = /issued: (\d+) bills in /.exec(bill.stdout);
      expect(issued).not.toBeNull();
      const files = await readdir(out);
      expect(files.filter((f) => f.endsWith('.json'))).toHaveLength(Number(issued![1]));
      expect(files).toContain('allocation.csv');
      expect(await readFile(join(out, 'summary.txt'), 'utf8')).toMatch(
        /^zev-bern 2026-10: \d+ quarter-hours/,
      );
      const checkpoint = /checkpoint (\d+:[0-9a-f]{64})/.exec(bill.stdout)![1]!;
      const first = JSON.parse(await readFile(join(out, files.find((f) => f.endsWith('.json'))!), 'utf8'));
      expect(first.checkpoint.hash).toBe(checkpoint.split(':')[1]);

      const verify = await runCli(
        ['ledger', 'verify', '--data', data, '--checkpoint', checkpoint],
        env,
        SLOW,
      );
      expect(verify.stderr).toBe('');
      expect(verify.code).toBe(0);
      // The readings, the run, the bills and the seal signing them with the key in <data>/ledger-keys.
      expect(verify.stdout).toMatch(
        new RegExp(
          `^ledger OK: ${Number(issued![1]) + 3} entries, head \\d+:[0-9a-f]{64}; 1 signed checkpoints\\n$`,
        ),
      );
      expect(run.output()).not.toMatch(/gridflex:|Error/);
    },
    3 * SLOW,
  );

  it('refuses a request that is not JSON, names no op it does, or carries a field it does not take', async () => {
    await expect(
      sendControlRequest(data, { op: 'sql', text: 'DROP TABLE ledger_entries' }),
    ).rejects.toMatchObject({
      code: 'GFX_APP_CONTROL_REFUSED',
      kind: 'input',
      message: expect.stringMatching(/^control request is invalid: op: /),
    });
    // The running process writes no file a request names: the CLI writes the bills.
    await expect(sendControlRequest(data, { op: 'verify', out: '/tmp/elsewhere' })).rejects.toMatchObject({
      code: 'GFX_APP_CONTROL_REFUSED',
      message: expect.stringContaining('out'),
    });
    await expect(
      sendControlRequest(data, {
        op: 'bill',
        community: {},
        period: '2026-13',
        readings: { format: 'store' },
        correct: false,
      }),
    ).rejects.toMatchObject({
      code: 'GFX_APP_CONTROL_REFUSED',
      message: expect.stringMatching(/community\.|period/),
    });
    const raw = await new Promise<string>((ok, fail) => {
      const conn = createConnection(controlSocketPath(data), () => conn.write('DROP TABLE users\n'));
      let text = '';
      conn.setEncoding('utf8');
      conn.on('data', (d) => (text += d));
      conn.on('end', () => ok(text));
      conn.on('error', fail);
    });
    expect(JSON.parse(raw)).toMatchObject({
      ok: false,
      error: { code: 'GFX_APP_CONTROL_REFUSED', kind: 'input' },
    });
    const verified = (await sendControlRequest(data, { op: 'verify' })) as {
      op: string;
      result: { ok: boolean };
    };
    expect(verified).toMatchObject({ op: 'verify', result: { ok: true } });
  });
});
