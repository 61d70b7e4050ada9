import { z } from 'zod';
import { IdSchema, type Reading } from '../model/index.js';

/**
 * The edge ↔ central wire protocol, version 1 (uplink/PROTOCOL.md is the prose of this file).
 * MQTT 3.1.1 (protocol level 4) so Mosquitto, EMQX and the NATS MQTT listener all carry it.
 * Payloads are UTF-8 JSON; every one carries `v` so a receiver can refuse a version it does
 * not speak instead of misreading it.
 */
export const PROTOCOL_VERSION = 1;
export const TOPIC_ROOT = 'gf/v1';
/** Shared-subscription group of the central ingest consumers (MQTT 5 / Mosquitto ≥ 1.6 / EMQX). */
export const INGEST_GROUP = 'ingest';

export type Channel = 'tele' | 'ack' | 'cmd' | 'cmdack' | 'schedule' | 'state' | 'obligations';

export interface SiteAddress {
  tenant: string;
  site: string;
}

export function topic(a: SiteAddress, channel: Channel): string {
  return `${TOPIC_ROOT}/${a.tenant}/${a.site}/${channel}`;
}

/** What central subscribes to: one channel of every site (of one tenant), shared by a group of consumers. */
export function wildcard(channel: Channel, o: { group?: string; tenant?: string } = {}): string {
  const t = `${TOPIC_ROOT}/${o.tenant ?? '+'}/+/${channel}`;
  return o.group ? `$share/${o.group}/${t}` : t;
}

/** Tenant and site of a concrete topic, or null when it is not one of ours. */
export function parseTopic(t: string): (SiteAddress & { channel: Channel }) | null {
  const parts = t.split('/');
  if (parts.length !== 5 || `${parts[0]}/${parts[1]}` !== TOPIC_ROOT) return null;
  const [, , tenant, site, channel] = parts as [string, string, string, string, string];
  if (!IdSchema.safeParse(tenant).success || !IdSchema.safeParse(site).success) return null;
  if (!['tele', 'ack', 'cmd', 'cmdack', 'schedule', 'state', 'obligations'].includes(channel)) return null;
  return { tenant, site, channel: channel as Channel };
}

/** A point key relative to the site: `device/point` (the topic's site is put in front). */
const RelativeKeySchema = z
  .string()
  .min(1)
  .max(160)
  .regex(/^[a-z0-9][a-z0-9_.:-]*(\/[a-z0-9][a-z0-9_.:-]*)*$/, 'expected "device/point"');

/** 0 good, 1 uncertain, 2 bad (the store's own encoding). */
const QualityCode = z.union([z.literal(0), z.literal(1), z.literal(2)]);
const QUALITIES = ['good', 'uncertain', 'bad'] as const;

/** One reading as a tuple, to keep a 100-reading batch near 4 kB: [key, ts ms, value, quality]. */
export const WireReadingSchema = z
  .tuple([RelativeKeySchema, z.number().int().min(0), z.number().nullable(), QualityCode])
  .refine((r) => r[2] !== null || r[3] === 2, { message: 'a reading without a value must be bad (2)' });
export type WireReading = z.infer<typeof WireReadingSchema>;

export const TelemetrySchema = z.object({
  v: z.literal(PROTOCOL_VERSION),
  edge: IdSchema,
  /** Unique per message: `<edge>:<boot>:<seq>`, for logs and tracing only. */
  msgId: z.string().min(1).max(200),
  /** Outbox sequence number: strictly increasing per edge outbox, never reused. */
  seq: z.number().int().min(1),
  /** When the edge published (ms since the epoch), for latency. */
  ts: z.number().int().min(0),
  readings: z.array(WireReadingSchema).max(10_000),
});
export type Telemetry = z.infer<typeof TelemetrySchema>;

/**
 * Central's application-level acknowledgement, sent after the database commit. It lists the
 * sequence numbers committed (not an `upToSeq`): consumers of a shared subscription each see
 * part of an edge's stream, so none knows the contiguous prefix; the edge computes it.
 */
export const AckSchema = z.object({
  v: z.literal(PROTOCOL_VERSION),
  edge: IdSchema,
  seqs: z.array(z.number().int().min(1)).min(1).max(10_000),
});
export type Ack = z.infer<typeof AckSchema>;

