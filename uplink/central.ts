import { EventEmitter } from 'node:events';
import type { MqttClient } from 'mqtt';
import { lazyRequire } from '../config/lazy-require.js';
import type { Reading } from '../model/index.js';
import type { Store } from '../store/index.js';
import { CentralCommandLog } from './commands.js';
import { uplinkMigrations } from './outbox.js';
import {
  type Ack,
  type Command,
  CommandAckSchema,
  decode,
  fromWire,
  INGEST_GROUP,
  type Obligations,
  ObligationsSchema,
  PROTOCOL_VERSION,
  parseTopic,
  type SiteAddress,
  TelemetrySchema,
  topic,
  wildcard,
} from './protocol.js';

// Loaded on the first connection: every command that reads a gridflex.yaml imports this module,
// and most never talk to a broker.
const mqtt = lazyRequire<typeof import('mqtt')>('mqtt');

export interface CentralOptions {
  url: string;
  username?: string;
  password?: string;
  store: Store;
  /** Stable per consumer: the broker keeps its persistent session (and queue) across restarts. */
  clientId?: string;
  /** Which edge id serves which `tenant/site`; a message from another edge is dropped. Unset: any. */
  edges?: ReadonlyMap<string, string>;
  /** Commit after this many readings or this long after the first waiting one (defaults 20,000 and 50 ms). */
  flushReadings?: number;
  flushMs?: number;
  clock?: () => number;
  reconnectMs?: number;
  /**
   * Readings just committed (before they are acknowledged): central's live consumers (the
   * optimiser and the live API of edge-served sites) take them from here, not from the broker.
   */
  onCommitted?: (readings: readonly Reading[]) => void;
  /**
   * Shared-subscription group (default `ingest`). Every consumer of one group must be configured
   * alike: the broker hands each message to one of them.
   */
  group?: string;
  /** Consume one tenant's sites only (default every tenant). */
  tenant?: string;
  /**
   * Keep a persistent session (default true): the broker queues this consumer's share while it
   * restarts. Its clientId must then be stable: a persistent session of a consumer that never
   * returns keeps receiving its share of the group, which only edge resends recover.
   */
  persistent?: boolean;
}

export interface CentralStatus {
  connected: boolean;
  messages: number;
  readings: number;
  inserted: number;
  duplicates: number;
  dropped: { malformed: number; foreign: number; failedCommit: number };
}

interface Waiting {
  addr: SiteAddress;
  edge: string;
  seq: number;
  sentTs: number;
}

/**
 * Central ingest: one consumer of the `$share/ingest` subscription to every site's telemetry.
 * Validates each message (topic and payload), gathers readings of many messages into one
 * idempotent store ingest and, only after it committed, acknowledges each message's seq to its
 * edge. A malformed or foreign message is dropped and counted, never stored; a failed commit
 * acknowledges nothing (the edge resends). Also answers the command log (`…/cmdack`).
 * Emits `committed` ({ messages, readings, latencies }).
 */
export class CentralIngest extends EventEmitter {
  private readonly client: MqttClient;
  private readonly log: CentralCommandLog;
  private readonly clock: () => number;
  private readings: Reading[] = [];
  private waiting: Waiting[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private readonly counters: Omit<CentralStatus, 'connected'> = {
    messages: 0,
    readings: 0,
    inserted: 0,
    duplicates: 0,
    dropped: { malformed: 0, foreign: 0, failedCommit: 0 },
  };

  private constructor(
    private readonly o: CentralOptions,
    ready: (err?: Error) => void,
  ) {
    super();
    this.clock = o.clock ?? Date.now;
    this.log = new CentralCommandLog(o.store);
    this.client = mqtt().connect(o.url, {
      protocolVersion: 4,
      clientId: o.clientId ?? `gf-central-${process.pid}`,
      clean: o.persistent === false,
      username: o.username,
      password: o.password,
      reconnectPeriod: o.reconnectMs ?? 1000,
    });
    let first = true;
    this.client.on('connect', () => {
      const filters = (['tele', 'cmdack'] as const).map((c) =>
        wildcard(c, { group: o.group ?? INGEST_GROUP, tenant: o.tenant }),
      );
      this.client.subscribe(filters, { qos: 1 }, (err) => {
        if (first) {
          first = false;
          ready(err ?? undefined);
        }
      });
    });
    this.client.on('error', (err) => {
      if (first) {
        first = false;
        ready(err);
      }
      this.emit('broker-error', err);
    });
    this.client.on('message', (t, payload) => this.onMessage(t, payload));
  }

  static async start(o: CentralOptions): Promise<CentralIngest> {
    await o.store.migrate(await uplinkMigrations());
    let c!: CentralIngest;
    await new Promise<void>((resolve, reject) => {
      c = new CentralIngest(o, (err) => (err ? reject(err) : resolve()));
    }).catch(async (err) => {
      await c?.close();
      throw err;
    });
    return c;
  }

  status(): CentralStatus {
    return { connected: this.client.connected, ...this.counters, dropped: { ...this.counters.dropped } };
  }

  private onMessage(t: string, payload: Buffer): void {
    const addr = parseTopic(t);
    if (!addr) {
      this.counters.dropped.malformed++;
      return;
    }
    if (addr.channel === 'cmdack') {
      const ack = decode(CommandAckSchema, payload);
      if (!ack) this.counters.dropped.malformed++;
      else
        this.log.answer(addr.site, ack, this.clock()).then(
          () => this.emit('cmdack', ack),
          (err: unknown) => this.emit('commit-error', err),
        );
      return;
    }
    if (addr.channel !== 'tele') return;
    const msg = decode(TelemetrySchema, payload);
    if (!msg) {
      this.counters.dropped.malformed++;
      this.emit('dropped', 'malformed');
      return;
    }
    const expected = this.o.edges?.get(`${addr.tenant}/${addr.site}`);
    if (this.o.edges && expected !== msg.edge) {
      this.counters.dropped.foreign++;
      this.emit('dropped', 'foreign');
      return;
    }
    this.counters.messages++;
    for (const w of msg.readings) this.readings.push(fromWire(addr.site, w));
    this.waiting.push({
      addr: { tenant: addr.tenant, site: addr.site },
      edge: msg.edge,
      seq: msg.seq,
      sentTs: msg.ts,
    });
    if (this.readings.length >= (this.o.flushReadings ?? 20_000)) this.flush();
    else if (!this.timer) this.timer = setTimeout(() => this.flush(), this.o.flushMs ?? 50);
  }

  /** Commit what is waiting (one commit at a time, in arrival order), then acknowledge it. */
  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const readings = this.readings;
    const waiting = this.waiting;
    if (waiting.length === 0) return;
    this.readings = [];
    this.waiting = [];
    this.flushing = this.flushing.then(() => this.commit(readings, waiting));
  }

