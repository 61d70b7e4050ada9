import { z } from 'zod';
import { loadConfigFile, validateConfig } from '../config/load.js';
import { GridflexError, IdSchema, MODEL_ERRORS, type Site } from '../model/index.js';
import type { ProductCatalog } from './product.js';

/**
 * A portfolio: the sites a grid operator sees as one aggregate (OpenADR's VTN-facing view),
 * and the products it may offer from them. An operator granted `portfolio:ID` reaches these
 * sites and nothing else.
 */
export const PortfolioSchema = z.object({
  id: IdSchema,
  name: z.string().min(1).max(200),
  sites: z.array(IdSchema).min(1, 'list at least one site'),
  /** Product ids from the catalogue this portfolio offers. */
  products: z.array(IdSchema).min(1, 'list at least one product'),
});
export type Portfolio = z.infer<typeof PortfolioSchema>;

/**
 * `portfolios:` may sit in the sites file (the other keys are ignored here) or in a file of
 * its own; absent means no portfolio.
 */
export const PortfoliosConfigSchema = z
  .object({ portfolios: z.array(PortfolioSchema).default([]) })
  .superRefine((cfg, ctx) => {
    const seen = new Set<string>();
    cfg.portfolios.forEach((p, i) => {
      if (seen.has(p.id))
        ctx.addIssue({
          code: 'custom',
          path: ['portfolios', i, 'id'],
          message: `duplicate portfolio id "${p.id}"`,
        });
      seen.add(p.id);
    });
  });

/**
 * Check portfolios against the sites and products that exist, so a typo in a site id fails at
 * startup with the field named instead of silently leaving a site out of every figure.
 */
export function checkPortfolios(
  data: unknown,
  sites: readonly Site[],
  catalog: ProductCatalog,
  fileName: string,
): Portfolio[] {
  const siteIds = new Set(sites.map((s) => s.id));
  const productIds = new Set(catalog.products.map((p) => p.id));
  const schema = PortfoliosConfigSchema.superRefine((cfg, ctx) => {
    cfg.portfolios.forEach((p, i) => {
      p.sites.forEach((s, j) => {
        if (!siteIds.has(s))
          ctx.addIssue({ code: 'custom', path: ['portfolios', i, 'sites', j], message: `no site "${s}"` });
      });
      p.products.forEach((id, j) => {
        if (!productIds.has(id))
          ctx.addIssue({
            code: 'custom',
            path: ['portfolios', i, 'products', j],
            message: `no product "${id}"`,
          });
      });
    });
  });
  return validateConfig(schema, data, fileName).portfolios;
}

export async function loadPortfolios(
  path: string,
  sites: readonly Site[],
  catalog: ProductCatalog,
): Promise<Portfolio[]> {
  const data = await loadConfigFile(z.unknown(), path);
  return checkPortfolios(data, sites, catalog, path);
}

export function findPortfolio(portfolios: readonly Portfolio[], id: string): Portfolio {
  const p = portfolios.find((x) => x.id === id);
  if (!p) throw new GridflexError(MODEL_ERRORS.NOT_FOUND, `no portfolio "${id}"`, { kind: 'not_found' });
  return p;
}

/** `ScopeResolver.sitesOfPortfolio` for the server: a portfolio grant reaches its sites. */
export function portfolioScopes(portfolios: readonly Portfolio[]): {
  sitesOfPortfolio(portfolio: string): Promise<string[]>;
} {
  const byId = new Map(portfolios.map((p) => [p.id, p.sites]));
  return { sitesOfPortfolio: async (id) => [...(byId.get(id) ?? [])] };
}
