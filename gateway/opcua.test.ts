import { mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DataType,
  MessageSecurityMode,
  OPCUACertificateManager,
  OPCUAServer,
  SecurityPolicy,
  StatusCodes,
  Variant,
} from 'node-opcua';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli/testing.js';
import type { Reading } from '../model/index.js';
import { Hub } from '../stream/index.js';
import { GatewayConfigSchema } from './config.js';
import { Gateway } from './gateway.js';
import { browseOpcUa } from './opcua-device.js';
import { freePort } from './testing.js';

let dir: string;
let port: number;
let server: OPCUAServer | null = null;
let power = 1500;
let limit = 200;
let flow = 1000;

async function startServer(): Promise<void> {
  const s = new OPCUAServer({
    port,
    hostname: '127.0.0.1',
    resourcePath: '/UA/Bms',
    securityModes: [MessageSecurityMode.None, MessageSecurityMode.SignAndEncrypt],
    securityPolicies: [SecurityPolicy.None, SecurityPolicy.Basic256Sha256],
    serverCertificateManager: new OPCUACertificateManager({
      rootFolder: join(dir, 'server-pki'),
      automaticallyAcceptUnknownCertificate: true,
    }),
    userCertificateManager: new OPCUACertificateManager({
      rootFolder: join(dir, 'server-user-pki'),
      automaticallyAcceptUnknownCertificate: true,
    }),
  });
  await s.initialize();
  const ns = s.engine.addressSpace!.getOwnNamespace();
  const bms = ns.addObject({ organizedBy: s.engine.addressSpace!.rootFolder.objects, browseName: 'Bms' });
  ns.addVariable({
    componentOf: bms,
    browseName: 'Power',
    nodeId: 's=Bms.Power',
    dataType: 'Double',
    minimumSamplingInterval: 50,
    value: { get: () => new Variant({ dataType: DataType.Double, value: power }) },
  });
  ns.addVariable({
    componentOf: bms,
    browseName: 'Limit',
    nodeId: 's=Bms.Limit',
    dataType: 'Double',
    minimumSamplingInterval: 50,
    value: {
      get: () => new Variant({ dataType: DataType.Double, value: limit }),
      set: (v: Variant) => {
        if (v.value > 900) return StatusCodes.BadOutOfRange;
        limit = v.value;
        return StatusCodes.Good;
      },
    },
  });
  // An analog item with an engineering range, for percent deadbands.
  ns.addAnalogDataItem({
    componentOf: bms,
    browseName: 'Flow',
    nodeId: 's=Bms.Flow',
    dataType: 'Double',
    minimumSamplingInterval: 50,
    engineeringUnitsRange: { low: 0, high: 10_000 },
    value: { get: () => new Variant({ dataType: DataType.Double, value: flow }) },
  });
  await s.start();
  server = s;
}

const endpoint = () => `opc.tcp://127.0.0.1:${port}/UA/Bms`;

function config(connection: Record<string, unknown>) {
  return GatewayConfigSchema.parse({
    site: 'bern',
    devices: [
      {
        id: 'bms',
        protocol: 'opcua',
        publishingInterval: '100ms',
        pollInterval: '50ms',
        connection: { endpointUrl: endpoint(), ...connection },
        points: [
          { id: 'power', kind: 'active_power', nodeId: 'ns=1;s=Bms.Power' },
          {
            id: 'limit',
            kind: 'setpoint',
            unit: 'W',
            writable: true,
            min: 0,
            max: 1000,
            nodeId: 'ns=1;s=Bms.Limit',
          },
        ],
      },
    ],
  });
}

const waitFor = async (cond: () => boolean, ms: number) => {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gfx-opcua-'));
  port = await freePort();
  await startServer();
}, 120_000);
afterAll(async () => {
  await server?.shutdown(0);
  await rm(dir, { recursive: true, force: true });
});

/** Site bern's gateway with the `bms` device on the test server, published every 100 ms. */
const bmsConfig = (pollInterval: string, points: Record<string, unknown>[]) =>
  GatewayConfigSchema.parse({
    site: 'bern',
    devices: [
      {
        id: 'bms',
        protocol: 'opcua',
        publishingInterval: '100ms',
        pollInterval,
        connection: { endpointUrl: endpoint() },
        points,
      },
    ],
  });

