import { EventEmitter } from 'node:events';
import type { MqttClient } from 'mqtt';
import { lazyRequire } from '../config/lazy-require.js';
import type { EdgeCommands } from './commands.js';
import type { Outbox } from './outbox.js';
import {
  AckSchema,
  type CommandAck,
  CommandSchema,
  decode,
  ObligationsSchema,
  PROTOCOL_VERSION,
  type SiteAddress,
  type Telemetry,
  topic,
} from './protocol.js';

// Loaded on the first connection: every command that reads a gridflex.yaml imports this module,
// and most never talk to a broker.
const mqtt = lazyRequire<typeof import('mqtt')>('mqtt');

export interface EdgeLinkOptions extends SiteAddress {
  /** Broker URL: mqtt://host:1883 or mqtts://host:8883 (TLS, see PROTOCOL.md). */
  url: string;
  edge: string;
  username?: string;
  password?: string;
  outbox: Outbox;
  commands?: EdgeCommands;
  /** Messages published and not yet acknowledged by central (default 20, Mosquitto's inflight default). */
  window?: number;
  /** Unacknowledged this long: central lost it (or is down); resend from the cursor (default 10 s). */
  ackTimeoutMs?: number;
  reconnectMs?: number;
  /**
   * Keep a persistent broker session (default true), so commands sent while the edge is offline
   * wait at the broker. Tests on the shared broker use false to leave nothing behind.
   */
  persistent?: boolean;
  /** Wall clock for message timestamps (tests pin it). */
  clock?: () => number;
  /** A per-process boot id in msgId, so two boots' messages are told apart in logs. */
  boot?: string;
}

export interface EdgeLinkStatus {
  connected: boolean;
  cursor: number;
  inflight: number;
  backlog: number;
  sent: number;
  resent: number;
  acked: number;
  droppedAcks: number;
}

/**
 * The edge's publisher. Sends outbox rows in order at QoS 1 with at most `window` awaiting
 * central's acknowledgement, advances the outbox cursor over the contiguous acknowledged prefix
 * and deletes those rows. After a reconnect, or when the oldest message waited `ackTimeoutMs`,
 * everything after the cursor is sent again: central's ingest is idempotent, so a resend
 * never stores a reading twice. Emits `acked` (cursor), `sent` (count) and `connect`.
 */
export class EdgeLink extends EventEmitter {
  private readonly client: MqttClient;
  private readonly window: number;
  private readonly ackTimeoutMs: number;
  private readonly clock: () => number;
  private lastSent = 0;
  /** Bumped by every rewind: a read of the outbox started before it is stale. */
  private epoch = 0;
  /** Seqs sent since the last rewind, in order, with when they were sent (wall clock). */
  private readonly order: { seq: number; at: number }[] = [];
  private readonly ackedAhead = new Set<number>();
  private pumping = false;
  private again = false;
  private closed = false;
  private readonly timer: NodeJS.Timeout;
  private readonly unhook: () => void;
  private readonly counters = { sent: 0, resent: 0, acked: 0, droppedAcks: 0 };

  constructor(private readonly o: EdgeLinkOptions) {
    super();
    this.window = o.window ?? 20;
    this.ackTimeoutMs = o.ackTimeoutMs ?? 10_000;
    this.clock = o.clock ?? Date.now;
    this.lastSent = o.outbox.cursor;
    const state = (online: boolean) =>
      JSON.stringify({ v: PROTOCOL_VERSION, edge: o.edge, online, ts: this.clock() });
    this.client = mqtt().connect(o.url, {
      protocolVersion: 4,
      clientId: `gf-edge-${o.tenant}-${o.site}`,
      // A persistent session: commands sent while the edge is offline wait at the broker.
      clean: o.persistent === false,
      username: o.username,
      password: o.password,
      reconnectPeriod: o.reconnectMs ?? 1000,
      connectTimeout: 10_000,
      will: { topic: topic(o, 'state'), payload: Buffer.from(state(false)), qos: 1, retain: true },
    });
    this.client.on('connect', () => {
      this.client.subscribe(
        [topic(o, 'ack'), topic(o, 'cmd'), topic(o, 'schedule'), topic(o, 'obligations')],
        { qos: 1 },
        (err, granted) => {
          if (err || granted?.some((g) => g.qos === 128)) this.emit('refused', err ?? granted);
        },
      );
      this.client.publish(topic(o, 'state'), state(true), { qos: 1, retain: true });
      this.rewind();
      this.emit('connect');
    });
    this.client.on('error', (err) => this.emit('broker-error', err));
    this.client.on('message', (t, payload) => {
      // A failed outbox or command-log write must not crash the edge: the ack or command is
      // simply handled again after the next resend or re-delivery.
      this.onMessage(t, payload).catch((err: unknown) => this.emit('broker-error', err));
    });
    this.unhook = o.outbox.onAppend(() => this.pump());
    this.timer = setInterval(() => this.checkTimeout(), Math.max(100, Math.floor(this.ackTimeoutMs / 4)));
    this.timer.unref();
  }

