import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OPT_ERRORS } from '../errors.js';
import { WeatherSource } from './weather-source.js';

const fixture = readFileSync(new URL('./fixtures/open-meteo-bern.json', import.meta.url), 'utf8');
const T0 = Date.parse('2026-06-20T05:00Z');

/** A local stand-in for api.open-meteo.com: answers with whatever `respond` does. */
let server: Server;
let baseUrl: string;
let requests: URL[] = [];
let respond: (req: IncomingMessage, res: ServerResponse) => void;
let dir: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(new URL(req.url!, 'http://127.0.0.1'));
    respond(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/forecast`;
  dir = await mkdtemp(join(tmpdir(), 'gridflex-weather-'));
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  requests = [];
  respond = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(fixture);
});

const json = (status: number, body: string) => (_req: IncomingMessage, res: ServerResponse) =>
  res.writeHead(status, { 'content-type': 'application/json' }).end(body);

function source(clock: { now: number }, extra: { cacheFile?: string; timeoutMs?: number } = {}) {
  return new WeatherSource({ latitude: 46.95, longitude: 7.45, baseUrl, now: () => clock.now, ...extra });
}

describe('weather source over HTTP (Open-Meteo format)', () => {
  it('asks for the hourly variables in unix time and reads the recorded Bern forecast', async () => {
    const r = await source({ now: T0 }).get();
    expect(requests).toHaveLength(1);
    const q = requests[0]!.searchParams;
    expect(q.get('latitude')).toBe('46.95');
    expect(q.get('hourly')).toBe(
      'temperature_2m,shortwave_radiation,direct_radiation,diffuse_radiation,cloud_cover',
    );
    expect(q.get('timeformat')).toBe('unixtime');
    expect(r.stale).toBe(false);
    expect(r.fetchedAtMs).toBe(T0);
    expect(r.forecast.hours).toHaveLength(48);
    // 12:00Z on the first day: the mean of 11:00–12:00Z.
    const noon = r.forecast.hours[12]!;
    expect(new Date(noon.startMs).toISOString()).toBe('2026-06-20T11:00:00.000Z');
    expect(noon).toMatchObject({ ghi: 913.8, temperatureC: 21.9, cloudCoverPercent: 18 });
    expect(noon.directHorizontal! + noon.diffuse!).toBeCloseTo(913.8, 6);
    // The recorded answer ends with a missing hour: null, not zero.
    expect(r.forecast.hours[47]).toMatchObject({ ghi: null, temperatureC: null });
  });

  it('serves the cached forecast within an hour, and the last good one marked stale when the source answers 500', async () => {
    const clock = { now: T0 };
    const s = source(clock);
    const first = await s.get();
    clock.now += 30 * 60_000;
    expect((await s.get()).stale).toBe(false);
    expect(requests).toHaveLength(1);
    respond = json(500, 'Internal Server Error');
    clock.now += 60 * 60_000;
    const r = await s.get();
    expect(requests).toHaveLength(2);
    expect(r).toMatchObject({ stale: true, fetchedAtMs: T0, error: expect.stringContaining('HTTP 500') });
    expect(r.forecast).toEqual(first.forecast);
    // The source is back: fresh again.
    respond = json(200, fixture);
    expect(await s.get()).toMatchObject({ stale: false, fetchedAtMs: clock.now });
  });

  it('gives up on a source that does not answer within the timeout', async () => {
    const clock = { now: T0 };
    const s = source(clock, { timeoutMs: 1000 });
    await s.get();
    respond = () => {}; // accepts the request and never answers
    clock.now += 2 * 3_600_000;
    const r = await s.get();
    expect(r).toMatchObject({ stale: true, error: expect.stringContaining('no answer within 1000 ms') });
  });

  it('with no forecast yet, a failure is an error naming the field of a malformed answer', async () => {
    const bad = JSON.parse(fixture);
    bad.hourly.temperature_2m[3] = 'warm';
    respond = json(200, JSON.stringify(bad));
    await expect(source({ now: T0 }).get()).rejects.toMatchObject({
      code: OPT_ERRORS.weather,
      message: expect.stringContaining('Open-Meteo forecast is invalid: hourly.temperature_2m[3]'),
    });
    const short = JSON.parse(fixture);
    short.hourly.cloud_cover.pop();
    respond = json(200, JSON.stringify(short));
    await expect(source({ now: T0 }).get()).rejects.toThrow(
      'hourly.cloud_cover: expected 48 values (one per hourly.time), got 47',
    );
    respond = json(200, fixture.slice(0, 200));
    await expect(source({ now: T0 }).get()).rejects.toMatchObject({
      code: OPT_ERRORS.weather,
      message: expect.stringContaining('the answer is not JSON'),
    });
    respond = json(400, '{"error":true,"reason":"Latitude must be in range of -90 to 90°. Given: 146.95."}');
    await expect(source({ now: T0 }).get()).rejects.toThrow(/HTTP 400: Latitude must be in range/);
  });

  it('keeps the last good forecast in its cache file across a restart', async () => {
    const cacheFile = join(dir, 'bern.json');
    await source({ now: T0 }, { cacheFile }).get();
    respond = json(503, '');
    const restarted = source({ now: T0 + 3 * 3_600_000 }, { cacheFile });
    const r = await restarted.get();
    expect(r).toMatchObject({ stale: true, fetchedAtMs: T0, error: expect.stringContaining('HTTP 503') });
    expect(r.forecast.hours).toHaveLength(48);
  });
});
