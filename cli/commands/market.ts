import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { z } from 'zod';
import { DurationSchema, GridflexError, IdSchema } from '../../model/index.js';
import { parseOptions } from '../args.js';
import { CLI_ERRORS } from '../errors.js';

const H = 3_600_000;
const Iso = z.iso.datetime({ offset: true, message: 'expected an ISO 8601 time like 2026-11-23T10:00:00Z' });

/** Where the API is and who calls it: every market subcommand talks HTTP with an API token. */
const ConnectionSchema = z.object({
  url: z.url({ protocol: /^https?$/, message: 'expected the server address, e.g. http://127.0.0.1:8080' }),
  token: z
    .string({
      message: 'an API token is needed: --token or GRIDFLEX_TOKEN (gridflex user token NAME --write)',
    })
    .regex(/^gfx_[0-9a-f]{12}_[\w-]+$/, 'expected a token like gfx_<id>_<secret> (gridflex user token)'),
  portfolio: IdSchema.optional(),
  json: z.boolean().default(false),
});

export const AvailabilityOptionsSchema = ConnectionSchema.extend({
  product: IdSchema,
  from: Iso.optional(),
  to: Iso.optional(),
}).refine((o) => !o.from || !o.to || Date.parse(o.to) > Date.parse(o.from), {
  path: ['to'],
  message: 'must be after --from',
});

export const ActivateOptionsSchema = ConnectionSchema.extend({
  product: IdSchema,
  kw: z
    .string()
    .regex(/^\d+(\.\d+)?$/, 'expected kW as a positive number, e.g. 250 or 12.5')
    .transform(Number)
    .refine((n) => n > 0 && n <= 1_000_000, 'expected kW above 0 and at most 1,000,000'),
  duration: DurationSchema.refine((ms) => ms <= 24 * H, 'at most 24h'),
  start: Iso.optional(),
  direction: z.enum(['up', 'down']).optional(),
  id: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/, 'use letters, digits, ".", "_", ":" and "-"')
    .optional(),
});

/**
 * `--period`: a UTC day `2026-11-23`, a UTC month `2026-11`, or `FROM/TO` in ISO 8601.
 * Returned as the half-open range it names.
 */
export const PeriodSchema = z.string().transform((text, ctx) => {
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  const month = /^(\d{4})-(\d{2})$/.exec(text);
  let fromMs = Number.NaN;
  let toMs = Number.NaN;
  if (day) {
    fromMs = Date.UTC(+day[1]!, +day[2]! - 1, +day[3]!);
    toMs = fromMs + 24 * H;
    if (new Date(fromMs).toISOString().slice(0, 10) !== text) fromMs = Number.NaN;
  } else if (month) {
    fromMs = Date.UTC(+month[1]!, +month[2]! - 1, 1);
    toMs = Date.UTC(+month[1]!, +month[2]!, 1);
    if (+month[2]! < 1 || +month[2]! > 12) fromMs = Number.NaN;
  } else if (text.includes('/')) {
    const [a, b] = text.split('/');
    if (Iso.safeParse(a).success && Iso.safeParse(b).success) {
      fromMs = Date.parse(a!);
      toMs = Date.parse(b!);
    }
  }
  if (!Number.isFinite(fromMs) || !Number.isFinite(toMs)) {
    ctx.addIssue({
      code: 'custom',
      message: 'expected a day (2026-11-23), a month (2026-11) or FROM/TO in ISO 8601',
    });
    return z.NEVER;
  }
  if (!(toMs > fromMs)) {
    ctx.addIssue({ code: 'custom', message: 'the end must be after the start' });
    return z.NEVER;
  }
  return { fromMs, toMs };
});

export const BidsOptionsSchema = ConnectionSchema.extend({
  from: Iso.optional(),
  to: Iso.optional(),
  build: z.boolean().default(false),
  product: IdSchema.optional(),
  price: z
    .string()
    .regex(/^\d+$/, 'expected a price in whole cents per MW and hour, e.g. 900')
    .transform(Number)
    .optional(),
  replace: z.boolean().default(false),
})
  .refine((o) => !o.from || !o.to || Date.parse(o.to) > Date.parse(o.from), {
    path: ['to'],
    message: 'must be after --from',
  })
  .refine((o) => !o.build || (o.product && o.price !== undefined), {
    path: ['build'],
    message: '--build needs --product and --price',
  })
  .refine((o) => o.build || !o.replace, { path: ['replace'], message: 'only with --build' });