  private async commit(readings: Reading[], waiting: Waiting[]): Promise<void> {
    try {
      const r = await this.o.store.readings.ingest(readings);
      this.counters.inserted += r.inserted;
      this.counters.duplicates += r.duplicates;
      this.counters.readings += readings.length;
    } catch (err) {
      // Nothing acknowledged: the edges resend after their ack timeout.
      this.counters.dropped.failedCommit += waiting.length;
      this.emit('commit-error', err);
      return;
    }
    try {
      this.o.onCommitted?.(readings);
    } catch (err) {
      this.emit('commit-error', err);
    }
    const now = this.clock();
    const bySite = new Map<string, { addr: SiteAddress; edge: string; seqs: number[] }>();
    for (const w of waiting) {
      const k = `${w.addr.tenant}/${w.addr.site}/${w.edge}`;
      const g = bySite.get(k) ?? { addr: w.addr, edge: w.edge, seqs: [] };
      bySite.set(k, g);
      g.seqs.push(w.seq);
    }
    for (const g of bySite.values()) {
      const ack: Ack = { v: PROTOCOL_VERSION, edge: g.edge, seqs: g.seqs };
      this.client.publish(topic(g.addr, 'ack'), JSON.stringify(ack), { qos: 1 });
    }
    this.emit('committed', {
      messages: waiting.length,
      readings: readings.length,
      latencies: waiting.map((w) => now - w.sentTs),
    });
  }

  /** Send a command to a site's edge and record it; a schedule is also retained for resync. */
  async command(
    addr: SiteAddress,
    body: Pick<Command, 'setpoints' | 'schedule'>,
    validForMs: number,
    cmdId?: string,
  ): Promise<Command> {
    const now = this.clock();
    const seq = await this.log.nextSeq(addr.site);
    const cmd: Command = {
      v: PROTOCOL_VERSION,
      cmdId: cmdId ?? `${addr.site}-${seq}-${now}`,
      seq,
      issuedAt: now,
      validUntil: now + validForMs,
      ...body,
    };
    await this.log.record(addr.site, cmd, now);
    const payload = JSON.stringify(cmd);
    await this.client.publishAsync(topic(addr, 'cmd'), payload, { qos: 1 });
    if (cmd.schedule)
      await this.client.publishAsync(topic(addr, 'schedule'), payload, { qos: 1, retain: true });
    return cmd;
  }

  /**
   * Publish the site's obligations in force and ahead, retained: the edge answers frequency
   * products locally from them (and finds them again after a reconnect or a reboot).
   */
  async obligations(addr: SiteAddress, obligations: Obligations['obligations']): Promise<void> {
    const body: Obligations = { v: PROTOCOL_VERSION, issuedAt: this.clock(), obligations };
    await this.client.publishAsync(
      topic(addr, 'obligations'),
      JSON.stringify(ObligationsSchema.parse(body)),
      {
        qos: 1,
        retain: true,
      },
    );
  }

  get commands(): CentralCommandLog {
    return this.log;
  }

  /** Wait for what was received to be committed and acknowledged. */
  async drain(): Promise<void> {
    this.flush();
    await this.flushing;
  }

  async close(): Promise<void> {
    await this.drain().catch(() => undefined);
    await this.client.endAsync();
  }
}