describe('OPC UA devices', { timeout: 120_000 }, () => {
  it('subscribes, and re-subscribes on its own after the server restarts', async () => {
    const hub = new Hub();
    const seen: Reading[] = [];
    hub.readings$.subscribe((r) => seen.push(r));
    const gw = new Gateway(config({}), hub, {
      opcua: { pkiDir: join(dir, 'client-pki'), acceptUnknownCertificates: true },
    });
    try {
      gw.start();
      await waitFor(() => seen.some((r) => r.pointId === 'bern/bms/power' && r.value === 1500), 30_000);
      await server!.shutdown(0);
      server = null;
      power = 2222;
      await startServer();
      await waitFor(() => seen.some((r) => r.pointId === 'bern/bms/power' && r.value === 2222), 60_000);
      expect(seen.find((r) => r.value === 2222)!.quality).toBe('good');
    } finally {
      await gw.stop();
    }
  });

  it('gives every point a bad reading per sampling interval while the server is gone, then values again', async () => {
    const hub = new Hub();
    const seen: Reading[] = [];
    hub.readings$.subscribe((r) => seen.push(r));
    const cfg = bmsConfig('200ms', [
      { id: 'power', kind: 'active_power', nodeId: 'ns=1;s=Bms.Power' },
      { id: 'flow', kind: 'active_power', nodeId: 'ns=1;s=Bms.Flow', pollInterval: '400ms' },
    ]);
    const changes: { device: string; up: boolean }[] = [];
    const gw = new Gateway(cfg, hub, {
      opcua: { pkiDir: join(dir, 'client-pki') },
      log: (_level, _line, change) => changes.push(change),
    });
    const of = (id: string) => seen.filter((r) => r.pointId === `bern/bms/${id}`);
    const bad = (id: string) => of(id).filter((r) => r.quality === 'bad');
    try {
      gw.start();
      await waitFor(() => of('power').some((r) => r.quality === 'good') && of('flow').length > 0, 30_000);
      await server!.shutdown(0);
      server = null;
      const downAt = Date.now();
      await waitFor(() => bad('power').length >= 5 && bad('flow').length >= 3, 30_000);
      const downFor = Date.now() - downAt;
      for (const [id, ms] of [
        ['power', 200],
        ['flow', 400],
      ] as const) {
        const ts = bad(id).map((r) => r.ts);
        expect(bad(id).every((r) => r.value === null)).toBe(true);
        // One per interval: never two within much less than an interval, and not fewer than the outage allows.
        for (let i = 1; i < ts.length; i++) expect(ts[i]! - ts[i - 1]!).toBeGreaterThanOrEqual(ms * 0.5);
        expect(ts.length).toBeLessThanOrEqual(Math.ceil(downFor / ms) + 2);
      }
      expect(gw.status()[0]).toMatchObject({ state: 'unreachable' });
      expect(changes).toEqual([{ device: 'bms', up: false, reason: expect.any(String) }]);
      // The value is unchanged across the restart: the point must not stay bad for want of a change.
      await startServer();
      await waitFor(() => of('power').at(-1)?.quality === 'good', 60_000);
      await waitFor(() => of('flow').at(-1)?.quality === 'good', 30_000);
      expect(of('power').at(-1)!.value).toBe(power);
      expect(changes.map((c) => c.up)).toEqual([false, true]);
      // Back: no more bad readings (three power intervals later).
      const badSoFar = bad('power').length + bad('flow').length;
      await new Promise((r) => setTimeout(r, 600));
      expect(bad('power').length + bad('flow').length).toBe(badSoFar);
    } finally {
      await gw.stop();
    }
  });

  it('gives bad readings while the server has dropped the subscription, and subscribes again', async () => {
    const hub = new Hub();
    const seen: Reading[] = [];
    hub.readings$.subscribe((r) => seen.push(r));
    const sessions: { deleteSubscription(id: number): unknown }[] = [];
    const onSession = (s: (typeof sessions)[number]) => sessions.push(s);
    server!.on('create_session', onSession);
    const cfg = GatewayConfigSchema.parse({
      site: 'bern',
      devices: [
        {
          id: 'bms',
          protocol: 'opcua',
          publishingInterval: '100ms',
          pollInterval: '200ms',
          connection: { endpointUrl: endpoint() },
          points: [{ id: 'power', kind: 'active_power', nodeId: 'ns=1;s=Bms.Power' }],
        },
      ],
    });
    const changes: boolean[] = [];
    const gw = new Gateway(cfg, hub, {
      opcua: { pkiDir: join(dir, 'client-pki') },
      log: (_level, _line, change) => changes.push(change.up),
    });
    try {
      gw.start();
      await waitFor(() => seen.some((r) => r.quality === 'good'), 30_000);
      const id = (gw.opcuaDevices[0] as unknown as { subscription: { subscriptionId: number } }).subscription
        .subscriptionId;
      // The server forgets the subscription; the connection stays up, so nothing is "lost".
      for (const s of sessions) s.deleteSubscription(id);
      // Bad from the next interval on, until the new subscription's first values arrive.
      await waitFor(() => seen.some((r) => r.quality === 'bad'), 30_000);
      expect(seen.filter((r) => r.quality === 'bad').every((r) => r.value === null)).toBe(true);
      await waitFor(() => seen.at(-1)?.quality === 'good' && changes.length === 2, 30_000);
      expect(changes).toEqual([false, true]);
      expect(seen.at(-1)!.value).toBe(power);
    } finally {
      server?.off('create_session', onSession);

      await gw.stop();
    }
  });

  it('reads over SignAndEncrypt (Basic256Sha256) and writes through the safety layer', async () => {
    const cfg = config({ securityMode: 'SignAndEncrypt', securityPolicy: 'Basic256Sha256' });
    const gw = new Gateway(cfg, new Hub(), {
      opcua: { pkiDir: join(dir, 'client-pki'), acceptUnknownCertificates: true },
    });
    try {
      const out = await gw.pollOnce();
      expect(out.errors).toEqual([]);
      expect(out.readings.map((r) => [r.pointId, r.value, r.quality])).toEqual([
        ['bern/bms/power', 2222, 'good'],
        ['bern/bms/limit', 200, 'good'],
      ]);
      const ok = await gw.write({ device: 'bms', point: 'limit', value: 500, who: 'alice', why: 'test' });
      expect(ok).toMatchObject({ outcome: 'written', old: 200, readBack: 500 });
      const rejected = await gw.write({
        device: 'bms',
        point: 'limit',
        value: 950,
        who: 'alice',
        why: 'test',
      });
      // Within the configured 0–1000 but refused by the server: reported, not retried.
      expect(rejected).toMatchObject({ outcome: 'refused', reason: expect.stringMatching(/rate-limited/) });
    } finally {
      await gw.stop();
    }
  });

  it('reports a bad status from the server as a rejected write', async () => {
    const gw = new Gateway(config({}), new Hub(), { opcua: { pkiDir: join(dir, 'client-pki') } });
    try {
      const rec = await gw.write({ device: 'bms', point: 'limit', value: 950, who: 'alice', why: 'test' });
      expect(rec).toMatchObject({ outcome: 'rejected', reason: 'server answered BadOutOfRange' });
      expect(limit).toBe(500);
    } finally {
      await gw.stop();
    }
  });

  it('opens one session for the calls that arrive before the first session is open', async () => {
    const gw = new Gateway(config({}), new Hub(), { opcua: { pkiDir: join(dir, 'client-pki') } });
    const before = server!.currentSessionCount;
    try {
      const outs = await Promise.all([gw.pollOnce(), gw.pollOnce(), gw.pollOnce()]);
      for (const out of outs) expect(out.errors).toEqual([]);
      expect(server!.currentSessionCount - before).toBe(1);
    } finally {
      await gw.stop();
    }
  });

  it('browses the address space', async () => {
    const nodes = await browseOpcUa({
      endpointUrl: endpoint(),
      securityMode: 'None',
      securityPolicy: 'None',
      auth: { type: 'anonymous' },
      timeoutMs: 5000,
    });
    expect(nodes).toContainEqual({
      nodeId: 'ns=1;s=Bms.Power',
      browseName: '1:Power',
      nodeClass: 'Variable',
      depth: 1,
    });
  });

  it('gridflex browse lists the nodes', async () => {
    const res = await runCli(['browse', '--opcua', endpoint(), '--pki', join(dir, 'cli-pki')]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^ {2}ns=1;s=Bms\.Power {2}Variable {2}1:Power$/m);
  });

  it('reports an unreachable server as bad readings without throwing', async () => {
    const other = await freePort();
    const cfg = config({});
    const d = cfg.devices[0]!;
    if (d.protocol === 'opcua') d.connection.endpointUrl = `opc.tcp://127.0.0.1:${other}/UA/Bms`;
    const gw = new Gateway(cfg, new Hub(), { opcua: { pkiDir: join(dir, 'client-pki') } });
    try {
      const out = await gw.pollOnce();
      expect(out.unreachable).toBe(true);
      expect(out.readings.every((r) => r.quality === 'bad' && r.value === null)).toBe(true);
      expect(out.errors[0]).toMatch(
        /cannot open an OPC UA session with opc\.tcp:\/\/127\.0\.0\.1:\d+\/UA\/Bms: connection refused/,
      );
    } finally {
      await gw.stop();
    }
  });

  it('leaves changes within the deadband on the server, flags a value that stops changing, and reports status', async () => {
    power = 1000;
    const node = 'ns=1;s=Bms.Power';
    const cfg = bmsConfig('50ms', [
      // Three views of one node: every change, a 50 W deadband, a 300 ms staleness window.
      { id: 'power', kind: 'active_power', nodeId: node },
      { id: 'power_db', kind: 'active_power', nodeId: node, deadband: 50 },
      { id: 'power_stale', kind: 'active_power', nodeId: node, staleAfter: '300ms' },
    ]);
    const seen: Reading[] = [];
    const hub = new Hub();
    hub.readings$.subscribe((r) => seen.push(r));
    const of = (id: string) => seen.filter((r) => r.pointId === `bern/bms/${id}`);
    const has = (id: string, value: number, quality = 'good') =>
      of(id).some((r) => r.value === value && r.quality === quality);
    const gw = new Gateway(cfg, hub, { opcua: { pkiDir: join(dir, 'client-pki') } });
    try {
      gw.start();
      await waitFor(() => has('power', 1000) && has('power_db', 1000), 30_000);
      power = 1010;
      await waitFor(() => has('power', 1010), 30_000);
      power = 1100;
      await waitFor(() => has('power_db', 1100), 30_000);
      expect(of('power_db').map((r) => r.value)).toEqual([1000, 1100]);
      await waitFor(() => has('power_stale', 1100, 'uncertain'), 30_000);
      power = 1200;
      await waitFor(() => has('power_stale', 1200), 30_000);
      expect(gw.status()).toEqual([
        expect.objectContaining({ device: 'bms', protocol: 'opcua', state: 'ok', lastError: null }),
      ]);
      expect(gw.status()[0]!.notifications).toBeGreaterThanOrEqual(6);
    } finally {
      await gw.stop();
    }
  });

  it('publishes a value that does not change again after maxSilence, so it stays fresh for control', async () => {
    power = 1500;
    const cfg = bmsConfig('50ms', [
      { id: 'steady', kind: 'active_power', nodeId: 'ns=1;s=Bms.Power', maxSilence: '400ms' },
    ]);
    const seen: Reading[] = [];
    const hub = new Hub();
    hub.readings$.subscribe((r) => seen.push(r));
    const gw = new Gateway(cfg, hub, { opcua: { pkiDir: join(dir, 'client-pki') } });
    try {
      gw.start();
      // The server notifies 1500 once; the gateway repeats it about every 400 ms.
      await waitFor(() => seen.filter((r) => r.value === 1500).length >= 4, 30_000);
      const steady = seen.filter((r) => r.pointId === 'bern/bms/steady');
      expect(steady.every((r) => r.value === 1500 && r.quality === 'good')).toBe(true);
      const gaps = steady.slice(1).map((r, i) => r.ts - steady[i]!.ts);
      expect(Math.min(...gaps)).toBeGreaterThanOrEqual(400);
    } finally {
      await gw.stop();
    }
  });

  it('leaves changes within a percent-of-EURange deadband on the server; a node without EURange is reported', async () => {
    const cfg = bmsConfig('50ms', [
      { id: 'flow', kind: 'active_power', nodeId: 'ns=1;s=Bms.Flow' },
      // 1 % of 0–10,000 = 100.
      { id: 'flow_db', kind: 'active_power', nodeId: 'ns=1;s=Bms.Flow', deadbandPercent: 1 },
      { id: 'power_pct', kind: 'active_power', nodeId: 'ns=1;s=Bms.Power', deadbandPercent: 1 },
    ]);
    const seen: Reading[] = [];
    const hub = new Hub();
    hub.readings$.subscribe((r) => seen.push(r));
    const values = (id: string) => seen.filter((r) => r.pointId === `bern/bms/${id}`).map((r) => r.value);
    const gw = new Gateway(cfg, hub, { opcua: { pkiDir: join(dir, 'client-pki') } });
    try {
      gw.start();
      await waitFor(() => values('flow_db').includes(1000), 30_000);
      flow = 1050;
      await waitFor(() => values('flow').includes(1050), 30_000);
      flow = 1200;
      await waitFor(() => values('flow_db').includes(1200), 30_000);
      expect(values('flow_db')).toEqual([1000, 1200]);
      await waitFor(() => gw.status()[0]!.lastError !== null, 30_000);
      expect(gw.status()[0]).toMatchObject({
        state: 'degraded',
        lastError: expect.stringMatching(/^power_pct: BadMonitoredItemFilterUnsupported/),
      });
      expect(seen.filter((r) => r.pointId === 'bern/bms/power_pct')).toEqual([
        { pointId: 'bern/bms/power_pct', ts: expect.any(Number), value: null, quality: 'bad' },
      ]);
    } finally {
      await gw.stop();
    }
  });

  it('gives a point whose node the server does not know a bad reading and names it', async () => {
    const cfg = config({});
    cfg.devices[0]!.points.push({
      ...cfg.devices[0]!.points[0]!,
      id: 'missing',
      nodeId: 'ns=1;s=Bms.Missing',
    });
    const gw = new Gateway(cfg, new Hub(), { opcua: { pkiDir: join(dir, 'client-pki') } });
    try {
      const out = await gw.pollOnce();
      expect(out.readings.find((r) => r.pointId === 'bern/bms/missing')).toMatchObject({
        value: null,
        quality: 'bad',
      });
      expect(out.readings.find((r) => r.pointId === 'bern/bms/power')?.quality).toBe('good');
      expect(out.errors).toEqual(['bms/missing: BadNodeIdUnknown']);
      expect(gw.status()[0]).toMatchObject({ state: 'degraded', lastError: 'bms/missing: BadNodeIdUnknown' });
    } finally {
      await gw.stop();
    }
  });
});

