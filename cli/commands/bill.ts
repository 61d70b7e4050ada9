import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Command } from 'commander';
import { z } from 'zod';
import { onStoreOrRunning, sendLedgerRequest } from '../../app/control.js';
import { type BillRequest, billMonth, type ReadingsInput, readingsBatch } from '../../app/ledger-requests.js';
import { loadConfigFile } from '../../config/load.js';
import {
  billCsv,
  billHtml,
  billJson,
  CommunitySchema,
  compileCommunity,
  htmlToPdf,
  type ReadingsBatch,
  summaryText,
} from '../../ledger/index.js';
import { GridflexError } from '../../model/index.js';
import { parseOptions } from '../args.js';
import { CLI_ERRORS } from '../errors.js';

export const BillOptionsSchema = z
  .object({
    community: z.string().min(1),
    readings: z.string().min(1).optional(),
    readingsFormat: z.enum(['csv', 'sdat-ch']).default('csv'),
    fromStore: z.boolean().default(false),
    period: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'expected a month such as 2026-10'),
    method: z.enum(['static', 'dynamic', 'hybrid']).optional(),
    format: z.enum(['json', 'csv', 'html', 'pdf']),
    out: z.string().min(1).optional(),
    data: z.string().min(1),
    correct: z.boolean().default(false),
  })
  .refine((o) => (o.readings === undefined) === o.fromStore, {
    path: ['readings'],
    message: 'give either --readings CSV or --from-store',
  });

export function register(program: Command): void {
  program
    .command('bill')
    .description(
      'allocate communal solar for one month, issue each unit’s bill into the tamper-evident ledger and write the bills',
    )
    .requiredOption('--community <file>', 'community file (YAML or JSON)')
    .option(
      '--readings <file>',
      '15-minute readings: a CSV (meter,start,kwh[,quality]), or for sdat-ch an XML file or a folder of them',
    )
    .option('--readings-format <f>', 'csv or sdat-ch (SDAT-CH E66 load profiles)', 'csv')
    .option(
      '--from-store',
      'read the meters from the store (the community file’s points map) instead of a CSV',
    )
    .requiredOption('--period <YYYY-MM>', 'the month to bill, in the community’s time zone')
    .option('--method <m>', 'static, dynamic or hybrid (default: the community file’s)')
    .option('--format <f>', 'json, csv, html or pdf (pdf needs Chromium)', 'html')
    .option('--out <dir>', 'output folder (default ./bills/<community>-<period>)')
    .option(
      '--data <dir>',
      'embedded database folder unless DATABASE_URL is set',
      process.env.GRIDFLEX_DATA ?? './data',
    )
    .option('--correct', 'the period was billed from other readings: reverse those bills and issue new ones')
    .action(async (raw) => {
      const opts = parseOptions(BillOptionsSchema, raw, 'bill');
      const config = await loadConfigFile(CommunitySchema, opts.community);
      if (opts.method) {
        config.allocation.method = opts.method;
        if (opts.method === 'hybrid') config.allocation.hybridVariant ??= 'residual-demand';
        if (opts.method !== 'dynamic' && config.units.some((u) => u.sharePercent === undefined))
          throw new GridflexError(
            CLI_ERRORS.ARGS,
            `--method ${opts.method} needs a sharePercent for every unit in ${opts.community}`,
            {
              kind: 'input',
            },
          );
      }
      // Compiled here too, so a community that cannot be billed is named before the store opens.
      const { tz } = compileCommunity(config);
      const req: BillRequest = {
        op: 'bill',
        community: config,
        period: opts.period,
        readings: opts.readings
          ? await readReadings(opts.readings, opts.readingsFormat)
          : { format: 'store' },
        correct: opts.correct,
      };
      let batch: ReadingsBatch | null = null;
      // While `gridflex run` holds the embedded database, it bills (its control socket); the
      // bills are written here either way.
      const result = await onStoreOrRunning(
        { url: process.env.DATABASE_URL, dataDir: opts.data },
        (store) => billMonth(store, opts.data, req, batch),
        () => sendLedgerRequest(opts.data, req),
        // The file is parsed while PGlite compiles its WebAssembly off the main thread.
        () => {
          batch = readingsBatch(req.readings);
        },
      );
      const out = opts.out ?? join('bills', `${config.id}-${opts.period}`);
      // The community file's name, address and account go on every bill (render.ts BillView).
      const view = { issuer: { name: config.name, config: config.issuer } };
      await mkdir(out, { recursive: true });
      // Chromium (playwright-core) is loaded only for PDF (inside htmlToPdf); one browser prints every bill.
      const pdfs =
        opts.format === 'pdf' ? await htmlToPdf(result.bills.map((b) => billHtml(b, tz, view))) : [];
      for (const [i, bill] of result.bills.entries()) {
        const body =
          opts.format === 'json'
            ? billJson(bill)
            : opts.format === 'csv'
              ? billCsv(bill, view)
              : opts.format === 'pdf'
                ? pdfs[i]!
                : billHtml(bill, tz, view);
        await writeFile(join(out, `${bill.id}.${opts.format}`), body);
      }
      await writeFile(join(out, 'allocation.csv'), result.allocationCsv);
      await writeFile(join(out, 'summary.txt'), summaryText(result.summary));
      process.stdout.write(summaryText(result.summary));
      console.log(
        `${result.status === 'unchanged' ? 'already issued, unchanged' : result.status}: ${result.bills.length} bills in ${out}`,
      );
      console.log(`checkpoint ${result.checkpoint.seq}:${result.checkpoint.hash}`);
    });
}

