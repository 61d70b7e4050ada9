/**
 * The Lappeenranta case end to end (issue #13 item 5), as an operator runs it: `gridflex sim`
 * (the 17 buildings, about 100 ventilation units) and `gridflex run` as two processes, the run
 * configured by `gridflex sim --print-config`, an FCR-N obligation of the site's portfolio in
 * force for the hour stored in the run's data folder before it starts (the market refuses to
 * sell an hour under way; the operator would have sold it the day before). The simulator runs
 * `speed`× faster than the wall clock from a school morning (a Wednesday, 09:30 in Helsinki),
 * so one simulated hour takes 60/speed minutes; its grid frequency wanders as the scenario says
 * (0.02 Hz noise, under-frequency events).
 *
 * From the run's stored readings once it has stopped (the proof it stores itself, the fans'
 * own power and speed readings, the zones' temperatures):
 * - held: the obligation's kW, and the fans' headroom up and down when the response started;
 * - requested vs delivered over the hour: requested = the response the run commanded (its
 *   proof), delivered = the fans' metered draw before the start minus their draw since (the
 *   reserve units' own meters, a meter-before baseline), both on a 1 s grid; the ratio is
 *   Σ delivered·sign(requested) / Σ |requested|, with the least-squares slope beside it;
 *   the same slope at the buildings' grid meters (whose base loads wander on their own);
 * - comfort: fan speeds outside their asset's range, zone temperatures outside the
 *   scenario's band (setpoint ± band), target 0;
 * - the settlement row of the window as `GET /api/portfolios/:p/frequency-settlement` gives it
 *   for an hour, from the proof the run stored itself (its `delivered` series: the fans' own
 *   meters against their draw at base speed, computed in the run).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { migrateAll } from '../app/migrate.js';
import { runCli, startCli } from '../cli/testing.js';
import type { Obligation } from '../market/bids.js';
import { findProduct, loadProducts } from '../market/product.js';
import { MarketRepository } from '../market/repository.js';
import { type FrequencySettlementRow, frequencySettlementRow } from '../market/runtime/proof-log.js';
import { loadScenario } from '../sim/scenario.js';
import { freePortPair } from '../sim/testing.js';
import { openStore, type Store } from '../store/index.js';

const H = 3_600_000;
const SITE = 'lappeenranta';
/** A Wednesday, 09:30 in Helsinki: every school and sports hall ventilated. */
export const SCHOOL_MORNING_SIM = '2026-11-18T07:30:00Z';

export interface FcrHourOptions {
  /** Simulated seconds per real second. */
  speed: number;
  /** Simulated minutes to hold the obligation for. */
  simMinutes: number;
  /** The obligation, kW symmetric. */
  kw: number;
  say?: (line: string) => void;
}

export interface FcrHourResult {
  heldKw: number;
  fans: number;
  headroomUpKw: number;
  headroomDownKw: number;
  realSeconds: number;
  simMinutes: number;
  samples: number;
  meanAbsRequestedKw: number;
  maxAbsRequestedKw: number;
  /** Σ delivered·sign(requested) / Σ |requested| at the fans' meters, delivered read at the same second. */
  ratio: number;
  /** The same with delivered read `lagS` seconds later (the best lag up to 5 s, wall clock). */
  ratioAtLag: number;
  lagS: number;
  /** Least-squares slope of delivered on requested, at the fans' meters and at the grid meters. */
  slopeFans: number;
  slopeGrid: number;
  /** Root-mean-square of delivered − requested, kW. */
  rmsErrorKw: number;
  speedViolations: number;
  zoneViolations: number;
  zoneReadings: number;
  /** The window settled as the API settles an hour (market/runtime/proof-log.ts), from the stored proof. */
  settlement: FrequencySettlementRow;
}

interface Series {
  ts: number[];
  v: number[];
}

/** The latest value of `s` at or before `t` (`s` sorted), from index `i` on; pure. */
function stepper(s: Series): (t: number) => number | undefined {
  let i = -1;
  return (t) => {
    while (i + 1 < s.ts.length && s.ts[i + 1]! <= t) i++;
    return i >= 0 ? s.v[i] : undefined;
  };
}

