import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../config/version.js';
import { monthPeriod } from '../../ledger/index.js';
import { runCli } from '../testing.js';
import { readingsText } from './bill.js';

const Q = 900_000;
const SLOW = 240_000;

/** October 2026 in Zurich for the example community's meters (pv, m-A, m-B, m-C). */
function octoberCsv(): string {
  const p = monthPeriod('2026-10', 'Europe/Zurich');
  const rows = ['meter,start,kwh'];
  for (let ms = p.startMs, t = 0; ms < p.endMs; ms += Q, t++) {
    const h = new Date(ms).getUTCHours();
    const start = new Date(ms).toISOString();
    rows.push(`pv,${start},${h > 6 && h < 16 ? '1.500000' : '0.000000'}`);
    rows.push(`m-A,${start},${(0.2 + (t % 7) * 0.05).toFixed(3)}`);
    rows.push(`m-B,${start},${(0.1 + (t % 5) * 0.1).toFixed(3)}`);
    rows.push(`m-C,${start},${(0.3 + (t % 3) * 0.02).toFixed(3)}`);
  }
  return `${rows.join('\n')}\n`;
}

describe('gridflex bill --readings: gzip by content, and a file that is neither', () => {
  const csv = 'meter,start,kwh\npv,2026-10-01T00:00:00Z,0\n';

  it('reads plain CSV and gzip-compressed CSV whatever the file is called', () => {
    expect(readingsText(Buffer.from(csv), 'r.csv.gz')).toBe(csv);
    expect(readingsText(gzipSync(csv), 'r.csv')).toBe(csv);
    expect(readingsText(gzipSync(csv), 'readings')).toBe(csv);
  });

  it('says what a file is when it is neither CSV nor gzip', () => {
    const zip = Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x06, 0x00]);
    expect(() => readingsText(zip, 'r.xlsx')).toThrow(
      /r\.xlsx is neither CSV text nor gzip-compressed CSV: it is a ZIP archive/,
    );
    expect(() => readingsText(Buffer.from('BZh91AY&SY'), 'r.csv')).toThrow(/it is bzip2-compressed/);
    const binary = Buffer.from([0x00, 0x01, 0x02, 0xff, 0xfe]);
    expect(() => readingsText(binary, 'r.csv')).toThrow(/it is binary data \(starts with 00 01 02 ff\)/);
    expect(() => readingsText(gzipSync(binary), 'r.csv.gz')).toThrow(/r\.csv\.gz \(gzip\) is neither/);
    expect(() => readingsText(Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00]), 'r.gz')).toThrow(
      /r\.gz is gzip but cannot be decompressed/,
    );
  });

  describe('through the command', () => {
    let dir: string;
    const community = join(packageRoot(), 'ledger/examples/zev-example.yaml');
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'gfx-bill-gz-'));
    });
    afterAll(async () => rm(dir, { recursive: true, force: true }));

    it(
      'bills a month from a gzip file named .csv',
      async () => {
        const file = join(dir, 'october.csv');
        await writeFile(file, gzipSync(octoberCsv()));
        const out = join(dir, 'bills');
        const r = await runCli(
          ['bill', '--community', community, '--readings', file, '--period', '2026-10', '--out', out],
          { DATABASE_URL: '', GRIDFLEX_DATA: join(dir, 'data') },
          SLOW,
        );
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(/issued: 4 bills/);
      },
      SLOW,
    );

    it(
      'exits 2 naming what the file is, before opening the database',
      async () => {
        const file = join(dir, 'readings.csv');
        await writeFile(file, Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00]));
        const r = await runCli(
          ['bill', '--community', community, '--readings', file, '--period', '2026-10'],
          { DATABASE_URL: '', GRIDFLEX_DATA: join(dir, 'never') },
          SLOW,
        );
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(
          /readings\.csv is neither CSV text nor gzip-compressed CSV: it is a ZIP archive/,
        );
        expect(r.stdout).toBe('');
      },
      SLOW,
    );
  });
});
