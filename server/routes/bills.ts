import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { BillBook, BillIssuer, IssuedBill } from '../../ledger/index.js';
import { GridflexError, MODEL_ERRORS } from '../../model/index.js';
import type { Store } from '../../store/index.js';
import { AuditLog } from '../audit.js';
import type { Identity, ScopeResolver } from '../auth/identity.js';
import type { AppContext } from '../context.js';
import { SERVER_ERRORS } from '../errors.js';
import type { LedgerApi } from '../modules.js';

/**
 * Bills from the ledger. A resident sees only its own unit's bills (another unit's: 404, as if
 * it did not exist), a board its community's summary and all its units' bills, an admin all.
 * The association summary reveals community totals, from which a neighbour's use can be
 * inferred in a small community (ledger.md § 8.5): it is for boards and admins only.
 *
 * Privacy (issue 15, finding 10): a household's consumption profile is personal data. The
 * board (and an admin) see a flat's bill with its monthly totals, lines and amounts, which
 * billing needs; its daily chart and the 15-minute profile only while the resident consents
 * (`PUT /api/units/:unit/consent`). Every look by someone other than the resident at a flat's
 * bill or profile is written to the audit log (`bill_viewed`, `profile_viewed`), as is every
 * change of consent (`profile_consent`). A resident exports its own profile (JSON or CSV).
 *
 * Verification: `/api/units/:unit/bills/:bill/verify` checks the whole ledger, the bill's seal
 * (signed checkpoint) against the community's public keys, and a checkpoint copied from a
 * printed bill, and says in plain words whether the bill is in the ledger as issued.
 */
const BillHeaderSchema = z.object({
  id: z.string(),
  community: z.string(),
  period: z.string(),
  unit: z.string(),
  unitName: z.string(),
  recipient: z.string(),
  currency: z.enum(['CHF', 'EUR']),
  totalMinor: z.number().int(),
  consumptionMwh: z.number().int(),
  solarMwh: z.number().int(),
  savingMinor: z.number().int().describe('grid alone (fees and VAT included) minus the total'),
});

const Ref = z.string().min(1).max(200);
const Period = z.string().regex(/^\d{4}-\d{2}$/, 'a month like 2026-10');
/** A checkpoint as printed on a bill: `SEQ:HASH`. */
const CheckpointCode = z
  .string()
  .max(100)
  .regex(/^\d{1,15}:[0-9a-f]{64}$/, 'the checkpoint as printed on the bill: SEQ:HASH');

const ConsentSchema = z.object({
  unit: z.string(),
  boardMaySeeProfile: z.boolean(),
  changedBy: z.string().nullable(),
  changedAt: z.string().nullable(),
});

const VerificationSchema = z.object({
  ok: z.boolean(),
  billId: z.string(),
  entry: z.number().int().optional(),
  entries: z.number().int().optional(),
  checkpoint: z
    .object({
      seq: z.number().int(),
      hash: z.string(),
      signedAt: z.string(),
      keyId: z.string(),
      publicKey: z.string(),
      signature: z.string(),
    })
    .optional(),
  signedAt: z.string().optional(),
  keyId: z.string().optional(),
  publicKey: z.string().optional(),
  problem: z.string().optional(),
  message: z.string().describe('the result in plain words'),
});

/** Someone other than the unit's own resident: their look at the unit's data is audited. */
const isOther = (who: Identity) => who.role !== 'resident';

/** The ledger's unit → community relation, for boards reaching their units' bills. */
export function ledgerScopes(ledger: LedgerApi, store: Store): ScopeResolver {
  let book: Promise<BillBook> | undefined;
  const opened = (): Promise<BillBook> => {
    book ??= ledger.BillBook.open(store);
    return book;
  };
  return {
    communityOfUnit: async (unit) => (await opened()).communityOfUnit(unit),
  };
}

/** The community as the issuer of its bills: its name, address and account from its file (else its id). */
function issuerOf(ctx: AppContext, community: string): BillIssuer {
  const c = ctx.communities?.find((x) => x.id === community);
  return { name: c?.name ?? community, config: c?.issuer };
}

