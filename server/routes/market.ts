import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { filter, map } from 'rxjs';
import { z } from 'zod';
import type { MarketService } from '../../market/index.js';
import { GridflexError, IdSchema, MODEL_ERRORS } from '../../model/index.js';
import { covers } from '../auth/identity.js';
import type { AppContext } from '../context.js';
import { httpStatus, SERVER_ERRORS } from '../errors.js';
import { eventStreams } from '../event-stream.js';
import type { Services } from '../services.js';

const H = 3_600_000;
const PORTFOLIO = {
  roles: ['admin', 'operator'] as const,
  scope: { kind: 'portfolio' as const, param: 'portfolio' },
};
const TAGS = ['market'];

const PortfolioParams = z.object({ portfolio: IdSchema });
const Iso = z.iso.datetime({ offset: true });
const Range = z.object({
  from: Iso.optional().describe(
    'start of the range (ISO 8601); default: the current hour (availability: the current quarter-hour)',
  ),
  to: Iso.optional().describe('end of the range (ISO 8601); default: 24 h after from'),
});

/** [from, to) from the query: default the current UTC hour and the next 24 h; at most 31 days. */
/**
 * The queried range; without `from`, from the start of the current `alignMs` period of the
 * market clock (the hour for bids and events; the quarter-hour for availability, so a slot
 * that has ended is not offered).
 */
function range(q: z.infer<typeof Range>, nowMs: number, alignMs = H): { fromMs: number; toMs: number } {
  const fromMs = q.from ? Date.parse(q.from) : Math.floor(nowMs / alignMs) * alignMs;
  const toMs = q.to ? Date.parse(q.to) : fromMs + 24 * H;
  if (!(toMs > fromMs))
    throw new GridflexError(MODEL_ERRORS.VALIDATION, 'querystring.to: must be after from', {
      kind: 'input',
      details: { issues: [{ path: 'querystring.to', message: 'must be after from' }] },
    });
  if (toMs - fromMs > 31 * 24 * H)
    throw new GridflexError(MODEL_ERRORS.VALIDATION, 'querystring.to: at most 31 days after from', {
      kind: 'input',
      details: { issues: [{ path: 'querystring.to', message: 'at most 31 days after from' }] },
    });
  return { fromMs, toMs };
}

/**
 * The operator API (issue #7), named after OpenADR 3 where it fits: products are programs,
 * activations and DR events are events, delivery reports are reports (market/README.md has
 * the mapping). Every route is for admins and operators whose `portfolio:` grant covers the
 * portfolio in the path; activations and cancellations go to the audit log.
 */
