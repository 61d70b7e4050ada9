import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, copyFile, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../store/index.js';
import { testBackends } from '../store/testing.js';
import { CentralIngest } from './central.js';
import { type CommandTarget, EdgeCommands } from './commands.js';
import { EdgeLink } from './edge-link.js';
import { Outbox } from './outbox.js';
import { topic, type WireReading } from './protocol.js';
import { brokerSkipReason, type OwnBroker, SHARED_BROKER, startOwnBroker, until } from './testing.js';

const skip = await brokerSkipReason();
const T0 = Date.UTC(2026, 0, 12, 8, 0, 0); // simulated time: readings are stamped from here
const POINTS = ['meter/power', 'battery/soc', 'pv/power'];

/** The central store: the PostgreSQL server when the tests have one, else embedded. */
async function centralStore(): Promise<Store> {
  const pgBackend = testBackends.find((b) => b.name === 'postgres')!;
  return pgBackend.skipReason ? openStore({ dataDir: 'memory://' }) : pgBackend.open();
}

/** One simulated second of readings of a site: one per point. */
function second(i: number): WireReading[] {
  return POINTS.map((p, k) => [p, T0 + i * 1000, i + k / 10, 0]);
}

async function storedTimestamps(store: Store, site: string): Promise<Map<string, number[]>> {
  const r = await store.db.query<{ key: string; ts: string }>(
    `SELECT p.key, (extract(epoch FROM r.ts) * 1000)::bigint::text AS ts
     FROM readings r JOIN points p ON p.id = r.point_id WHERE p.key LIKE $1 ORDER BY p.key, r.ts`,
    [`${site}/%`],
  );
  const out = new Map<string, number[]>();
  for (const row of r.rows) {
    const list = out.get(row.key) ?? [];
    list.push(Number(row.ts));
    out.set(row.key, list);
  }
  return out;
}

/** Every point of `site` has exactly one reading per simulated second 0..n-1: none lost, none twice. */
async function expectExactlyOnce(store: Store, site: string, n: number): Promise<void> {
  const stored = await storedTimestamps(store, site);
  const expected = Array.from({ length: n }, (_, i) => T0 + i * 1000);
  expect([...stored.keys()].sort()).toEqual(POINTS.map((p) => `${site}/${p}`).sort());
  for (const [, ts] of stored) expect(ts).toEqual(expected);
}

interface Rig {
  tenant: string;
  site: string;
  edgeStore: Store;
  outbox: Outbox;
  link: EdgeLink;
  close(): Promise<void>;
}

async function edgeRig(
  url: string,
  tenant: string,
  site: string,
  extra: Partial<ConstructorParameters<typeof EdgeLink>[0]> = {},
): Promise<Rig> {
  const edgeStore = await openStore({ dataDir: 'memory://' });
  const outbox = await Outbox.open(edgeStore);
  const link = new EdgeLink({
    url,
    tenant,
    site,
    edge: `edge-${site}`,
    outbox,
    ackTimeoutMs: 1500,
    reconnectMs: 200,
    ...extra,
  });
  await until(link, 'connect', () => link.status().connected, 30_000, 'the edge to connect');
  return {
    tenant,
    site,
    edgeStore,
    outbox,
    link,
    close: async () => {
      await link.close();
      await edgeStore.close();
    },
  };
}

const acked = (rig: Rig, seq: number) =>
  until(rig.link, 'acked', () => rig.outbox.cursor >= seq, 90_000, `central to acknowledge seq ${seq}`);

