import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { BillBook, billHeader, billHtml, billJson, type IssuedBill } from '../../ledger/index.js';
import { GridflexError } from '../../model/index.js';
import type { Store } from '../../store/index.js';
import type { ScopeResolver } from '../auth/identity.js';
import type { AppContext } from '../context.js';

/**
 * Bills from the ledger. A resident sees only its own unit's bills (another unit's: 404, as if
 * it did not exist), a board its community's summary and all its units' bills, an admin all.
 * The association summary reveals community totals, from which a neighbour's use can be
 * inferred in a small community (ledger.md § 8.5): it is for boards and admins only.
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
  savingMinor: z.number().int(),
});

const Ref = z.string().min(1).max(200);

/** The ledger's unit → community relation, for boards reaching their units' bills. */
export function ledgerScopes(store: Store): ScopeResolver {
  let book: Promise<BillBook> | undefined;
  const opened = (): Promise<BillBook> => {
    book ??= BillBook.open(store);
    return book;
  };
  return {
    communityOfUnit: async (unit) => (await opened()).communityOfUnit(unit),
  };
}

export function billRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    const book = await BillBook.open(ctx.store);

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
        return { bills: bills.map(billHeader) };
      },
    );

    app.get(
      '/api/units/:unit/bills/:bill',
      {
        config: { access: { roles: ['admin', 'board', 'resident'], scope: { kind: 'unit', param: 'unit' } } },
        schema: {
          summary: 'One bill of a unit: the issued document (JSON), a printable page (HTML) or a PDF',
          tags: ['bills'],
          params: z.object({ unit: Ref, bill: Ref }),
          querystring: z.object({ format: z.enum(['json', 'html', 'pdf']).default('json') }),
          response: { 200: z.unknown().describe('the bill (JSON), or the HTML page / PDF as a download') },
        },
      },
      async (req, reply) => {
        const { unit, bill: id } = req.params;
        const bill = await book.bill(id);
        if (!bill || bill.recipient.unit !== unit)
          throw new GridflexError('GFX_NOT_FOUND', `no bill "${id}"`, { status: 404 });
        const format = req.query.format;
        if (format === 'json') return reply.type('application/json').send(billJson(bill));
        const html = billHtml(bill, bill.timezone ?? 'UTC');
        // A download, opened outside the app: the page's own inline styles then apply.
        reply.header('content-disposition', `attachment; filename="${bill.id}.${format}"`);
        if (format === 'html') return reply.type('text/html; charset=utf-8').send(html);
        const { htmlToPdf } = await import('../../ledger/pdf.js');
        let pdf: Buffer;
        try {
          [pdf] = (await htmlToPdf([html])) as [Buffer];
        } catch (err) {
          throw new GridflexError(
            'GFX_LEDGER_PDF',
            'the PDF cannot be made on this server (no Chromium); the HTML bill prints the same',
            { status: 503, cause: err },
          );
        }
        return reply.type('application/pdf').send(pdf);
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
          throw new GridflexError('GFX_NOT_FOUND', `no community "${req.params.community}"`, { status: 404 });
        return {
          community: req.params.community,
          periods: periods.map((p) => ({ ...p, summary: p.summary as unknown as Record<string, unknown> })),
        };
      },
    );
  };
}