/** `--bid ID` or `--bid ID=KW` (a partial acceptance), repeated. */
const BidAcceptanceSchema = z.string().transform((text, ctx) => {
  const m = /^([^=\s]+)(?:=(\d+(?:\.\d+)?))?$/.exec(text);
  if (!m) {
    ctx.addIssue({ code: 'custom', message: 'expected a bid id, or ID=KW for a partial acceptance' });
    return z.NEVER;
  }
  return { bidId: m[1]!, ...(m[2] ? { acceptedKw: Number(m[2]) } : {}) };
});

export const AcceptOptionsSchema = ConnectionSchema.extend({
  product: IdSchema,
  bid: z.array(BidAcceptanceSchema).min(1, 'name at least one --bid'),
  yes: z.boolean().default(false),
}).refine((o) => o.yes, {
  path: ['yes'],
  message: 'accepting bids sells capacity: check the bids with `gridflex market bids`, then add --yes',
});

export const CancelOptionsSchema = ConnectionSchema.extend({
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/, 'use letters, digits, ".", "_", ":" and "-"'),
});

export const ReportOptionsSchema = ConnectionSchema.extend({
  period: PeriodSchema,
  format: z.enum(['csv', 'json']).default('csv'),
  out: z.string().min(1).optional(),
});

type Connection = z.output<typeof ConnectionSchema>;

/** One API call; a refusal becomes a GridflexError carrying the server's message and status. */
async function api(c: Connection, method: 'GET' | 'POST', path: string, body?: unknown): Promise<Response> {
  const url = new URL(path, c.url);
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${c.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new GridflexError(
      CLI_ERRORS.CONNECT,
      `cannot reach ${url.origin}: ${cause?.code ?? cause?.message ?? (err as Error).message} (is gridflex running there? --url)`,
      { kind: 'unavailable' },
    );
  }
  if (res.ok) return res;
  const text = await res.text();
  let message = text.slice(0, 500);
  let code = `HTTP_${res.status}`;
  try {
    const e = JSON.parse(text) as { error?: string; message?: string };
    if (e.message) message = e.message;
    if (e.error) code = e.error;
  } catch {
    // Not JSON (a proxy's page): the text itself is the best explanation we have.
  }
  const hint =
    res.status === 401
      ? ' (the token is unknown or revoked)'
      : res.status === 403 && code === 'GFX_TOKEN_READ_ONLY'
        ? ' (create a token with --write)'
        : '';
  throw new GridflexError(code, `${url.pathname}: ${message}${hint}`, {
    // The server refused the request (4xx: the user's input or rights) or failed (5xx).
    kind: res.status < 500 ? 'input' : 'unavailable',
  });
}

/** The portfolio named, or the only one the token may see. */
async function portfolioOf(c: Connection): Promise<string> {
  if (c.portfolio) return c.portfolio;
  const { portfolios } = (await (await api(c, 'GET', '/api/portfolios')).json()) as {
    portfolios: { id: string }[];
  };
  if (portfolios.length === 1) return portfolios[0]!.id;
  throw new GridflexError(
    CLI_ERRORS.ARGS,
    portfolios.length === 0
      ? '--portfolio: this token sees no portfolio'
      : `--portfolio: choose one of ${portfolios.map((p) => p.id).join(', ')}`,
    { kind: 'input' },
  );
}

const kwText = (kw: number) => kw.toFixed(1).padStart(9);

interface AvailabilitySlot {
  startMs: number;
  endMs: number;
  upKw: number;
  downKw: number;
  sites: { siteId: string; upKw: number; downKw: number }[];
}

function connection(cmd: Command): Command {
  return cmd
    .option(
      '--url <url>',
      'Gridflex server (env GRIDFLEX_URL)',
      process.env.GRIDFLEX_URL ?? 'http://127.0.0.1:8080',
    )
    .option('--token <token>', 'API token (env GRIDFLEX_TOKEN); `gridflex user token` issues one')
    .option('--portfolio <id>', 'portfolio; default: the only one the token may see')
    .option('--json', 'print the JSON the API answers');
}

/** Environment fallbacks are read when the command runs, not when it is registered. */
const withEnv = (raw: Record<string, unknown>) => ({ token: process.env.GRIDFLEX_TOKEN, ...raw });

