import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PRODUCTS_FILE, findProduct, loadProducts } from './product.js';

async function variant(edit: (text: string) => string): Promise<string> {
  const text = await readFile(DEFAULT_PRODUCTS_FILE, 'utf8');
  const changed = edit(text);
  expect(changed).not.toBe(text);
  const path = join(await mkdtemp(join(tmpdir(), 'gfx-market-')), 'products.yaml');
  await writeFile(path, changed);
  return path;
}

describe('the shipped product catalogue', () => {
  it('validates and holds the Nordic family and a DR event product', async () => {
    const catalog = await loadProducts();
    expect(catalog.products.map((p) => p.id)).toEqual([
      'fcr-n',
      'fcr-d-up',
      'fcr-d-down',
      'ffr',
      'afrr',
      'mfrr',
      'dr-event',
    ]);
  });

  it('carries the reference figures in milliseconds and kW', async () => {
    const catalog = await loadProducts();
    const fcrN = findProduct(catalog, 'fcr-n');
    expect(fcrN.direction).toBe('symmetric');
    expect(fcrN.minBidKw).toBe(100);
    expect(fcrN.maxBidKw).toBe(5000);
    expect(fcrN.minDuration).toBe(3_600_000);
    const fcrDUp = findProduct(catalog, 'fcr-d-up');
    expect(fcrDUp.steps).toEqual([
      { within: 5000, fraction: 0.5 },
      { within: 30_000, fraction: 1 },
    ]);
    expect(fcrDUp.activation).toMatchObject({ kind: 'frequency_droop', up: { startHz: 49.9, fullHz: 49.5 } });
    const ffr = findProduct(catalog, 'ffr');
    expect(ffr.activation.kind === 'frequency_threshold' && ffr.activation.triggers).toEqual([
      { hz: 49.7, fullActivation: 1300 },
      { hz: 49.6, fullActivation: 1000 },
      { hz: 49.5, fullActivation: 700 },
    ]);
    expect(findProduct(catalog, 'mfrr').fullActivation).toBe(750_000);
    expect(findProduct(catalog, 'afrr').fullActivation).toBe(300_000);
  });

  it('defaults the activation steps to 100 % at full activation', async () => {
    const catalog = await loadProducts();
    expect(findProduct(catalog, 'mfrr').steps).toEqual([{ within: 750_000, fraction: 1 }]);
  });

  it('refuses an unknown product with a stable code', async () => {
    const catalog = await loadProducts();
    expect(() => findProduct(catalog, 'fcr-x')).toThrow(
      expect.objectContaining({ code: 'GFX_MARKET_UNKNOWN_PRODUCT' }),
    );
  });
});

describe('a bad product file names the offending field', () => {
  it.each([
    {
      what: 'a negative minimum bid',
      edit: (t: string) => t.replace('minBidKw: 100 #', 'minBidKw: -100 #'),
      error: 'products[0].minBidKw: Too small: expected number to be >0',
    },
    {
      what: 'an up band above nominal',
      edit: (t: string) =>
        t.replace('up: { startHz: 49.9, fullHz: 49.5 }', 'up: { startHz: 49.9, fullHz: 50.2 }'),
      error: 'products[1].activation.up.fullHz: the up band must lie below nominal',
    },
    {
      what: 'a symmetric product without its down band',
      edit: (t: string) => t.replace('      down: { startHz: 50.0, fullHz: 50.1 }\n', ''),
      error: 'products[0].activation.down: a symmetric product needs a down band',
    },
    {
      what: 'steps that do not end at 100 %',
      edit: (t: string) => t.replace('- { within: 30s, fraction: 1 }', '- { within: 30s, fraction: 0.9 }'),
      error: 'products[1].steps[1]: the last step must be fraction 1 within fullActivation',
    },
    {
      what: 'a duration without a unit',
      edit: (t: string) => t.replace('minDuration: 5m', 'minDuration: 5'),
      error: 'products[5].minDuration: Invalid input: expected string, received number',
    },
    {
      what: 'a minimum bid off the bid step',
      edit: (t: string) => t.replace('minBidKw: 10 #', 'minBidKw: 10.5 #'),
      error: 'products[6].minBidKw: minBidKw must be a multiple of bidStepKw',
    },
    {
      what: 'an FFR trigger above nominal',
      edit: (t: string) => t.replace('{ hz: 49.6,', '{ hz: 50.6,'),
      error: 'products[3].activation.triggers[1].hz: an under-frequency trigger must lie below nominal',
    },
    {
      what: 'an unknown activation kind',
      edit: (t: string) =>
        t.replace('kind: operator_signal\n      signal: event', 'kind: telepathy\n      signal: event'),
      error: 'products[6].activation.kind',
    },
  ])('$what', async ({ edit, error }) => {
    const path = await variant(edit);
    await expect(loadProducts(path)).rejects.toThrow(`${path} is invalid: ${error}`);
  });

  it('refuses duplicate product ids', async () => {
    const path = await variant((t) => t.replace('id: fcr-d-down', 'id: fcr-d-up'));
    await expect(loadProducts(path)).rejects.toThrow('products[2].id: duplicate product id fcr-d-up');
  });
});
