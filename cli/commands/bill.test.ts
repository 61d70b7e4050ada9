import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../config/version.js';
import { monthPeriod } from '../../ledger/index.js';
import { chromium } from '../../testkit/system.js';
import { runCli } from '../testing.js';

const Q = 900_000;
const env = { DATABASE_URL: '' };
// Starting the CLI loads every command's libraries; on a busy 2-core machine that takes a while.
const SLOW = 240_000;
const cli = (args: string[]) => runCli(args, env, SLOW);

/** October 2026 in Zurich: a sunny-day PV shape and three households. */
function octoberCsv(): string {
  const p = monthPeriod('2026-10', 'Europe/Zurich');
  const rows = ['meter,start,kwh'];
  for (let ms = p.startMs, t = 0; ms < p.endMs; ms += Q, t++) {
    const h = new Date(ms).getUTCHours() + new Date(ms).getUTCMinutes() / 60;
    const pv = h > 6 && h < 16 ? Math.round(2_000_000 * Math.sin(((h - 6) / 10) * Math.PI)) : 0;
    const start = new Date(ms).toISOString();
    rows.push(`pv,${start},${(pv / 1e6).toFixed(6)}`);
    rows.push(`m-A,${start},${(0.2 + (t % 7) * 0.05).toFixed(3)}`);
    rows.push(`m-B,${start},${(0.1 + (t % 5) * 0.1).toFixed(3)}`);
    rows.push(`m-C,${start},${(0.3 + (t % 3) * 0.02).toFixed(3)}`);
  }
  return `${rows.join('\n')}\n`;
}

describe('gridflex bill and gridflex ledger verify', () => {
  let dir: string;
  let csv: string;
  const community = join(packageRoot(), 'ledger/examples/zev-example.yaml');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gfx-bill-'));
    csv = join(dir, 'october.csv');
    await writeFile(csv, octoberCsv());
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it(
    'issues one bill per tenancy, splits the mid-month tenant change, and verifies the ledger',
    async () => {
      const out = join(dir, 'bills');
      const args = ['bill', '--community', community, '--readings', csv, '--period', '2026-10', '--out', out];
      const r = await cli([...args, '--data', join(dir, 'data')]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/zev-example 2026-10: 2980 quarter-hours/);
      expect(r.stdout).toMatch(/issued: 4 bills/);
      const files = (await readdir(out)).sort();
      expect(files).toEqual([
        'allocation.csv',
        'summary.txt',
        'zev-example-2026-10-anna.html',
        'zev-example-2026-10-ben.html',
        'zev-example-2026-10-carla.html',
        'zev-example-2026-10-owner-c.html',
      ]);
      const ben = await readFile(join(out, 'zev-example-2026-10-ben.html'), 'utf8');
      expect(ben).toContain('2026-10-01 00:00 to 2026-10-16 00:00');
      const checkpoint = /checkpoint (\d+:[0-9a-f]{64})/.exec(r.stdout)![1]!;
      expect(ben).toContain(checkpoint.split(':')[1]);
      expect((await readFile(join(out, 'allocation.csv'), 'utf8')).split('\n').length).toBe(2980 * 3 + 2);

      const again = await cli([...args, '--data', join(dir, 'data')]);
      expect(again.stdout).toMatch(/already issued, unchanged: 4 bills/);

      const verify = await cli(['ledger', 'verify', '--data', join(dir, 'data'), '--checkpoint', checkpoint]);
      expect(verify.code).toBe(0);
      expect(verify.stdout).toMatch(/ledger OK: 6 entries/);
    },
    3 * SLOW,
  );

  it.skipIf(chromium().skipReason)(
    'writes the issued bills as PDF',
    async () => {
      const out = join(dir, 'pdf');
      const r = await cli(
        ['bill', '--community', community, '--readings', csv, '--period', '2026-10'].concat([
          '--format',
          'pdf',
          '--out',
          out,
          '--data',
          join(dir, 'data'),
        ]),
      );
      expect(r.code).toBe(0);
      const pdf = await readFile(join(out, 'zev-example-2026-10-carla.pdf'));
      expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    },
    SLOW,
  );

  it(
    'names the bad flag and exits 2',
    async () => {
      const r = await cli([
        'bill',
        '--community',
        community,
        '--readings',
        csv,
        '--period',
        '2026-13',
        '--format',
        'json',
      ]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--period: expected a month such as 2026-10/);
    },
    SLOW,
  );
});