export function register(program: Command): void {
  const market = program
    .command('market')
    .description(
      'the operator side of the market over the HTTP API: availability, bids, acceptances, activations, delivery reports',
    );

  connection(
    market
      .command('availability')
      .description(
        "flexibility still available per 15-minute slot from now (kW in the product's directions, after what is sold)",
      )
      .requiredOption('--product <id>', 'product (program), e.g. mfrr, fcr-n, dr-event')
      .option('--from <iso>', 'start (ISO 8601); default: the current quarter-hour')
      .option('--to <iso>', 'end (ISO 8601); default: 24 h after --from'),
  ).action(async (raw) => {
    const o = parseOptions(AvailabilityOptionsSchema, withEnv(raw), 'market availability');
    const portfolio = await portfolioOf(o);
    const q = new URLSearchParams({ product: o.product });
    if (o.from) q.set('from', o.from);
    if (o.to) q.set('to', o.to);
    const body = (await (await api(o, 'GET', `/api/portfolios/${portfolio}/availability?${q}`)).json()) as {
      slots: AvailabilitySlot[];
    };
    if (o.json) return void console.log(JSON.stringify(body, null, 2));
    // Only the directions the product moves: an up-only product has no "down" to offer.
    const view = (await (await api(o, 'GET', `/api/portfolios/${portfolio}/view`)).json()) as {
      products: { id: string; direction: 'up' | 'down' | 'symmetric' }[];
    };
    const direction = view.products.find((p) => p.id === o.product)?.direction ?? 'symmetric';
    const up = direction !== 'down';
    const down = direction !== 'up';
    console.log(`${portfolio} · ${o.product} · kW still available (UTC)`);
    console.log(`slot start        ${up ? '      up kW' : ''}${down ? '    down kW' : ''}`);
    for (const s of body.slots)
      console.log(
        `${new Date(s.startMs).toISOString().slice(0, 16)}Z  ${up ? kwText(s.upKw) : ''}${down ? ` ${kwText(s.downKw)}` : ''}`,
      );
  });

  connection(
    market
      .command('activate')
      .description('post an activation or DR event; repeat with the same --id to retry safely')
      .requiredOption('--product <id>', 'product (program), e.g. mfrr or dr-event')
      .requiredOption('--kw <kw>', 'kW to deliver')
      .requiredOption('--duration <d>', 'how long, e.g. 15m or 1h')
      .option('--start <iso>', 'start (ISO 8601); default: now')
      .option('--direction <dir>', 'up or down (symmetric products need one)')
      .option('--id <id>', 'activation id; default: a new one (printed), reuse it to retry'),
  ).action(async (raw) => {
    const o = parseOptions(ActivateOptionsSchema, withEnv(raw), 'market activate');
    const portfolio = await portfolioOf(o);
    const id =
      o.id ??
      `cli-${new Date().toISOString().replace(/[-:.]/g, '').slice(0, 15)}-${randomBytes(3).toString('hex')}`;
    const res = await api(o, 'POST', `/api/portfolios/${portfolio}/events`, {
      id,
      productId: o.product,
      kw: o.kw,
      durationMs: o.duration,
      ...(o.start ? { start: o.start } : {}),
      ...(o.direction ? { direction: o.direction } : {}),
    });
    const view = (await res.json()) as {
      activation: { id: string; state: string; plan: { sites: { siteId: string; kw: number }[] } };
      history: { state: string; note: string | null }[];
    };
    if (o.json) return void console.log(JSON.stringify(view, null, 2));
    const a = view.activation;
    console.log(
      `${res.status === 201 ? 'activation' : 'activation already posted (nothing done again)'} ${a.id}: ${a.state}`,
    );
    for (const s of a.plan.sites) console.log(`  ${s.siteId}: ${s.kw} kW`);
    const note = view.history.at(-1)?.note;
    if (note) console.log(`  ${note}`);
    if (a.state === 'failed') process.exitCode = 1;
  });

  connection(
    market
      .command('bids')
      .description(
        'bids and obligations of a range; with --build, build and store bids from what is available',
      )
      .option('--from <iso>', 'start (ISO 8601); default: the current hour')
      .option('--to <iso>', 'end (ISO 8601); default: 24 h after --from')
      .option('--build', 'build bids for --product at --price (periods that have started are skipped)')
      .option('--product <id>', 'product (program) to bid, with --build')
      .option('--price <cents>', 'price in cents per MW and hour, with --build')
      .option('--replace', 'replace bids stored before for these periods (else they are refused)'),
  ).action(async (raw) => {
    const o = parseOptions(BidsOptionsSchema, withEnv(raw), 'market bids');
    const portfolio = await portfolioOf(o);
    if (o.build) {
      const hour = Math.ceil(Date.now() / H) * H;
      const from = o.from ?? new Date(hour).toISOString();
      const built = (await (
        await api(o, 'POST', `/api/portfolios/${portfolio}/bids`, {
          productId: o.product,
          from,
          to: o.to ?? new Date(Date.parse(from) + 24 * H).toISOString(),
          strategy: { kind: 'fixed', priceCentsPerMwh: o.price },
          replace: o.replace,
        })
      ).json()) as {
        bids: { id: string; kw: number }[];
        skipped: { startMs: number; reason: string; kw: number }[];
        versions: Record<string, number>;
      };
      if (o.json) return void console.log(JSON.stringify(built, null, 2));
      console.log(`${portfolio} · ${o.product} · ${built.bids.length} bids stored`);
      for (const b of built.bids)
        console.log(`  ${b.id}  ${kwText(b.kw)} kW  version ${built.versions[b.id]}`);
      for (const k of built.skipped)
        console.log(`  skipped ${new Date(k.startMs).toISOString().slice(0, 16)}Z: ${k.reason} (${k.kw} kW)`);
      return;
    }
    const q = new URLSearchParams();
    if (o.from) q.set('from', o.from);
    if (o.to) q.set('to', o.to);
    const body = (await (await api(o, 'GET', `/api/portfolios/${portfolio}/bids?${q}`)).json()) as {
      bids: {
        bid: { id: string; kw: number; priceCentsPerMwh: number };
        accepted: boolean;
        version: number;
      }[];
      obligations: { id: string; kw: number }[];
    };
    if (o.json) return void console.log(JSON.stringify(body, null, 2));
    console.log(`${portfolio} · bids (UTC)`);
    for (const b of body.bids)
      console.log(
        `  ${b.bid.id}  ${kwText(b.bid.kw)} kW  ${b.bid.priceCentsPerMwh} c/MWh  v${b.version}${b.accepted ? '  accepted' : ''}`,
      );
    for (const ob of body.obligations) console.log(`  obligation ${ob.id}: ${ob.kw} kW held`);
  });

  connection(
    market
      .command('accept')
      .description("record the market's acceptance of bids (they become obligations to hold)")
      .requiredOption('--product <id>', 'product (program) of the bids')
      .requiredOption(
        '--bid <id[=kw]>',
        'a bid to accept, ID=KW for part of it; repeat for several',
        (v: string, acc: string[] = []) => [...acc, v],
      )
      .option('--yes', 'confirm: this sells the capacity'),
  ).action(async (raw) => {
    const o = parseOptions(AcceptOptionsSchema, withEnv(raw), 'market accept');
    const portfolio = await portfolioOf(o);
    const res = (await (
      await api(o, 'POST', `/api/portfolios/${portfolio}/acceptances`, {
        productId: o.product,
        acceptances: o.bid,
      })
    ).json()) as { obligations: { id: string; kw: number; priceCentsPerMwh: number }[] };
    if (o.json) return void console.log(JSON.stringify(res, null, 2));
    for (const ob of res.obligations)
      console.log(`accepted ${ob.id}: ${ob.kw} kW at ${ob.priceCentsPerMwh} c/MWh`);
  });

  connection(
    market
      .command('cancel')
      .description('cancel an activation; a running one is restored first (repeating it is harmless)')
      .requiredOption('--id <id>', 'activation id'),
  ).action(async (raw) => {
    const o = parseOptions(CancelOptionsSchema, withEnv(raw), 'market cancel');
    const portfolio = await portfolioOf(o);
    const view = (await (
      await api(o, 'POST', `/api/portfolios/${portfolio}/events/${encodeURIComponent(o.id)}/cancel`)
    ).json()) as { activation: { id: string; state: string } };
    if (o.json) return void console.log(JSON.stringify(view, null, 2));
    console.log(`activation ${view.activation.id}: ${view.activation.state}`);
  });

  connection(
    market
      .command('report')
      .description('delivery reports (settlement rows) of the activations that started in a period')
      .requiredOption('--period <p>', 'a UTC day 2026-11-23, a month 2026-11, or FROM/TO in ISO 8601')
      .option('--format <f>', 'csv or json', 'csv')
      .option('--out <file>', 'write to a file instead of stdout'),
  ).action(async (raw) => {
    const o = parseOptions(ReportOptionsSchema, withEnv(raw), 'market report');
    const portfolio = await portfolioOf(o);
    const q = new URLSearchParams({
      from: new Date(o.period.fromMs).toISOString(),
      to: new Date(o.period.toMs).toISOString(),
      format: o.json ? 'json' : o.format,
    });
    const text = await (await api(o, 'GET', `/api/portfolios/${portfolio}/reports?${q}`)).text();
    if (o.out) {
      await writeFile(o.out, text);
      console.log(`wrote ${o.out}`);
    } else process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  });
}
