import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Subject } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { packageRoot } from '../config/version.js';
import type { Reading, SiteCommitment, WriteRecord } from '../model/index.js';
import type { RunningSimulator } from '../sim/runner.js';
import { freePortPair } from '../sim/testing.js';
import { openStore, type Store } from '../store/index.js';
import { startZevBernSimulator } from '../testkit/simulator.js';
import { until } from '../testkit/wait.js';
import { CentralIngest, type CommandAck } from '../uplink/index.js';
import { brokerSkipReason, SHARED_BROKER } from '../uplink/testing.js';
import { EdgeConfigSchema, type RunningEdge, startEdge } from './edge.js';
import { forwardObligations, wireObligations } from './edge-dispatch.js';

/**
 * Frequency response at the edge (issue #14 item 1, "local droop"): central publishes the
 * site's obligations (retained, app/edge-dispatch.ts `forwardObligations`), the edge answers the
 * FCR-N among them on its own from the grid meter's frequency, with the battery its file
 * describes, and holds the battery against central's commands while it does. The zev-bern
 * simulator (real Modbus), the edge in-process, central's ingest on the shared Mosquitto.
 */
const skip = await brokerSkipReason();
const SITE = 'zev-bern';
const H = 3_600_000;

/** FCR-N of `kw` each way, in force from a minute ago for an hour. */
const fcrNNow = (id: string, kw: number): SiteCommitment => ({
  id,
  startMs: Date.now() - 60_000,
  endMs: Date.now() + H,
  reserve: { upKw: kw, downKw: kw, sustainMinutes: 63, product: 'fcr-n' },
});

describe('wire obligations (pure)', () => {
  it('carries the product, the period and both sides; a commitment without a product is not sent', () => {
    const list: SiteCommitment[] = [
      {
        id: 'a',
        startMs: 1,
        endMs: 2,
        reserve: { upKw: 4, downKw: 4, sustainMinutes: 60, product: 'fcr-n' },
      },
      { id: 'b', startMs: 1, endMs: 2, reserve: { upKw: 3, sustainMinutes: 15 } },
      { id: 'c', startMs: 1, endMs: 2, importLimitKw: 5 },
    ];
    expect(wireObligations(list)).toEqual([
      { id: 'a', product: 'fcr-n', startMs: 1, endMs: 2, upKw: 4, downKw: 4 },
    ]);
  });
});

