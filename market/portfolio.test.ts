import { describe, expect, it } from 'vitest';
import { parseOrThrow, SitesConfigSchema, ValidationError } from '../model/index.js';
import { checkPortfolios, portfolioScopes } from './portfolio.js';
import { loadProducts } from './product.js';

const sites = parseOrThrow(
  SitesConfigSchema,
  {
    sites: ['bern', 'basel'].map((id) => ({
      id,
      name: id,
      location: { lat: 47, lon: 7.5 },
      timezone: 'Europe/Zurich',
      grid: { importLimitKw: 60, exportLimitKw: 30 },
      buildings: [],
    })),
  },
  'test sites',
).sites;

describe('portfolios', () => {
  it('load from the sites file and give a portfolio grant its sites only', async () => {
    const catalog = await loadProducts();
    const portfolios = checkPortfolios(
      { sites: [], portfolios: [{ id: 'nordic', name: 'Nordic', sites: ['bern'], products: ['mfrr'] }] },
      sites,
      catalog,
      'sites.yaml',
    );
    const scopes = portfolioScopes(portfolios);
    expect(await scopes.sitesOfPortfolio('nordic')).toEqual(['bern']);
    expect(await scopes.sitesOfPortfolio('elsewhere')).toEqual([]);
  });

  it('name the field of an unknown site, unknown product or repeated id', async () => {
    const catalog = await loadProducts();
    const bad = {
      portfolios: [
        { id: 'p', name: 'P', sites: ['bern', 'zurich'], products: ['mfrr'] },
        { id: 'p', name: 'Q', sites: ['basel'], products: ['fcr-x'] },
      ],
    };
    let err: unknown;
    try {
      checkPortfolios(bad, sites, catalog, 'sites.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    const paths = (err as ValidationError).issues.map((i) => `${i.path}: ${i.message}`);
    expect(paths).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/portfolios\[0\]\.sites\[1\]: no site "zurich"/),
        expect.stringMatching(/portfolios\[1\]\.id: duplicate/),
        expect.stringMatching(/portfolios\[1\]\.products\[0\]: no product "fcr-x"/),
      ]),
    );
  });
});