describe('the OPC UA client certificate folder (--pki)', { timeout: 240_000 }, () => {
  it('gridflex read --pki keeps the client certificate there and trusts only servers put there', async () => {
    const file = join(dir, 'pki-read.json');
    await writeFile(
      file,
      JSON.stringify({
        site: 'bern',
        devices: [
          {
            id: 'bms',
            protocol: 'opcua',
            connection: {
              endpointUrl: endpoint(),
              securityMode: 'SignAndEncrypt',
              securityPolicy: 'Basic256Sha256',
            },
            points: [{ id: 'power', kind: 'active_power', nodeId: 'ns=1;s=Bms.Power' }],
          },
        ],
      }),
    );
    const pki = join(dir, 'cli-read-pki');
    const untrusted = await runCli(['read', '--config', file, '--once', '--pki', pki]);
    expect(untrusted.stderr).toMatch(/^gridflex: bms/m);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stdout).toMatch(/"quality":"bad"/);
    expect(await readdir(join(pki, 'own', 'certs'))).toContain('client_certificate.pem');
    const rejected = await readdir(join(pki, 'rejected'));
    expect(rejected).toHaveLength(1);
    await rename(join(pki, 'rejected', rejected[0]!), join(pki, 'trusted', 'certs', rejected[0]!));
    const trusted = await runCli(['read', '--config', file, '--once', '--pki', pki]);
    expect(trusted.stderr).not.toMatch(/^gridflex:/m);
    expect(trusted.code).toBe(0);
    expect(JSON.parse(trusted.stdout.trim().split('\n').at(-1)!)).toMatchObject({
      device: 'bms',
      point: 'power',
      quality: 'good',
    });
  });

  it('names --pki when it is a file', async () => {
    const res = await runCli([
      'read',
      '--config',
      join(dir, 'pki-read.json'),
      '--pki',
      join(dir, 'pki-read.json'),
    ]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/--pki: expected a folder, not a file/);
  });
});
