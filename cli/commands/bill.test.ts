import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../config/version.js';
import { monthPeriod, parseReadingsCsv } from '../../ledger/index.js';
import { csvToSdatCh } from '../../ledger/testing.js';
import { openStore } from '../../store/index.js';
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
      // readings, run, 4 bills and the seal signing them with the key created in <data>/ledger-keys.
      expect(verify.stdout).toMatch(/ledger OK: 7 entries, .*; 1 signed checkpoints/);
    },
    3 * SLOW,
  );

  it(
    'bills from the store through the community file’s points map, like from the CSV',
    async () => {
      const data = join(dir, 'store-data');
      const points: Record<string, string> = {
        pv: 'zev/pv/export',
        'm-A': 'zev/flat-a/import',
        'm-B': 'zev/flat-b/import',
        'm-C': 'zev/flat-c/import',
      };
      const store = await openStore({ dataDir: data });
      try {
        await store.readings.describePoints(
          Object.values(points).map((key) => ({ key, kind: 'energy_import' as const, unit: 'Wh' })),
        );
        // Each quarter-hour's last counter reading one second before it ends, as a polling gateway leaves it.
        const batch = parseReadingsCsv(await readFile(csv, 'utf8'));
        const p = monthPeriod('2026-10', 'Europe/Zurich');
        for (const [meter, key] of Object.entries(points)) {
          const s = batch.meters.get(meter)!;
          let wh = 0;
          const rows = [];
          for (let ms = p.startMs; ms <= p.endMs; ms += Q) {
            rows.push({ pointId: key, ts: ms - 1000, value: wh, quality: 'good' as const });
            wh += (s.get(ms)?.[0] ?? 0) / 1000;
          }
          await store.readings.ingest(rows);
        }
      } finally {
        await store.close();
      }
      const file = join(dir, 'community-points.yaml');
      const yaml = await readFile(community, 'utf8');
      await writeFile(
        file,
        `${yaml}points:\n${Object.entries(points)
          .map(([m, k]) => `  ${m}: ${k}\n`)
          .join('')}`,
      );
      const out = join(dir, 'from-store');
      const r = await cli(
        ['bill', '--community', file, '--from-store', '--period', '2026-10'].concat([
          '--format',
          'csv',
          '--out',
          out,
          '--data',
          data,
        ]),
      );
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/issued: 4 bills/);
      const fromCsv = join(dir, 'from-csv');
      await cli(
        ['bill', '--community', file, '--readings', csv, '--period', '2026-10'].concat([
          '--format',
          'csv',
          '--out',
          fromCsv,
          '--data',
          join(dir, 'csv-data'),
        ]),
      );
      for (const bill of ['anna', 'ben', 'carla', 'owner-c'])
        expect(await readFile(join(out, `zev-example-2026-10-${bill}.csv`), 'utf8')).toBe(
          await readFile(join(fromCsv, `zev-example-2026-10-${bill}.csv`), 'utf8'),
        );
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
      const neither = await cli(['bill', '--community', community, '--period', '2026-10']);
      expect(neither.code).toBe(2);
      expect(neither.stderr).toMatch(/--readings: give either --readings CSV or --from-store/);
      const format = await cli([
        'bill',
        '--community',
        community,
        '--readings',
        csv,
        '--readings-format',
        'mscons',
        '--period',
        '2026-10',
      ]);
      expect(format.code).toBe(2);
      expect(format.stderr).toMatch(/--readings-format: /);
    },
    SLOW,
  );

  it(
    'bills from a folder of SDAT-CH E66 documents as from the same readings in CSV',
    async () => {
      const xmlDir = join(dir, 'sdat');
      await mkdir(xmlDir);
      for (const doc of csvToSdatCh(octoberCsv(), ['pv'])) await writeFile(join(xmlDir, doc.name), doc.text);
      const out = join(dir, 'bills-sdat');
      const r = await cli([
        'bill',
        '--community',
        community,
        '--readings',
        xmlDir,
        '--readings-format',
        'sdat-ch',
        '--period',
        '2026-10',
        '--format',
        'json',
        '--out',
        out,
        '--data',
        join(dir, 'data-sdat'),
      ]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/zev-example 2026-10: 2980 quarter-hours/);
      expect(r.stdout).toMatch(/issued: 4 bills/);
      const anna = JSON.parse(await readFile(join(out, 'zev-example-2026-10-anna.json'), 'utf8'));
      expect(anna.quality).toMatchObject({ estimatedIntervals: 0, sourceEstimatedIntervals: 0 });
      expect(anna.energy.solarMwh).toBeGreaterThan(0);
    },
    SLOW,
  );
});