/** Least-squares slope of y on x. Pure. */
export function slope(x: number[], y: number[]): number {
  const n = x.length;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let k = 0; k < n; k++) {
    sxy += (x[k]! - mx) * (y[k]! - my);
    sxx += (x[k]! - mx) ** 2;
  }
  return sxx === 0 ? Number.NaN : sxy / sxx;
}

/**
 * Requested vs delivered on a 1 s grid from `fromMs` to `toMs`: requested kW (+ up: less
 * consumption), the reserve units' summed draw (kW) against its baseline, the grid meters'
 * sum. The delivery is also compared `lag` seconds later, for every lag up to `maxLagS`: a
 * response takes command → write → drive → meter poll, which FCR-N allows (63 % within 60 s);
 * the lag that matches best is reported with the ratio at it. Pure.
 */
export function deliveryFigures(
  requested: Series,
  fans: Series[],
  baselineKw: number,
  grid: Series[],
  fromMs: number,
  toMs: number,
  maxLagS = 5,
): Pick<
  FcrHourResult,
  | 'samples'
  | 'meanAbsRequestedKw'
  | 'maxAbsRequestedKw'
  | 'ratio'
  | 'ratioAtLag'
  | 'lagS'
  | 'slopeFans'
  | 'slopeGrid'
  | 'rmsErrorKw'
> {
  const req = stepper(requested);
  const fanAt = fans.map(stepper);
  const gridAt = grid.map(stepper);
  const r: (number | undefined)[] = [];
  const d: (number | undefined)[] = [];
  const g: (number | undefined)[] = [];
  for (let t = fromMs; t <= toMs; t += 1000) {
    const f = fanAt.map((s) => s(t));
    const m = gridAt.map((s) => s(t));
    r.push(req(t));
    d.push(f.some((x) => x === undefined) ? undefined : baselineKw - f.reduce((a, b) => a! + b!, 0)!);
    g.push(m.some((x) => x === undefined) ? undefined : -m.reduce((a, b) => a! + b!, 0)!);
  }
  /** The pairs (requested at t, delivered at t + lag) where both are known. */
  const pairs = (lag: number, of: (number | undefined)[]) => {
    const x: number[] = [];
    const y: number[] = [];
    for (let k = 0; k + lag < r.length; k++)
      if (r[k] !== undefined && of[k + lag] !== undefined) {
        x.push(r[k]!);
        y.push(of[k + lag]!);
      }
    return { x, y };
  };
  const ratioOf = ({ x, y }: { x: number[]; y: number[] }) =>
    y.reduce((a, v, k) => a + v * Math.sign(x[k]!), 0) / x.reduce((a, v) => a + Math.abs(v), 0);
  const at0 = pairs(0, d);
  let lagS = 0;
  let best = ratioOf(at0);
  for (let lag = 1; lag <= maxLagS; lag++) {
    const q = ratioOf(pairs(lag, d));
    if (q > best) [best, lagS] = [q, lag];
  }
  const abs = at0.x.map(Math.abs);
  const atLag = pairs(lagS, d);
  return {
    samples: at0.x.length,
    meanAbsRequestedKw: abs.reduce((a, b) => a + b, 0) / Math.max(1, abs.length),
    maxAbsRequestedKw: Math.max(0, ...abs),
    ratio: ratioOf(at0),
    ratioAtLag: best,
    lagS,
    slopeFans: slope(atLag.x, atLag.y),
    slopeGrid: slope(pairs(lagS, g).x, pairs(lagS, g).y),
    rmsErrorKw: Math.sqrt(
      atLag.x.reduce((a, q, k) => a + (atLag.y[k]! - q) ** 2, 0) / Math.max(1, atLag.x.length),
    ),
  };
}

async function series(store: Store, pointId: string, from: number, to: number, scale = 1): Promise<Series> {
  const raw = (await store.readings.range({ pointId, from, to, bucketMs: null })).raw.filter(
    (x) => x.value !== null,
  );
  return { ts: raw.map((x) => x.ts), v: raw.map((x) => x.value! * scale) };
}