  status(): EdgeLinkStatus {
    return {
      connected: this.client.connected,
      cursor: this.o.outbox.cursor,
      inflight: this.order.length,
      backlog: this.o.outbox.size,
      ...this.counters,
    };
  }

  /** Publish a retained Home Assistant discovery message or any other northbound extra. */
  publishRaw(t: string, payload: string, retain = false): void {
    this.client.publish(t, payload, { qos: 1, retain });
  }

  private rewind(): void {
    if (this.order.length > 0) this.counters.resent += this.order.length;
    this.epoch++;
    this.lastSent = this.o.outbox.cursor;
    this.order.length = 0;
    this.ackedAhead.clear();
    this.pump();
  }

  private checkTimeout(): void {
    const oldest = this.order[0];
    if (oldest && Date.now() - oldest.at > this.ackTimeoutMs && this.client.connected) this.rewind();
  }

  private pump(): void {
    if (this.closed) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    void (async () => {
      try {
        do {
          this.again = false;
          while (this.client.connected && this.order.length < this.window) {
            const epoch = this.epoch;
            const rows = await this.o.outbox.pending(this.lastSent, this.window - this.order.length);
            // A rewind while reading: these rows may skip over the new start; read again.
            if (epoch !== this.epoch) continue;
            if (rows.length === 0 || !this.client.connected) break;
            for (const row of rows) {
              const msg: Telemetry = {
                v: PROTOCOL_VERSION,
                edge: this.o.edge,
                msgId: `${this.o.edge}:${this.o.boot ?? '0'}:${row.seq}`,
                seq: row.seq,
                ts: this.clock(),
                readings: row.readings,
              };
              this.client.publish(topic(this.o, 'tele'), JSON.stringify(msg), { qos: 1 });
              this.order.push({ seq: row.seq, at: Date.now() });
              this.lastSent = row.seq;
              this.counters.sent++;
            }
            this.emit('sent', this.counters.sent);
          }
        } while (this.again && !this.closed);
      } catch (err) {
        this.emit('broker-error', err);
      } finally {
        this.pumping = false;
      }
    })();
  }

  private async onMessage(t: string, payload: Buffer): Promise<void> {
    if (t === topic(this.o, 'ack')) {
      const ack = decode(AckSchema, payload);
      if (!ack || ack.edge !== this.o.edge) {
        this.counters.droppedAcks++;
        return;
      }
      for (const s of ack.seqs) if (s > this.o.outbox.cursor) this.ackedAhead.add(s);
      let cursor = this.o.outbox.cursor;
      while (this.order.length > 0 && this.ackedAhead.has(this.order[0]!.seq)) {
        const head = this.order.shift()!;
        this.ackedAhead.delete(head.seq);
        cursor = head.seq;
        this.counters.acked++;
      }
      if (cursor > this.o.outbox.cursor) {
        await this.o.outbox.acknowledge(cursor);
        this.emit('acked', cursor);
      }
      this.pump();
      return;
    }
    if (t === topic(this.o, 'obligations')) {
      const msg = decode(ObligationsSchema, payload);
      if (msg) this.emit('obligations', msg);
      return;
    }
    if ((t === topic(this.o, 'cmd') || t === topic(this.o, 'schedule')) && this.o.commands) {
      const cmd = decode(CommandSchema, payload);
      if (!cmd) return;
      const answer: CommandAck = await this.o.commands.handle(cmd, this.o.edge);
      this.client.publish(topic(this.o, 'cmdack'), JSON.stringify(answer), { qos: 1 });
      this.emit('command', answer);
    }
  }

  /** Go offline now (tests: a cut uplink); `reconnect` comes back. */
  disconnect(): Promise<void> {
    return new Promise((resolve) => this.client.end(true, {}, () => resolve()));
  }

  reconnect(): void {
    this.client.reconnect();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    this.unhook();
    await this.client.endAsync();
  }
}