describe.skipIf(skip)('the edge answers FCR-N from the obligations central publishes', () => {
  let dir: string;
  let sim: RunningSimulator;
  let edge: RunningEdge;
  let central: CentralIngest;
  let centralStore: Store;
  const lines: string[] = [];
  const writes: WriteRecord[] = [];
  const tenant = `droop${randomBytes(3).toString('hex')}`;
  const addr = { tenant, site: SITE };
  /** The edge file as written (parsed again for the restart). */
  let raw: { uplink: Record<string, unknown> } & Record<string, unknown>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gfx-edge-droop-'));
    const port = await freePortPair();
    sim = await startZevBernSimulator({ pkiDir: join(dir, 'sim-pki'), portBase: port });
    const example = parse(
      (await readFile(`${packageRoot()}/deploy/examples/gridflex.yaml`, 'utf8')).replaceAll(
        'port: 5020',
        `port: ${port}`,
      ),
    ) as { sites: { buildings: { devices: { id: string }[]; assets: { id: string }[] }[] }[] };
    const building = example.sites[0]!.buildings[0]!;
    raw = {
      site: SITE,
      pollInterval: '1s',
      devices: building.devices.filter((d) => ['house-grid-meter', 'house-battery'].includes(d.id)),
      assets: building.assets.filter((a) => a.id === 'battery'),
      uplink: { broker: SHARED_BROKER, tenant, edge: 'edge-zev-bern', batchMs: 500 },
    };
    edge = await startEdge(EdgeConfigSchema.parse(raw), {
      dataDir: join(dir, 'edge'),
      say: (l) => lines.push(l),
    });
    centralStore = await openStore({ dataDir: 'memory://' });
    central = await CentralIngest.start({
      url: SHARED_BROKER,
      store: centralStore,
      tenant,
      clientId: `gf-central-${tenant}`,
    });
  }, 120_000);

  afterAll(async () => {
    sim?.sim.setFrequencyProfile(null);
    // Clear the retained obligations so no later subscriber of this tenant finds them.
    await central?.obligations(addr, []).catch(() => {});
    await edge?.stop();
    await central?.close();
    await centralStore?.close();
    await sim?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Send one setpoint to the edge and wait for its answer. */
  const command = async (point: string, value: number): Promise<CommandAck> => {
    const answered = new Promise<CommandAck>((resolve) => {
      const on = (a: CommandAck) => {
        if (a.status === 'received') return;
        central.off('cmdack', on);
        resolve(a);
      };
      central.on('cmdack', on);
    });
    await central.command(addr, { setpoints: [{ point, value }] }, 60_000);
    return answered;
  };

  it('follows an under-frequency with the battery while the obligation holds, refuses central meanwhile, then hands back', async () => {
    expect(edge.droop?.frequencyPoint).toBe(`${SITE}/house-grid-meter/frequency`);
    const sub = edge.hub.topic('writes').subscribe((w) => writes.push(w));
    const proof: Reading[] = [];
    const proofSub = edge.hub.readings$.subscribe((r) => {
      if (r.pointId === `${SITE}/frequency-response/requested`) proof.push(r);
    });
    const obligations = new Subject<readonly SiteCommitment[]>();
    const forwarding = forwardObligations(central, addr, obligations);
    try {
      obligations.next([fcrNNow('fcr-n-now', 4)]);
      await until(
        () => `the edge's response to start: ${lines.join(' | ')}`,
        () => edge.droop?.runtime !== undefined,
        90_000,
      );
      expect(lines.join('\n')).toContain('obligations from central: fcr-n 4/4 kW');

      sim.sim.setFrequencyProfile(() => 49.9);
      const response = await until(
        'a frequency-response write to the battery at the edge',
        () =>
          writes.find(
            (w) =>
              w.device === 'house-battery' &&
              w.why.startsWith('local frequency response') &&
              w.point === 'discharge_rate' &&
              w.outcome === 'written' &&
              (w.value ?? 0) > 0,
          ),
        60_000,
      );
      expect(response.who).toBe('market');
      // The proof of the response goes up with the readings (the outbox takes the hub's).
      await until(
        'the proof of the response on the edge hub',
        () => proof.some((r) => (r.value ?? 0) > 0),
        30_000,
      );

      // Central's command to the held battery is refused by the edge, saying by what.
      const refused = await command('house-battery/mode', 0);
      expect(refused.status).toBe('rejected');
      expect(refused.reason).toMatch(/held by .*fcr-n/);

      // Central withdraws the obligation: the battery goes back to its base, and is central's again.
      sim.sim.setFrequencyProfile(null);
      obligations.next([]);
      await until(
        () => `the response to end: ${lines.join(' | ')}`,
        () => edge.droop?.runtime === undefined,
        60_000,
      );
      expect(lines.join('\n')).toMatch(/ended fcr-n:4: assets back on their base/);
      const applied = await command('house-battery/mode', 0);
      expect(applied.status).toBe('applied');

      // A new obligation, then a restart with the broker out of reach: the edge answers from the
      // list it kept in its store.
      obligations.next([fcrNNow('fcr-n-next', 2)]);
      await until(
        () => `the edge to take the new list: ${lines.join(' | ')}`,
        () => edge.droop?.runtime !== undefined && lines.some((l) => l.includes('fcr-n 2/2 kW')),
        60_000,
      );
      await edge.stop();
      const restartLines: string[] = [];
      edge = await startEdge(
        EdgeConfigSchema.parse({ ...raw, uplink: { ...raw.uplink, broker: 'mqtt://127.0.0.1:9' } }),
        { dataDir: join(dir, 'edge'), say: (l) => restartLines.push(l) },
      );
      await until(
        () => `the restarted edge to answer from its kept list: ${restartLines.join(' | ')}`,
        () => restartLines.some((l) => l.includes('follows the grid frequency for fcr-n:2 kW')),
        90_000,
      );
    } finally {
      forwarding.unsubscribe();
      sub.unsubscribe();
      proofSub.unsubscribe();
    }
  }, 240_000);
});
