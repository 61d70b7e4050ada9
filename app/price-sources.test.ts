import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../model/index.js';
import { csvSpotSource, spotSource } from './price-sources.js';

const FIXTURE = new URL('../optimizer/tariffs/fixtures/day-ahead-ch.csv', import.meta.url);
const FROM = Date.parse('2026-10-24T22:00Z');
const TO = Date.parse('2026-10-25T23:00Z');

describe('price sources of gridflex.yaml', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gfx-price-sources-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a CSV file is re-read on each request; a broken one keeps the last prices, stale with the reason', async () => {
    const file = join(dir, 'prices.csv');
    await copyFile(FIXTURE, file);
    const source = csvSpotSource(file, 'EUR');
    const ok = await source.get(FROM, TO);
    expect(ok.stale).toBe(false);
    expect(ok.prices[0]).toMatchObject({ perKwh: 0.0884, currency: 'EUR' });
    await writeFile(file, 'start,price\n');
    const broken = await source.get(FROM, TO);
    expect(broken).toMatchObject({ stale: true, error: expect.stringContaining('price CSV') });
    expect(broken.prices).toEqual(ok.prices);
  });

  it('an ENTSO-E source needs its token variable set, named by its field', () => {
    const c = { kind: 'entsoe' as const, zone: '10YCH-SWISSGRIDZ', tokenEnv: 'NO_SUCH_TOKEN_VAR' };
    try {
      spotSource(c, { currency: 'EUR', env: {}, at: 'sites[0].prices' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).issues[0]).toMatchObject({ path: 'sites[0].prices.tokenEnv' });
    }
    expect(spotSource(c, { currency: 'EUR', env: { NO_SUCH_TOKEN_VAR: 't' }, at: 'x' })).toBeDefined();
  });
});