/** A few formats people pass by mistake, named by their first bytes. */
const NOT_TEXT: [number[], string][] = [
  [[0x50, 0x4b, 0x03, 0x04], 'a ZIP archive (an Excel .xlsx is one): export the sheet as CSV'],
  [[0x25, 0x50, 0x44, 0x46], 'a PDF document'],
  [[0x42, 0x5a, 0x68], 'bzip2-compressed: decompress it, or compress it with gzip'],
  [[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], 'xz-compressed: decompress it, or compress it with gzip'],
  [[0x28, 0xb5, 0x2f, 0xfd], 'zstd-compressed: decompress it, or compress it with gzip'],
  [[0xd0, 0xcf, 0x11, 0xe0], 'an old Excel/Office file: export the sheet as CSV'],
];

/**
 * The text of a readings file, gunzipped when its content is gzip (whatever its name), or an
 * error that says what the file is when it is neither text nor gzip.
 */
export function readingsText(raw: Buffer, path: string): string {
  const gzip = raw[0] === 0x1f && raw[1] === 0x8b;
  let bytes = raw;
  if (gzip) {
    try {
      bytes = gunzipSync(raw);
    } catch (err) {
      throw new GridflexError(
        CLI_ERRORS.ARGS,
        `--readings: ${path} is gzip but cannot be decompressed (${(err as Error).message})`,
        { kind: 'input' },
      );
    }
  }
  const known = NOT_TEXT.find(([magic]) => magic.every((byte, i) => bytes[i] === byte));
  let text: string | null = null;
  if (!known) {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {}
  }
  if (text === null || text.includes('\0')) {
    const what =
      known?.[1] ??
      `binary data (starts with ${[...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ')})`;
    throw new GridflexError(
      CLI_ERRORS.ARGS,
      `--readings: ${path}${gzip ? ' (gzip)' : ''} is neither CSV text nor gzip-compressed CSV: it is ${what}`,
      { kind: 'input' },
    );
  }
  return text;
}

/**
 * The readings file(s) as text, read now (a bad path exits 2); parsed where the bills are
 * issued. Either format may be gzip-compressed: recognised by its content, not by a `.gz` name.
 */
async function readReadings(path: string, format: 'csv' | 'sdat-ch'): Promise<ReadingsInput> {
  let read: { name: string; raw: Buffer }[];
  try {
    const names =
      format === 'csv' || !(await stat(path)).isDirectory()
        ? [path]
        : (await readdir(path))
            .filter((n) => /\.xml(\.gz)?$/i.test(n))
            .sort()
            .map((n) => join(path, n));
    if (names.length === 0) throw new Error('no .xml file');
    read = await Promise.all(names.map(async (name) => ({ name, raw: await readFile(name) })));
  } catch (err) {
    throw new GridflexError(CLI_ERRORS.ARGS, `--readings: cannot read ${path} (${(err as Error).message})`, {
      kind: 'input',
    });
  }
  const docs = read.map(({ name, raw }) => ({ name: basename(name), text: readingsText(raw, name) }));
  return format === 'csv' ? { format: 'csv', text: docs[0]!.text } : { format: 'sdat-ch', docs };
}