export function marketRoutes(ctx: AppContext, s: Services): FastifyPluginAsyncZod {
  const market = (): MarketService => {
    if (!ctx.market)
      throw new GridflexError(SERVER_ERRORS.MARKET_OFF, 'the market service is not running on this server', {
        kind: 'unavailable',
      });
    return ctx.market;
  };
  // The market's own schemas and rules, from the composition root (server/ runs no market code).
  const {
    AcceptanceSchema,
    ActivationBodySchema,
    PriceStrategySchema,
    findPortfolio,
    settlementCsv,
    settlementJson,
  } = ctx.modules.market;
  const EventParams = PortfolioParams.extend({ event: ActivationBodySchema.shape.id });
  /** Options of a route on one activation (`…/events/:event…`): the portfolio's access, the event in the path. */
  const onEvent = (summary: string) => ({
    config: { access: PORTFOLIO },
    schema: { summary, tags: TAGS, params: EventParams },
  });
  return async (app) => {
    const stream = eventStreams(app, s);

    app.get(
      '/api/portfolios',
      {
        config: { access: { roles: ['admin', 'operator'] } },
        schema: {
          summary: 'The portfolios the caller may see, with their sites and programs (products)',
          tags: TAGS,
        },
      },
      async (req) => {
        const visible = [];
        for (const p of ctx.market?.portfolios ?? [])
          if (await covers(req.identity!, 'portfolio', p.id, s.scopes)) visible.push(p);
        return { portfolios: visible };
      },
    );

    app.get(
      '/api/portfolios/:portfolio/availability',
      {
        config: { access: PORTFOLIO },
        schema: {
          summary: 'Flexibility still available per slot, site and portfolio for one program (product)',
          description:
            'Up and down kW per slot after the obligations already sold (OpenADR: an availability report).',
          tags: TAGS,
          params: PortfolioParams,
          querystring: Range.extend({ product: IdSchema }),
        },
      },
      async (req) => {
        const m = market();
        return m.availability(req.params.portfolio, req.query.product, range(req.query, m.clock(), H / 4));
      },
    );

    app.get(
      '/api/portfolios/:portfolio/bids',
      {
        config: { access: PORTFOLIO },
        schema: {
          summary: 'Bids and obligations overlapping the range',
          tags: TAGS,
          params: PortfolioParams,
          querystring: Range,
        },
      },
      async (req) => {
        const m = market();
        return m.bids(req.params.portfolio, range(req.query, m.clock()));
      },
    );

    app.post(
      '/api/portfolios/:portfolio/bids',
      {
        config: { access: PORTFOLIO },
        schema: {
          summary: 'Build and store capacity bids for a program from the remaining availability',
          description:
            'Periods that have started are skipped (reason `started`). Bids stored before under the same ids ' +
            'are 409 GFX_MARKET_BID_EXISTS (nothing stored) unless `replace` is true: then each is replaced and ' +
            'its version (in `versions`) goes up by one; an accepted bid is never replaced.',
          tags: TAGS,
          params: PortfolioParams,
          body: z.object({
            productId: IdSchema,
            from: Iso,
            to: Iso,
            strategy: PriceStrategySchema,
            replace: z.boolean().default(false).describe('replace bids stored before for these periods'),
          }),
        },
      },
      async (req, reply) => {
        const m = market();
        const built = await m.buildBids(
          req.params.portfolio,
          req.body.productId,
          range(req.body, m.clock()),
          req.body.strategy,
          req.body.replace,
        );
        return reply.code(201).send(built);
      },
    );

    app.post(
      '/api/portfolios/:portfolio/acceptances',
      {
        config: { access: PORTFOLIO },
        schema: {
          summary: "Record the operator's acceptance of bids; they become obligations",
          tags: TAGS,
          params: PortfolioParams,
          body: z.object({ productId: IdSchema, acceptances: z.array(AcceptanceSchema).min(1).max(1000) }),
        },
      },
      async (req, reply) => {
        const obligations = await market().accept(
          req.params.portfolio,
          req.body.productId,
          req.body.acceptances,
        );
        await s.audit.append({
          actor: req.identity!.username,
          action: 'bids_accepted',
          target: req.params.portfolio,
          ip: req.ip,
          details: { productId: req.body.productId, bids: obligations.map((o) => o.id) },
        });
        return reply.code(201).send({ obligations });
      },
    );

    app.get(
      '/api/portfolios/:portfolio/events',
      {
        config: { access: PORTFOLIO },
        schema: {
          summary: 'Activations and DR events received in the range',
          tags: TAGS,
          params: PortfolioParams,
          querystring: Range,
        },
      },
      async (req) => {
        const m = market();
        return { events: await m.activations(req.params.portfolio, range(req.query, m.clock())) };
      },
    );

    app.post(
      '/api/portfolios/:portfolio/events',
      {
        config: { access: PORTFOLIO },
        schema: {
          summary: 'Post an activation or DR event (idempotent on id)',
          description:
            '201 when new; 200 with the same activation when the id was posted before with the same body; ' +
            '409 GFX_MARKET_DUPLICATE_ID when it was posted with another body; 422 GFX_MARKET_ACTIVATION ' +
            'when it exceeds what the portfolio holds (nothing is stored or dispatched then).',
          tags: TAGS,
          params: PortfolioParams,
          body: ActivationBodySchema,
        },
      },
      async (req, reply) => {
        const who = req.identity!.username;
        const target = `${req.params.portfolio}/${req.body.id}`;
        try {
          const res = await market().activate(req.params.portfolio, req.body, who);
          if (res.created)
            await s.audit.append({
              actor: who,
              action: 'activation',
              target,
              ip: req.ip,
              details: { request: req.body, state: res.view.activation.state },
            });
          return reply.code(res.created ? 201 : 200).send(res.view);
        } catch (err) {
          if (err instanceof GridflexError && httpStatus(err) < 500)
            await s.audit.append({
              actor: who,
              action: 'activation',
              target,
              outcome: 'refused',
              ip: req.ip,
              details: { code: err.code, message: err.message },
            });
          throw err;
        }
      },
    );

    app.get(
      '/api/portfolios/:portfolio/events/:event',
      onEvent('An activation: its state, history and the executor status per site'),
      async (req) => market().status(req.params.portfolio, req.params.event),
    );

    app.post(
      '/api/portfolios/:portfolio/events/:event/cancel',
      onEvent('Cancel an activation (the executor restores the assets)'),
      async (req) => {
        const view = await market().cancel(req.params.portfolio, req.params.event, req.identity!.username);
        await s.audit.append({
          actor: req.identity!.username,
          action: 'activation_cancel',
          target: `${req.params.portfolio}/${req.params.event}`,
          ip: req.ip,
          details: { state: view.activation.state },
        });
        return view;
      },
    );

    app.post(
      '/api/portfolios/:portfolio/events/:event/report',
      onEvent('Measure the activation against its baseline and store its delivery report'),
      async (req, reply) =>
        reply.code(201).send(await market().report(req.params.portfolio, req.params.event)),
    );

    app.get(
      '/api/portfolios/:portfolio/reports',
      {
        config: { access: PORTFOLIO },
        schema: {
          summary: 'Settlement rows of the activations that started in the range (JSON or CSV)',
          tags: TAGS,
          params: PortfolioParams,
          querystring: Range.extend({ format: z.enum(['json', 'csv']).default('json') }),
        },
      },
      async (req, reply) => {
        const m = market();
        const r = range(req.query, m.clock());
        const rows = await m.reports(req.params.portfolio, r);
        const name = `gridflex-${req.params.portfolio}-${new Date(r.fromMs).toISOString().slice(0, 10)}`;
        if (req.query.format === 'csv')
          return reply
            .type('text/csv; charset=utf-8')
            .header('content-disposition', `attachment; filename="${name}.csv"`)
            .send(settlementCsv(rows));
        return reply.type('application/json; charset=utf-8').send(settlementJson(rows));
      },
    );

    app.get(
      '/api/portfolios/:portfolio/frequency-settlement',
      {
        config: { access: PORTFOLIO },
        schema: {
          summary:
            'One row per hour and site of each FCR/FFR obligation overlapping the range, settled from the stored proof: capacity held, seconds covered, energy requested and delivered (reserve units’ meters)',
          tags: TAGS,
          params: PortfolioParams,
          querystring: Range,
        },
      },
      async (req) => {
        const m = market();
        return { rows: await m.frequencySettlement(req.params.portfolio, range(req.query, m.clock())) };
      },
    );

    app.get(
      '/api/portfolios/:portfolio/live',
      {
        config: { access: PORTFOLIO },
        schema: {
          summary: "Server-Sent Events of the portfolio's activations (event `activation`)",
          tags: TAGS,
          params: PortfolioParams,
        },
      },
      async (req, reply) => {
        const portfolio = findPortfolio(market().portfolios, req.params.portfolio);
        stream(
          req,
          reply,
          ctx.hub.topic('market').pipe(
            filter((u) => u.portfolioId === portfolio.id),
            map((u) => ({ event: 'activation', data: u })),
          ),
        );
      },
    );
  };
}
