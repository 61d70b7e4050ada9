import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EntsoePriceSource } from './entsoe-source.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const DST = fixture('entsoe-a44-fi-dst-a03.xml');
const ACK = fixture('entsoe-ack-nodata.xml');
const TOKEN = 'a1b2c3d4-secret-token';
const FROM = Date.parse('2026-03-28T23:00Z');
const TO = Date.parse('2026-03-29T22:00Z');

/** A local stand-in for web-api.tp.entsoe.eu. */
let server: Server;
let baseUrl: string;
let requests: URL[] = [];
let respond: (req: IncomingMessage, res: ServerResponse) => void;
const xml = (status: number, body: string) => (_req: IncomingMessage, res: ServerResponse) =>
  res.writeHead(status, { 'content-type': 'text/xml' }).end(body);

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(new URL(req.url!, 'http://127.0.0.1'));
    respond(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  requests = [];
  respond = xml(200, DST);
});

const source = (clock: { now: number }, timeoutMs = 5_000) =>
  new EntsoePriceSource({
    securityToken: TOKEN,
    zone: '10YFI-1--------U',
    baseUrl,
    timeoutMs,
    now: () => clock.now,
  });

describe('ENTSO-E price source over HTTP', () => {
  it('asks for A44 of the zone over whole UTC days, a day either side, and returns the window’s prices', async () => {
    const r = await source({ now: FROM }).get(FROM, TO);
    const q = requests[0]!.searchParams;
    expect(Object.fromEntries(q)).toEqual({
      securityToken: TOKEN,
      documentType: 'A44',
      in_Domain: '10YFI-1--------U',
      out_Domain: '10YFI-1--------U',
      'contract_MarketAgreement.type': 'A01',
      periodStart: '202603270000',
      periodEnd: '202603310000',
    });
    expect(r.stale).toBe(false);
    expect(r.prices).toHaveLength(92);
  });

  it('answers from memory within the hour; keeps the known prices, stale with the reason, when the platform fails', async () => {
    const clock = { now: FROM };
    const s = source(clock, 1000);
    await s.get(FROM, TO);
    expect((await s.get(FROM, TO)).prices).toHaveLength(92);
    expect(requests).toHaveLength(1);
    clock.now += 2 * 3_600_000;
    respond = xml(503, '<html>Service Unavailable</html>');
    const down = await s.get(FROM, TO);
    expect(down).toMatchObject({
      stale: true,
      error: 'ENTSO-E day-ahead prices for 10YFI-1--------U: HTTP 503',
    });
    expect(down.prices).toHaveLength(92);
    respond = () => {}; // never answers
    const silent = await s.get(FROM, TO);
    expect(silent).toMatchObject({ stale: true, error: expect.stringContaining('no answer within 1000 ms') });
    expect(silent.prices).toHaveLength(92);
    expect(JSON.stringify([down, silent])).not.toContain(TOKEN);
  });

  it('reads an acknowledgement with HTTP 200 as “no data yet”, and a rejection with its reason', async () => {
    respond = xml(200, ACK);
    const empty = await source({ now: FROM }).get(FROM, TO);
    expect(empty).toMatchObject({
      stale: false,
      prices: [],
      notice: expect.stringContaining('No matching data found'),
    });
    respond = xml(
      401,
      ACK.replace(/No matching data found[^<]*/, 'Unauthorized. Missing or invalid security token'),
    );
    const rejected = await source({ now: FROM }).get(FROM, TO);
    expect(rejected).toMatchObject({
      stale: true,
      prices: [],
      error: expect.stringContaining('HTTP 401: ENTSO-E sent no prices: 999 Unauthorized'),
    });
    // A malformed document with HTTP 200 names its element.
    respond = xml(200, DST.replace('<price.amount>80</price.amount>', '<price.amount>x</price.amount>'));
    const bad = await source({ now: FROM }).get(FROM, TO);
    expect(bad.error).toContain('TimeSeries[0].Period[0].Point[2].price.amount');
  });
});
