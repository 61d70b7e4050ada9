import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { loadConfigFile } from '../../config/load.js';
import {
  allocationCsv,
  billCsv,
  billHtml,
  billJson,
  CommunitySchema,
  communityReadingsFromStore,
  compileCommunity,
  issueBills,
  Ledger,
  monthPeriod,
  parseReadingsCsv,
  parseSdatCh,
  type ReadingsBatch,
  summaryText,
} from '../../ledger/index.js';
import { htmlToPdf } from '../../ledger/pdf.js';
import { GridflexError } from '../../model/index.js';
import { openStore } from '../../store/index.js';
import { parseOptions } from '../args.js';

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
            'GFX_CLI_ARGS',
            `--method ${opts.method} needs a sharePercent for every unit in ${opts.community}`,
            {
              status: 400,
            },
          );
      }
      const community = compileCommunity(config);
      const period = monthPeriod(opts.period, community.tz);
      const imported = opts.readings ? await readReadings(opts.readings, opts.readingsFormat) : null;
      const store = await openStore(
        process.env.DATABASE_URL ? { url: process.env.DATABASE_URL } : { dataDir: opts.data },
      );
      try {
        const batch = imported
          ? imported()
          : await communityReadingsFromStore(store, config, period.startMs, period.endMs);
        const ledger = await Ledger.open(store);
        const result = await issueBills(ledger, community, period, batch, { correct: opts.correct });
        const out = opts.out ?? join('bills', `${config.id}-${opts.period}`);
        await mkdir(out, { recursive: true });
        // Chromium is loaded only for PDF; one browser prints every bill.
        const pdfs =
          opts.format === 'pdf' ? await htmlToPdf(result.bills.map((b) => billHtml(b, community.tz))) : [];
        for (const [i, bill] of result.bills.entries()) {
          const body =
            opts.format === 'json'
              ? billJson(bill)
              : opts.format === 'csv'
                ? billCsv(bill)
                : opts.format === 'pdf'
                  ? pdfs[i]!
                  : billHtml(bill, community.tz);
          await writeFile(join(out, `${bill.id}.${opts.format}`), body);
        }
        await writeFile(
          join(out, 'allocation.csv'),
          allocationCsv(
            result.billing,
            config.units.map((u) => u.id),
            community.tz,
          ),
        );
        await writeFile(join(out, 'summary.txt'), summaryText(result.billing.summary));
        process.stdout.write(summaryText(result.billing.summary));
        console.log(
          `${result.status === 'unchanged' ? 'already issued, unchanged' : result.status}: ${result.bills.length} bills in ${out}`,
        );
        console.log(`checkpoint ${result.checkpoint.seq}:${result.checkpoint.hash}`);
      } finally {
        await store.close();
      }
    });
}

/** The readings file(s), read now (a bad path exits 2); parsed when the batch is needed. */
async function readReadings(path: string, format: 'csv' | 'sdat-ch'): Promise<() => ReadingsBatch> {
  try {
    if (format === 'csv') {
      const text = await readFile(path, 'utf8');
      return () => parseReadingsCsv(text);
    }
    const names = (await stat(path)).isDirectory()
      ? (await readdir(path)).filter((n) => n.toLowerCase().endsWith('.xml')).map((n) => join(path, n))
      : [path];
    if (names.length === 0) throw new Error('no .xml file');
    const docs = await Promise.all(
      names.map(async (name) => ({ name: basename(name), text: await readFile(name, 'utf8') })),
    );
    return () => parseSdatCh(docs);
  } catch (err) {
    throw new GridflexError('GFX_CLI_ARGS', `--readings: cannot read ${path} (${(err as Error).message})`, {
      status: 400,
    });
  }
}