describe.skipIf(skip)('uplink over the shared Mosquitto (127.0.0.1:1883)', { timeout: 240_000 }, () => {
  let central: Store;
  let ingest: CentralIngest;
  const tenant = `t${randomBytes(4).toString('hex')}`;
  const clientId = `gf-central-test-${tenant}`;
  // Consumers of this suite only: their own group and tenant, no session left on the shared broker.
  const scope = { group: tenant, tenant, persistent: false, flushMs: 20 } as const;
  const shared = (site: string) => edgeRig(SHARED_BROKER, tenant, site, { persistent: false });

  beforeAll(async () => {
    central = await centralStore();
    ingest = await CentralIngest.start({ url: SHARED_BROKER, store: central, clientId, ...scope });
  });
  afterAll(async () => {
    await ingest?.close();
    await central?.close();
  });

  it('an edge offline for 10 simulated minutes at 1 s readings loses nothing and duplicates nothing when it reconnects', async () => {
    const rig = await shared('offline');
    try {
      for (let i = 0; i < 60; i++) await rig.outbox.append(second(i), T0 + i * 1000);
      await acked(rig, 60);
      await rig.link.disconnect();
      for (let i = 60; i < 660; i++) await rig.outbox.append(second(i), T0 + i * 1000);
      expect(rig.outbox.size).toBe(600); // all of the outage waits in the outbox
      rig.link.reconnect();
      await acked(rig, 660);
      await ingest.drain();
      await expectExactlyOnce(central, 'offline', 660);
      expect(rig.outbox.size).toBe(0);
    } finally {
      await rig.close();
    }
  });

  it('central down while the edge keeps working: everything arrives once when it returns', async () => {
    const rig = await shared('central-down');
    try {
      for (let i = 0; i < 30; i++) await rig.outbox.append(second(i), T0 + i * 1000);
      await acked(rig, 30);
      await ingest.close();
      for (let i = 30; i < 330; i++) await rig.outbox.append(second(i), T0 + i * 1000);
      // Nothing is acknowledged while central is away: the edge sends its window again after each ack timeout.
      await until(rig.link, 'sent', () => rig.link.status().resent >= 40, 60_000, 'the edge to resend');
      expect(rig.outbox.cursor).toBe(30);
      ingest = await CentralIngest.start({ url: SHARED_BROKER, store: central, clientId, ...scope });
      // Wait on the link's acks: a poll would be a sleep. The resend timer keeps them coming.
      await acked(rig, 330);
      await ingest.drain();
      await expectExactlyOnce(central, 'central-down', 330);
    } finally {
      await rig.close();
    }
  });

  it('a malformed message or one from an edge that does not serve the site is dropped, counted and not stored', async () => {
    const strict = await CentralIngest.start({
      url: SHARED_BROKER,
      store: central,
      clientId: `${clientId}-strict`,
      ...scope,
      group: `${tenant}-strict`,
      tenant: `${tenant}-s`,
      edges: new Map([[`${tenant}-s/site-x`, 'edge-site-x']]),
    });
    const raw = await mqtt.connectAsync(SHARED_BROKER, { protocolVersion: 4 });
    try {
      const a = { tenant: `${tenant}-s`, site: 'site-x' };
      const dropped = () => strict.status().dropped;
      const bad = (n: number) =>
        until(strict, 'dropped', () => dropped().malformed + dropped().foreign >= n, 30_000);
      await raw.publishAsync(topic(a, 'tele'), '{"v":1,"edge":"edge-site-x","readings":"nope"}', { qos: 1 });
      await bad(1);
      const foreign = {
        v: 1,
        edge: 'edge-other',
        msgId: 'x',
        seq: 1,
        ts: T0,
        readings: [['meter/power', T0, 1, 0]],
      };
      await raw.publishAsync(topic(a, 'tele'), JSON.stringify(foreign), { qos: 1 });
      await bad(2);
      await strict.drain();
      expect(dropped()).toMatchObject({ malformed: 1, foreign: 1 });
      expect((await storedTimestamps(central, 'site-x')).size).toBe(0);
    } finally {
      await raw.endAsync();
      await strict.close();
    }
  });

  it('a command past validUntil is not applied; a valid one is, and both answers reach the command log', async () => {
    let edgeNow = T0;
    const applied: unknown[] = [];
    const target: CommandTarget = {
      apply: async (setpoints) => {
        applied.push(setpoints);
        return Object.fromEntries(setpoints.map((s) => [s.point, s.value]));
      },
      fallback: () => undefined,
    };
    const edgeStore = await openStore({ dataDir: 'memory://' });
    const outbox = await Outbox.open(edgeStore);
    const commands = new EdgeCommands(edgeStore, 'cmd-site', target, () => edgeNow);
    await commands.load();
    const link = new EdgeLink({
      url: SHARED_BROKER,
      tenant,
      site: 'cmd-site',
      edge: 'edge-cmd-site',
      outbox,
      commands,
      persistent: false,
    });
    const cmdCentral = await CentralIngest.start({
      url: SHARED_BROKER,
      store: central,
      clientId: `${clientId}-cmd`,
      ...scope,
      group: `${tenant}-cmd`,
      clock: () => T0,
    });
    try {
      await until(link, 'connect', () => link.status().connected, 30_000);
      const addr = { tenant, site: 'cmd-site' };
      // Wait on central's cmdack events until the log shows the answer.
      const answered = (cmdId: string, status: string) =>
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no ${status} answer for ${cmdId}`)), 30_000);
          const check = async () => {
            const row = await cmdCentral.commands.get('cmd-site', cmdId);
            if (row?.status !== status) return;
            clearTimeout(timer);
            cmdCentral.off('cmdack', check);
            resolve();
          };
          cmdCentral.on('cmdack', check);
          void check();
        });
      const ok = await cmdCentral.command(
        addr,
        { setpoints: [{ point: 'battery/setpoint', value: 5 }] },
        60_000,
        'ok-1',
      );
      await answered(ok.cmdId, 'applied');
      expect(applied).toEqual([[{ point: 'battery/setpoint', value: 5 }]]);
      // The edge's clock is now past the next command's validUntil (a late delivery).
      edgeNow = T0 + 120_000;
      const late = await cmdCentral.command(
        addr,
        { setpoints: [{ point: 'battery/setpoint', value: 9 }] },
        60_000,
        'late-1',
      );
      await answered(late.cmdId, 'expired');
      expect(applied).toHaveLength(1);
      expect((await cmdCentral.commands.get('cmd-site', 'late-1'))?.status).toBe('expired');
    } finally {
      commands.close();
      await cmdCentral.close();
      await link.close();
      await edgeStore.close();
    }
  });
});

describe.skipIf(skip)('uplink over a Mosquitto of its own', { timeout: 240_000 }, () => {
  let broker: OwnBroker | null = null;
  let central: Store;
  beforeAll(async () => {
    central = await centralStore();
  });
  afterAll(async () => {
    await broker?.close();
    await central?.close();
  });

  it('the broker restarted mid-stream: nothing lost, nothing stored twice', async () => {
    broker = await startOwnBroker();
    const ingest = await CentralIngest.start({
      url: broker.url,
      store: central,
      clientId: 'gf-central-restart',
      flushMs: 20,
      reconnectMs: 200,
    });
    const rig = await edgeRig(broker.url, 'acme', 'restart');
    try {
      for (let i = 0; i < 100; i++) await rig.outbox.append(second(i), T0 + i * 1000);
      await acked(rig, 50);
      // A crash: the broker's queues and sessions are gone (no persistence configured).
      await broker.stop();
      for (let i = 100; i < 200; i++) await rig.outbox.append(second(i), T0 + i * 1000);
      await broker.start();
      await acked(rig, 200);
      await ingest.drain();
      await expectExactlyOnce(central, 'restart', 200);
    } finally {
      await rig.close();
      await ingest.close();
    }
  });

  it('with the deploy/mosquitto ACL an edge publishing under another site is refused and nothing of it is stored', async () => {
    await broker?.close();
    const example = new URL('../deploy/mosquitto/', import.meta.url).pathname;
    const secrets = await mkdtemp(join(tmpdir(), 'gf-passwd-'));
    const passwd = join(secrets, 'passwd');
    await copyFile(join(example, 'passwd.example'), passwd);
    execFileSync('/usr/bin/mosquitto_passwd', ['-U', passwd]); // hash the example's plain passwords
    // Mosquitto started as root reads its files as the mosquitto user: both go into a folder it
    // can read (a checkout under a private folder, e.g. one made by mktemp -d, is not).
    const acl = join(secrets, 'acl');
    await copyFile(join(example, 'acl.example'), acl);
    await chmod(secrets, 0o755);
    await chmod(passwd, 0o644);
    await chmod(acl, 0o644);
    broker = await startOwnBroker([`password_file ${passwd}`, `acl_file ${acl}`]);
    const creds = Object.fromEntries(
      (await readFile(join(example, 'passwd.example'), 'utf8'))
        .split('\n')
        .filter((l) => l && !l.startsWith('#'))
        .map((l) => l.split(':') as [string, string]),
    );
    const ingest = await CentralIngest.start({
      url: broker.url,
      store: central,
      clientId: 'gf-central-acl',
      username: 'central',
      password: creds.central,
    });
    const b = await edgeRig(broker.url, 'acme', 'site-b', {
      username: 'edge-site-b',
      password: creds['edge-site-b'],
    });
    const intruder = await mqtt.connectAsync(broker.url, {
      protocolVersion: 4,
      username: 'edge-site-b',
      password: creds['edge-site-b'],
      clientId: 'intruder',
    });
    try {
      const victim = { tenant: 'acme', site: 'site-a' };
      const forged = {
        v: 1,
        edge: 'edge-site-a',
        msgId: 'f',
        seq: 1,
        ts: T0,
        readings: [['meter/power', T0, 99, 0]],
      };
      await intruder.publishAsync(topic(victim, 'tele'), JSON.stringify(forged), { qos: 1 });
      // Its own site works, and is committed after the forged message was handled by the broker.
      for (let i = 0; i < 5; i++) await b.outbox.append(second(i), T0 + i * 1000);
      await acked(b, 5);
      await ingest.drain();
      await expectExactlyOnce(central, 'site-b', 5);
      expect((await storedTimestamps(central, 'site-a')).size).toBe(0);
      expect(ingest.status().messages).toBe(5);
    } finally {
      await intruder.endAsync();
      await b.close();
      await ingest.close();
    }
  });
});
