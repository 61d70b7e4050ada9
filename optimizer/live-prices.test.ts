import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { filter, firstValueFrom, Subject, timeout } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Reading, SiteSchema } from '../model/index.js';
import { battery20, bernSite, house } from '../testkit/sites.js';
import { LiveLoop, profileForecaster } from './live.js';
import { siteTariffPrices } from './live-prices.js';
import { optimize } from './optimize.js';
import type { PlanRequest } from './replan.js';
import { HORIZON_SLOTS } from './site-problem.js';
import { highsSolver } from './solvers/highs.js';
import { EntsoePriceSource } from './tariffs/entsoe-source.js';
import { parseSiteTariff } from './tariffs/schema.js';

const FALL = readFileSync(new URL('./tariffs/fixtures/entsoe-a44-ch-fall-a01.xml', import.meta.url), 'utf8');

/** A local stand-in for the ENTSO-E platform: the fixture, or a 503 once `failing`. */
let server: Server;
let baseUrl: string;
let failing = false;
beforeAll(async () => {
  server = createServer((_req, res) => {
    if (failing) res.writeHead(503).end('maintenance');
    else res.writeHead(200, { 'content-type': 'text/xml' }).end(FALL);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** Spot-indexed energy + a flat grid fee, a demand charge, 8.1 % VAT (round figures, assumed). */
const tariff = parseSiteTariff({
  id: 'ch-spot',
  currency: 'EUR',
  timezone: 'Europe/Zurich',
  versions: [
    {
      validFrom: '2026-01-01',
      energy: { kind: 'spot', markupPerKwh: 0.005 },
      gridFees: { otherPerKwh: 0.04 },
      peakCharge: { perKwMonth: 4 },
      feedIn: { kind: 'spot', markupPerKwh: -0.002 },
      vatPercent: 8.1,
    },
  ],
});

describe('the live loop on a site tariff', () => {
  it('plans with the tariff’s spot prices and the month’s peak so far, and says when the prices are stale', async () => {
    const site = SiteSchema.parse(
      bernSite({
        id: 'zev-bern',
        buildings: [house([], [battery20({ measure: { soc: 'zev-bern/house-battery/soc' } })])],
      }),
    );
    let now = Date.parse('2026-10-25T06:00:00Z');
    const spot = new EntsoePriceSource({
      securityToken: 't',
      zone: '10YCH-SWISSGRIDZ',
      baseUrl,
      now: () => now,
    });
    const readings = new Subject<Reading>();
    const ticks = new Subject<number>();
    const loop = new LiveLoop({
      site,
      readings$: readings,
      clock: () => now,
      forecast: profileForecaster(site, { meanLoadKw: 5 }),
      prices: siteTariffPrices(tariff, { spot, peakSoFarKw: async () => ({ month: '2026-10', kw: 7 }) }),
      ticks$: ticks,
      refreshMs: 0,
      solve: (request: PlanRequest) => optimize(request.problem, highsSolver),
    }).start();
    const nextPlan = () =>
      firstValueFrom(
        loop.events$.pipe(
          filter((e) => e.kind === 'plan'),
          timeout(30_000),
        ),
      );
    try {
      let planned = nextPlan();
      readings.next({ pointId: 'zev-bern/house-battery/soc', ts: now, value: 40, quality: 'good' });
      const first = await planned;
      if (first.kind !== 'plan') throw new Error('expected a plan');
      const p = first.plan.request.problem;
      expect(p.prices.import).toHaveLength(HORIZON_SLOTS);
      // 06:00Z is position 9 of the fixture's day (hourly from 22:00Z).
      const spotAt = (iso: string) => {
        const m = [...FALL.matchAll(/<position>(\d+)<\/position><price.amount>([-\d.]+)</g)]
          .map((x) => [Number(x[1]), Number(x[2])] as const)
          .find(([pos]) => pos === (Date.parse(iso) - Date.parse('2026-10-24T22:00Z')) / 3_600_000 + 1)!;
        return m[1] / 1000;
      };
      expect(p.prices.import[0]).toBeCloseTo((spotAt('2026-10-25T06:00Z') + 0.005 + 0.04) * 1.081, 9);
      // One billing month in the horizon, its floor the peak so far, the charge with VAT.
      expect(p.peakPeriods).toEqual([
        { fromSlot: 0, toSlot: HORIZON_SLOTS, chargePerKw: 4 * 1.081, soFarKw: 7 },
      ]);
      const notes = (
        first.plan.request.inputs as { priceNotes: { stale: boolean; estimatedSpotSlots: number[] } }
      ).priceNotes;
      expect(notes.stale).toBe(false);
      // The fixture ends at 23:00Z (a 25-hour day): the rest of the 36 h repeats the day before.
      expect(notes.estimatedSpotSlots[0]).toBe((Date.parse('2026-10-25T23:00Z') - now) / 900_000);

      // The platform fails: the loop keeps planning on the known prices and the plan says why.
      failing = true;
      now += 900_000;
      planned = nextPlan();
      readings.next({ pointId: 'zev-bern/house-battery/soc', ts: now, value: 40, quality: 'good' });
      ticks.next(1);
      const second = await planned;
      if (second.kind !== 'plan') throw new Error('expected a plan');
      const stale = (second.plan.request.inputs as { priceNotes: { stale: boolean; error?: string } })
        .priceNotes;
      expect(stale.stale).toBe(true);
      expect(stale.error).toMatch(/HTTP 503/);
      expect(second.plan.request.problem.prices.import[0]).toBeCloseTo(p.prices.import[1]!, 12);
    } finally {
      failing = false;
      await loop.stop();
    }
  }, 60_000);
});