/** The obligation as the market stores it once the operator's bid for it is accepted. */
async function storeObligation(dataDir: string, kw: number, sustainMs: number): Promise<void> {
  const hourStart = Math.floor(Date.now() / H) * H;
  const sold: Obligation[] = [0, 1].map((k) => ({
    id: `fcr-n:${new Date(hourStart + k * H).toISOString()}:0`,
    productId: 'fcr-n',
    direction: 'symmetric',
    startMs: hourStart + k * H,
    endMs: hourStart + (k + 1) * H,
    kw,
    priceCentsPerMwh: 2_000,
    sites: [{ siteId: SITE, kw }],
    sustainMs,
  }));
  const store = await openStore({ dataDir });
  try {
    await migrateAll(store);
    const repo = new MarketRepository(store.db);
    const at = hourStart - H;
    const saved = await repo.saveBids(SITE, sold, at, false);
    if (!saved.ok) throw new Error(`the obligation's bids were not stored: ${JSON.stringify(saved)}`);
    if (!(await repo.saveObligations(SITE, sold, at))) throw new Error('the obligation was not stored');
  } finally {
    await store.close();
  }
}

type Json = Record<string, unknown>;
interface FanAsset {
  id: string;
  type: string;
  nominalKw: number;
  ratedKw: number;
  minSpeedPct: number;
  maxSpeedPct: number;
  measure: { power: string };
  control: { speed: string };
}