export function billRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    const {
      BillBook,
      billCsv,
      billFigures,
      billHeader,
      billHtml,
      billJson,
      formatPercent,
      GRID_ALONE_METHOD,
      htmlToPdf,
      LEDGER_CHECKPOINT,
      LEDGER_NO_PROFILE,
      percentTenths,
      profileConsent,
      profileCsv,
      profileJson,
      profilePeriods,
      qrBillSvg,
      setProfileConsent,
      unitProfile,
    } = ctx.modules.ledger;
    const book = await BillBook.open(ctx.store);
    const audit = new AuditLog(ctx.store.db);
    const db = ctx.store.db;

    app.get(
      '/api/bills',
      {
        config: { access: { roles: ['admin', 'board', 'resident'] } },
        schema: {
          summary:
            'The bills the caller may see: its unit’s (resident), its community’s (board), all (admin)',
          tags: ['bills'],
          response: { 200: z.object({ bills: z.array(BillHeaderSchema) }) },
        },
      },
      async (req) => {
        const who = req.identity!;
        let bills: IssuedBill[] = [];
        if (who.role === 'admin') bills = await book.bills();
        for (const g of who.grants) {
          if (who.role === 'resident' && g.kind === 'unit')
            bills.push(...(await book.bills({ unit: g.ref })));
          if (who.role === 'board' && g.kind === 'community')
            bills.push(...(await book.bills({ community: g.ref })));
        }
        // The saving on the same basis as every rendering of the bill (render.ts billFigures).
        return {
          bills: bills.map((b) => ({
            ...billHeader(b),
            savingMinor: billFigures(b, issuerOf(ctx, b.community).config).savingMinor,
          })),
        };
      },
    );

    app.get(
      '/api/units/:unit/bills/:bill',
      {
        config: { access: { roles: ['admin', 'board', 'resident'], scope: { kind: 'unit', param: 'unit' } } },
        schema: {
          summary:
            'One bill of a unit: the issued document (JSON, with `figures` and `issuer` as every rendering shows them), a printable page (HTML), a PDF, its lines as CSV, or its Swiss QR-bill payment part (SVG, CHF only)',
          tags: ['bills'],
          params: z.object({ unit: Ref, bill: Ref }),
          querystring: z.object({ format: z.enum(['json', 'html', 'pdf', 'csv', 'qr']).default('json') }),
          response: { 200: z.unknown().describe('the bill (JSON), or the HTML page / PDF as a download') },
        },
      },
      async (req, reply) => {
        const { unit, bill: id } = req.params;
        const who = req.identity!;
        const found = await book.bill(id);
        if (!found || found.recipient.unit !== unit)
          throw new GridflexError(MODEL_ERRORS.NOT_FOUND, `no bill "${id}"`, { kind: 'not_found' });
        let bill: IssuedBill = found;
        if (isOther(who)) {
          const consent = await profileConsent(db, unit);
          // Totals and lines are what billing needs; the daily profile only with consent.
          if (!consent.boardMaySeeProfile) bill = { ...found, daily: [], profileWithheld: true };
          await audit.append({
            actor: who.username,
            action: 'bill_viewed',
            target: `unit:${unit}/bill:${id}`,
            ip: req.ip,
            details: { role: who.role, format: req.query.format, profile: consent.boardMaySeeProfile },
          });
        }
        const format = req.query.format;
        const issuer = issuerOf(ctx, bill.community);
        // "Your saving" only on one's own bill: a board or admin reads "Saving of this flat".
        const view = { issuer, own: !isOther(who) };
        if (format === 'json') {
          const f = billFigures(bill, issuer.config);
          const shown = {
            ...bill,
            figures: {
              ...f,
              selfSufficiency: formatPercent(f.selfSufficiencyTenths),
              gridAloneMethod: GRID_ALONE_METHOD,
            },
            issuer: { name: issuer.name, ...(issuer.config ?? {}) },
            own: view.own,
          };
          return reply.type('application/json').send(billJson(shown as IssuedBill));
        }
        if (format === 'qr') {
          const svg = issuer.config ? qrBillSvg(bill, { name: issuer.name, config: issuer.config }) : null;
          if (!svg)
            throw new GridflexError(
              MODEL_ERRORS.NOT_FOUND,
              'this bill has no Swiss QR-bill part (not CHF, or no bank account configured)',
              { kind: 'not_found' },
            );
          return reply.type('image/svg+xml').send(svg);
        }
        // A download, opened outside the app: the page's own inline styles then apply.
        reply.header('content-disposition', `attachment; filename="${bill.id}.${format}"`);
        if (format === 'csv') return reply.type('text/csv; charset=utf-8').send(billCsv(bill, view));
        const html = billHtml(bill, bill.timezone ?? 'UTC', view);
        if (format === 'html') return reply.type('text/html; charset=utf-8').send(html);
        let pdf: Buffer;
        try {
          [pdf] = (await htmlToPdf([html])) as [Buffer];
        } catch (err) {
          throw new GridflexError(
            SERVER_ERRORS.LEDGER_PDF,
            'the PDF cannot be made on this server (no Chromium); the HTML bill prints the same',
            { kind: 'unavailable', cause: err },
          );
        }
        return reply.type('application/pdf').send(pdf);
      },
    );

    app.get(
      '/api/units/:unit/bills/:bill/verify',
      {
        config: { access: { roles: ['admin', 'board', 'resident'], scope: { kind: 'unit', param: 'unit' } } },
        schema: {
          summary:
            'Is this bill in the community’s ledger as issued? Checks the chain, the bill’s signed checkpoint and, if given, the checkpoint printed on the bill',
          tags: ['bills'],
          params: z.object({ unit: Ref, bill: Ref }),
          querystring: z.object({ checkpoint: CheckpointCode.optional() }),
          response: { 200: VerificationSchema },
        },
      },
      async (req) => {
        const { unit, bill: id } = req.params;
        const found = await book.bill(id);
        if (!found || found.recipient.unit !== unit)
          throw new GridflexError(MODEL_ERRORS.NOT_FOUND, `no bill "${id}"`, { kind: 'not_found' });
        const code = req.query.checkpoint;
        const printed = code ? { seq: Number(code.split(':')[0]), hash: code.split(':')[1]! } : undefined;
        if (printed && !Number.isSafeInteger(printed.seq))
          throw new GridflexError(LEDGER_CHECKPOINT, 'the checkpoint number is too large', { kind: 'input' });
        const r = await book.verifyBill(id, printed);
        const message = r.ok
          ? `This bill is in the community's ledger (entry ${r.entry} of ${r.entries}), unchanged, signed on ${r.signedAt.slice(0, 10)} with the community's key ${r.keyId}.`
          : `This bill could not be confirmed: ${r.problem}.`;
        return { ...r, message };
      },
    );

    app.get(
      '/api/units/:unit/consent',
      {
        config: { access: { roles: ['admin', 'board', 'resident'], scope: { kind: 'unit', param: 'unit' } } },
        schema: {
          summary: 'Whether the resident lets the board see the flat’s daily and 15-minute consumption',
          tags: ['bills', 'privacy'],
          params: z.object({ unit: Ref }),
          response: { 200: ConsentSchema },
        },
      },
      async (req) => profileConsent(db, req.params.unit),
    );

    app.put(
      '/api/units/:unit/consent',
      {
        config: { access: { roles: ['resident'], scope: { kind: 'unit', param: 'unit' } } },
        schema: {
          summary:
            'The resident gives or withdraws consent for the board to see the flat’s consumption profile',
          tags: ['bills', 'privacy'],
          params: z.object({ unit: Ref }),
          body: z.object({ boardMaySeeProfile: z.boolean() }).strict(),
          response: { 200: ConsentSchema },
        },
      },
      async (req) => {
        const who = req.identity!;
        const consent = await setProfileConsent(
          db,
          req.params.unit,
          req.body.boardMaySeeProfile,
          who.username,
        );
        await audit.append({
          actor: who.username,
          action: 'profile_consent',
          target: `unit:${req.params.unit}`,
          ip: req.ip,
          details: { boardMaySeeProfile: consent.boardMaySeeProfile },
        });
        return consent;
      },
    );

    app.get(
      '/api/units/:unit/profiles',
      {
        config: { access: { roles: ['admin', 'board', 'resident'], scope: { kind: 'unit', param: 'unit' } } },
        schema: {
          summary: 'The months for which the flat’s 15-minute consumption is stored',
          tags: ['bills', 'privacy'],
          params: z.object({ unit: Ref }),
          response: {
            200: z.object({ unit: z.string(), periods: z.array(z.string()), consent: ConsentSchema }),
          },
        },
      },
      async (req) => ({
        unit: req.params.unit,
        periods: await profilePeriods(db, req.params.unit),
        consent: await profileConsent(db, req.params.unit),
      }),
    );

    app.get(
      '/api/units/:unit/profiles/:period',
      {
        config: { access: { roles: ['admin', 'board', 'resident'], scope: { kind: 'unit', param: 'unit' } } },
        schema: {
          summary:
            'The flat’s 15-minute consumption and solar share for a billed month (JSON or CSV): the resident’s own data; others only with the resident’s consent, audited',
          tags: ['bills', 'privacy'],
          params: z.object({ unit: Ref, period: Period }),
          querystring: z.object({ format: z.enum(['json', 'csv']).default('json') }),
          response: { 200: z.unknown().describe('the profile as JSON, or CSV as a download') },
        },
      },
      async (req, reply) => {
        const { unit, period } = req.params;
        const who = req.identity!;
        if (isOther(who)) {
          const consent = await profileConsent(db, unit);
          await audit.append({
            actor: who.username,
            action: 'profile_viewed',
            target: `unit:${unit}/profile:${period}`,
            outcome: consent.boardMaySeeProfile ? 'ok' : 'refused',
            ip: req.ip,
            details: { role: who.role },
          });
          if (!consent.boardMaySeeProfile)
            throw new GridflexError(
              SERVER_ERRORS.FORBIDDEN,
              'the resident has not consented to show this flat’s consumption profile; its bill shows the monthly totals',
              { kind: 'forbidden' },
            );
        }
        const profile = await unitProfile(db, unit, period);
        if (!profile)
          throw new GridflexError(
            LEDGER_NO_PROFILE,
            `no stored consumption profile for ${unit} in ${period}`,
            {
              kind: 'not_found',
            },
          );
        reply.header('content-disposition', `attachment; filename="${unit}-${period}.${req.query.format}"`);
        if (req.query.format === 'csv')
          return reply.type('text/csv; charset=utf-8').send(profileCsv(profile));
        return reply.type('application/json').send(profileJson(profile));
      },
    );

    app.get(
      '/api/communities/:community/summary',
      {
        config: { access: { roles: ['admin', 'board'], scope: { kind: 'community', param: 'community' } } },
        schema: {
          summary: 'The association summary per billed month: production, self-consumption, export, revenue',
          tags: ['bills'],
          params: z.object({ community: Ref }),
          response: {
            200: z.object({
              community: z.string(),
              periods: z.array(
                z.object({
                  method: z.string(),
                  checkpoint: z.object({ seq: z.number().int(), hash: z.string() }),
                  summary: z.record(z.string(), z.unknown()),
                }),
              ),
            }),
          },
        },
      },
      async (req) => {
        const periods = await book.summaries(req.params.community);
        if (periods.length === 0 && req.identity!.role === 'admin')
          throw new GridflexError(MODEL_ERRORS.NOT_FOUND, `no community "${req.params.community}"`, {
            kind: 'not_found',
          });
        return {
          community: req.params.community,
          // Percentages by the one rounding rule (render.ts percentTenths), as the CLI prints them.
          periods: periods.map((p) => ({
            ...p,
            summary: {
              ...(p.summary as unknown as Record<string, unknown>),
              selfConsumptionTenths: percentTenths(p.summary.selfConsumedMwh, p.summary.productionMwh),
              autarkyTenths: percentTenths(p.summary.selfConsumedMwh, p.summary.consumptionMwh),
              communityName: issuerOf(ctx, req.params.community).name,
            },
          })),
        };
      },
    );
  };
}
