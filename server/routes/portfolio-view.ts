import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { GridflexError, IdSchema } from '../../model/index.js';
import { type AppContext, siteCurrency } from '../context.js';
import { SERVER_ERRORS } from '../errors.js';

const PortfolioViewSchema = z.object({
  products: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      direction: z.enum(['up', 'down', 'symmetric']).describe('which way the product moves power'),
      operatorActivated: z
        .boolean()
        .describe('whether the operator calls its activations (an event can be posted), not the frequency'),
    }),
  ),
  sites: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      timezone: z.string(),
      currency: z
        .string()
        .nullable()
        .describe(
          "The site's currency (its configured tariff's, else its newest plan's); null when neither is known",
        ),
    }),
  ),
});

/**
 * What the operator page shows beside a portfolio's figures (server/web/market.js): its
 * products' directions (an up-only product has no "down" figure) and its sites' names, time
 * zones and currencies (prices in the site's currency, hours in its zone).
 */
export function portfolioViewRoutes(ctx: AppContext): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/api/portfolios/:portfolio/view',
      {
        config: {
          access: { roles: ['admin', 'operator'], scope: { kind: 'portfolio', param: 'portfolio' } },
        },
        schema: {
          summary: "A portfolio's products with their directions, and its sites with zone and currency",
          tags: ['market'],
          params: z.object({ portfolio: IdSchema }),
          response: { 200: PortfolioViewSchema },
        },
      },
      async (req) => {
        const market = ctx.market;
        if (!market)
          throw new GridflexError(
            SERVER_ERRORS.MARKET_OFF,
            'the market service is not running on this server',
            {
              kind: 'unavailable',
            },
          );
        const portfolio = ctx.modules.market.findPortfolio(market.portfolios, req.params.portfolio);
        const sites = [];
        for (const id of portfolio.sites) {
          const site = ctx.sites.find((s) => s.id === id);
          const latest = await ctx.modules.plans.latest(id);
          const currency = siteCurrency(ctx, id, latest?.request.inputs);
          sites.push({ id, name: site?.name ?? id, timezone: site?.timezone ?? 'UTC', currency });
        }
        return {
          products: portfolio.products.map((id) => {
            const p = market.product(portfolio, id);
            return {
              id: p.id,
              name: p.name,
              direction: p.direction,
              operatorActivated: p.activation.kind === 'operator_signal',
            };
          }),
          sites,
        };
      },
    );
  };
}