export async function fcrHour(o: FcrHourOptions): Promise<FcrHourResult> {
  const say = o.say ?? (() => {});
  const dir = await mkdtemp(join(tmpdir(), 'gfx-fcr-hour-'));
  const data = join(dir, 'data');
  const children: { stop: () => Promise<number | null> }[] = [];
  try {
    const port = await freePortPair();
    const product = findProduct(await loadProducts(), 'fcr-n');
    await storeObligation(data, o.kw, product.fullActivation + product.minDuration);
    const printed = await runCli(['sim', '--scenario', SITE, '--port-base', String(port), '--print-config']);
    if (printed.code !== 0) throw new Error(`gridflex sim --print-config failed: ${printed.stderr}`);
    const config = parse(printed.stdout) as Json & { sites: { buildings: { assets: FanAsset[] }[] }[] };
    config.listen = { host: '127.0.0.1', port: 0 };
    const file = join(dir, 'gridflex.yaml');
    await writeFile(file, stringify(config));
    const fans = config.sites[0]!.buildings.flatMap((b) => b.assets).filter((a) => a.type === 'sheddable');
    const law = (a: FanAsset, pct: number) => a.ratedKw * (pct / 100) ** 3;
    const headroomUpKw = fans.reduce((s, a) => s + a.nominalKw - law(a, a.minSpeedPct), 0);
    const headroomDownKw = fans.reduce((s, a) => s + law(a, a.maxSpeedPct) - a.nominalKw, 0);

    const sim = await startCli(
      [
        'sim',
        '--scenario',
        SITE,
        '--speed',
        String(o.speed),
        '--start',
        SCHOOL_MORNING_SIM,
        '--port-base',
        String(port),
        '--pki',
        join(dir, 'sim-pki'),
      ],
      /Press Ctrl-C/,
      {},
      180_000,
    );
    children.push(sim);
    say(`simulator up (×${o.speed} from ${SCHOOL_MORNING_SIM})`);
    const runStartMs = Date.now();
    const run = await startCli(
      ['run', '--config', file, '--data', data],
      /running at (http:\/\/\S+)[\s\S]*Press Ctrl-C/,
      { GRIDFLEX_ADMIN_PASSWORD: 'bench-fcr-hour-password' },
      180_000,
    );
    children.push(run);
    say(`gridflex run up in ${((Date.now() - runStartMs) / 1000).toFixed(1)} s`);
    const follows = /droop: lappeenranta follows the grid frequency for fcr-n:(\d+(?:\.\d+)?) kW/;
    const deadline = Date.now() + 180_000;
    while (!follows.test(run.output())) {
      if (Date.now() > deadline) throw new Error(`the frequency response did not start:\n${run.output()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const heldKw = Number(run.output().match(follows)![1]);
    const startMs = Date.now();
    const holdMs = (o.simMinutes * 60_000) / o.speed;
    say(`frequency response started (${heldKw} kW); holding for ${(holdMs / 1000).toFixed(0)} s`);
    await new Promise((r) => setTimeout(r, holdMs));
    const endMs = Date.now();
    const stopAt = Date.now();
    const code = await run.stop();
    say(`gridflex run stopped in ${((Date.now() - stopAt) / 1000).toFixed(1)} s`);
    // The run's own output, to see what it said (FCR_HOUR_LOG=file).
    if (process.env.FCR_HOUR_LOG) await writeFile(process.env.FCR_HOUR_LOG, run.output());
    children.splice(children.indexOf(run), 1);
    if (code !== 0) throw new Error(`gridflex run exited with ${code}:\n${run.output().slice(-3000)}`);
    await sim.stop();
    children.splice(children.indexOf(sim), 1);

    const store = await openStore({ dataDir: data });
    try {
      const from = startMs - 60_000;
      const requested = await series(store, `${SITE}/frequency-response/requested`, from, endMs, 1 / 1000);
      const fanPower = await Promise.all(
        fans.map((a) => series(store, a.measure.power, runStartMs, endMs, 1 / 1000)),
      );
      // The fans' draw before the response (meter before): each fan's last reading before it.
      const baselineKw = fanPower.reduce((s, f) => {
        const before = f.ts.findLastIndex((t) => t < startMs);
        return s + (before >= 0 ? f.v[before]! : Number.NaN);
      }, 0);
      const meters = config.sites[0]!.buildings.flatMap((b) =>
        ((b as unknown as { devices: { id: string }[] }).devices ?? [])
          .filter((d) => d.id.endsWith('-grid-meter'))
          .map((d) => `${SITE}/${d.id}/power`),
      );
      const grid = await Promise.all(meters.map((m) => series(store, m, runStartMs, endMs, 1 / 1000)));
      say(
        `stored: ${requested.ts.length} requested, fans ${Math.min(...fanPower.map((f) => f.ts.length))}–${Math.max(...fanPower.map((f) => f.ts.length))} readings each, grid meters ${Math.min(...grid.map((f) => f.ts.length))}–${Math.max(...grid.map((f) => f.ts.length))}, fans' baseline ${baselineKw.toFixed(1)} kW`,
      );
      const figures = deliveryFigures(requested, fanPower, baselineKw, grid, startMs, endMs);

      const proven = await series(store, `${SITE}/frequency-response/delivered`, from, endMs, 1 / 1000);
      const settlement = frequencySettlementRow(
        { obligationId: 'the bench window', productId: 'fcr-n', siteId: SITE, startMs, endMs, heldKw },
        { ts: requested.ts, kw: requested.v },
        { ts: proven.ts, kw: proven.v },
      );
      let speedViolations = 0;
      for (const a of fans) {
        const s = await series(store, a.control.speed, startMs, endMs);
        speedViolations += s.v.filter((v) => v < a.minSpeedPct - 0.01 || v > a.maxSpeedPct + 0.01).length;
      }
      const scenario = await loadScenario(SITE);
      let zoneViolations = 0;
      let zoneReadings = 0;
      for (const b of scenario.buildings)
        for (const d of b.devices) {
          if (d.type !== 'heat_pump') continue;
          const z = await series(store, `${SITE}/${b.id}-bms/${d.zone}-temperature`, startMs, endMs);
          zoneReadings += z.v.length;
          zoneViolations += z.v.filter((c) => c < d.setpointC - d.bandC || c > d.setpointC + d.bandC).length;
        }
      return {
        heldKw,
        fans: fans.length,
        headroomUpKw,
        headroomDownKw,
        realSeconds: (endMs - startMs) / 1000,
        simMinutes: ((endMs - startMs) * o.speed) / 60_000,
        ...figures,
        speedViolations,
        zoneViolations,
        zoneReadings,
        settlement,
      };
    } finally {
      await store.close();
    }
  } finally {
    for (const c of children.reverse()) await c.stop().catch(() => {});
    // FCR_HOUR_KEEP=1 keeps the run's data folder (its store, the proof) to look into.
    if (process.env.FCR_HOUR_KEEP) say(`kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}