export const SetpointSchema = z.object({
  /** Relative point key (`device/point`) of a writable, allow-listed point. */
  point: RelativeKeySchema,
  value: z.number(),
});

export const ScheduleSlotSchema = z.object({
  from: z.number().int().min(0),
  to: z.number().int().min(0),
  setpoints: z.array(SetpointSchema).max(1000),
});

export const CommandSchema = z
  .object({
    v: z.literal(PROTOCOL_VERSION),
    cmdId: z.string().min(1).max(100),
    /** Per site, strictly increasing: an edge ignores a command older than one it applied. */
    seq: z.number().int().min(1),
    issuedAt: z.number().int().min(0),
    /** After this instant the command must not be applied; the edge falls back to its safe behaviour. */
    validUntil: z.number().int().min(0),
    setpoints: z.array(SetpointSchema).max(1000).optional(),
    schedule: z.array(ScheduleSlotSchema).max(1000).optional(),
  })
  .refine((c) => (c.setpoints === undefined) !== (c.schedule === undefined), {
    message: 'a command carries either setpoints or a schedule',
  });
export type Command = z.infer<typeof CommandSchema>;

export const CommandStatusSchema = z.enum(['received', 'applied', 'rejected', 'expired']);
export type CommandStatus = z.infer<typeof CommandStatusSchema>;

export const CommandAckSchema = z.object({
  v: z.literal(PROTOCOL_VERSION),
  edge: IdSchema,
  cmdId: z.string().min(1).max(100),
  status: CommandStatusSchema,
  ts: z.number().int().min(0),
  reason: z.string().max(500).optional(),
  /** Values read back after writing (relative key → value). */
  readback: z.record(z.string(), z.number().nullable()).optional(),
});
export type CommandAck = z.infer<typeof CommandAckSchema>;

/**
 * The capacity the site has sold and must hold, retained on `…/obligations` by central: what a
 * frequency product (FCR-N, FCR-D) asks the edge to answer locally, from `startMs` to `endMs`
 * (ms since the epoch), `upKw`/`downKw` of the site's share. The whole list each time (the
 * retained message is the state): an obligation missing from a newer list is withdrawn.
 */
export const SiteObligationSchema = z.object({
  id: z.string().min(1).max(200),
  /** A product id of the catalogue both sides use (market/products.yaml). */
  product: z.string().min(1).max(64),
  startMs: z.number().int().min(0),
  endMs: z.number().int().min(0),
  upKw: z.number().nonnegative().max(1_000_000),
  downKw: z.number().nonnegative().max(1_000_000),
});
export const ObligationsSchema = z.object({
  v: z.literal(PROTOCOL_VERSION),
  issuedAt: z.number().int().min(0),
  obligations: z.array(SiteObligationSchema).max(1000),
});
export type Obligations = z.infer<typeof ObligationsSchema>;

/** Retained on `…/state` by the edge (online) and by the broker as its will (offline). */
export const EdgeStateSchema = z.object({
  v: z.literal(PROTOCOL_VERSION),
  edge: IdSchema,
  online: z.boolean(),
  ts: z.number().int().min(0),
});
export type EdgeState = z.infer<typeof EdgeStateSchema>;

/** Parse a payload: the value, or null (a malformed message is dropped and counted, never thrown). */
export function decode<S extends z.ZodType>(schema: S, payload: Buffer | string): z.infer<S> | null {
  let json: unknown;
  try {
    json = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
  } catch {
    return null;
  }
  const r = schema.safeParse(json);
  return r.success ? r.data : null;
}

export function toWire(site: string, r: Reading): WireReading {
  const prefix = `${site}/`;
  const key = r.pointId.startsWith(prefix) ? r.pointId.slice(prefix.length) : r.pointId;
  return [key, r.ts, r.value, QUALITIES.indexOf(r.quality) as 0 | 1 | 2];
}

/** The central store's reading for a wire reading of `site` (the topic's site, never the payload's). */
export function fromWire(site: string, w: WireReading): Reading {
  return { pointId: `${site}/${w[0]}`, ts: w[1], value: w[2], quality: QUALITIES[w[3]] };
}
