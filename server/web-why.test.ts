import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

/**
 * The writes page's reasons in the page's language (server/web/i18n.js `writeWhy`): each shape
 * the writers record is translated, not shown in English on a German page. The module reads
 * the browser's language at load, so the browser globals it touches are stood in for.
 */
describe('write reasons in German', () => {
  let writeWhy: (why: string) => string;
  beforeAll(async () => {
    vi.stubGlobal('localStorage', { getItem: () => 'de', setItem: () => {} });
    vi.stubGlobal('navigator', { languages: ['de-CH'] });
    vi.stubGlobal('document', { querySelectorAll: () => [] });
    // @ts-expect-error: the web UI's plain JavaScript module has no types.
    ({ writeWhy } = await import('./web/i18n.js'));
  });
  afterAll(() => vi.unstubAllGlobals());

  it('translates the optimiser’s PV curtailment and the rest of a plan sentence', () => {
    expect(writeWhy('Plan for 12:00–12:15 (solved at 12:00): battery idle, pv limited to 2.3 kW')).toBe(
      'Fahrplan für 12:00–12:15 (berechnet um 12:00): battery ruht, pv begrenzt auf 2,3 kW',
    );
    expect(writeWhy('Plan for 12:15–12:30 (solved at 12:14): pv limited to 0.0 kW (3.0 kW short)')).toBe(
      'Fahrplan für 12:15–12:30 (berechnet um 12:14): pv begrenzt auf 0 W (3 kW mehr Abregelung geplant, als es übernehmen kann)',
    );
    expect(writeWhy('Plan for 13:00–13:15 (solved at 13:00): pv unlimited')).toBe(
      'Fahrplan für 13:00–13:15 (berechnet um 13:00): pv unbegrenzt',
    );
  });
});
