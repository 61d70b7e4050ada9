import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { connect as tcpConnect } from 'node:net';
import type {
  ClientSession,
  ClientSubscription,
  DataType,
  DataValue,
  OPCUAClient,
  StatusCode,
  UserIdentityInfo,
  UserIdentityInfoX509,
  WriteValueOptions,
} from 'node-opcua';
import { GridflexError, pointKey, type Quality, type Reading } from '../model/index.js';
import type { GatewayConfig, GatewayPoint, OpcUaGatewayDevice } from './config.js';
import { describeError, GATEWAY_ERRORS } from './errors.js';
import type { DeviceStatus, PollOutcome, ReachabilityListener } from './modbus-device.js';
import { DeviceUnreachableError } from './modbus-link.js';
import { isFrozen } from './quality.js';

type Opcua = typeof import('node-opcua');
let lib: Promise<Opcua> | null = null;

/**
 * node-opcua is large: load it only when an OPC UA device exists. Its log lines go to stdout by
 * default, where `gridflex read` prints JSON, so they are sent to stderr, through the
 * node-opcua-debug instance node-opcua itself uses. Its warnings and debug lines (a Node
 * PKCS#1 notice for a security policy Gridflex does not use, "Creating default certificate")
 * do not concern a building manager: Gridflex says itself when a device goes down and comes
 * back. They are shown only with LOG_LEVEL=debug; node-opcua's errors always are.
 */
export function opcua(): Promise<Opcua> {
  lib ??= (async () => {
    try {
      const fromOpcua = createRequire(createRequire(import.meta.url).resolve('node-opcua'));
      const debug = fromOpcua('node-opcua-debug') as Record<string, (log: (...a: unknown[]) => void) => void>;
      const toStderr = (...a: unknown[]) =>
        process.stderr.write(
          `${a
            .filter((x) => typeof x !== 'object')
            .map(String)
            .join(' ')}\n`,
        );
      const quiet = () => undefined;
      const verbose = process.env.LOG_LEVEL === 'debug' || process.env.LOG_LEVEL === 'trace';
      debug.setErrorLogger?.(toStderr);
      for (const set of ['setWarningLogger', 'setDebugLogger', 'setTraceLogger'])
        debug[set]?.(verbose ? toStderr : quiet);
    } catch {
      // Logging stays on stdout; nothing else depends on it.
    }
    return import('node-opcua');
  })();
  return lib;
}

export interface OpcUaClientOptions {
  /** PKI folder for the client's certificate and trust lists (default: node-opcua's per-user folder). */
  pkiDir?: string;
  /** Trust unknown server certificates (tests only; production trusts by moving them to pki/trusted). */
  acceptUnknownCertificates?: boolean;
}

/** OPC UA status → reading quality; a bad status carries no value. */
function toReading(key: string, dv: DataValue, now: number): Reading {
  const sc = dv.statusCode;
  const quality: Quality = sc.isGood() ? 'good' : sc.isBad() ? 'bad' : 'uncertain';
  const raw = dv.value?.value;
  const value = typeof raw === 'number' ? raw : typeof raw === 'boolean' ? Number(raw) : null;
  const ts = dv.sourceTimestamp?.getTime() ?? dv.serverTimestamp?.getTime() ?? now;
  if (quality === 'bad' || value === null || !Number.isFinite(value))
    return { pointId: key, ts, value: null, quality: 'bad' };
  return { pointId: key, ts, value, quality };
}

type OpcUaAuth = OpcUaGatewayDevice['connection']['auth'];

/** node-opcua-crypto, as node-opcua itself resolves it (it is node-opcua's dependency, not ours). */
interface OpcuaCrypto {
  makePrivateKeyFromPem(pem: string): unknown;
  keyOperationsFromPrivateKey(key: unknown): UserIdentityInfoX509['keyOperations'];
}
const opcuaCrypto = () =>
  createRequire(createRequire(import.meta.url).resolve('node-opcua'))('node-opcua-crypto') as OpcuaCrypto;

/**
 * The session's user token. A certificate user proves possession of its private key by signing
 * the server's nonce; node-opcua takes the certificate as DER and the key as a signing object,
 * so PEM or DER certificate files and PEM or DER (PKCS#8 or PKCS#1) key files all work.
 */
async function userIdentity(o: Opcua, auth: OpcUaAuth): Promise<UserIdentityInfo | undefined> {
  if (auth.type === 'username')
    return { type: o.UserTokenType.UserName, userName: auth.username, password: auth.password };
  if (auth.type === 'anonymous') return undefined;
  const load = async <T>(field: string, file: string, parse: (b: Buffer) => T): Promise<T> => {
    try {
      return parse(await readFile(file));
    } catch (err) {
      throw new GridflexError(
        GATEWAY_ERRORS.OPCUA_USER_CERT,
        `cannot use connection.auth.${field} ${file}: ${(err as Error).message}`,
        { kind: 'input', details: { field: `connection.auth.${field}`, file } },
      );
    }
  };
  const certificateData = await load(
    'certificateFile',
    auth.certificateFile,
    (b) => new X509Certificate(b).raw,
  );
  const pem = await load('privateKeyFile', auth.privateKeyFile, (b) =>
    createPrivateKey(b.includes('-----BEGIN') ? b : { key: b, format: 'der', type: 'pkcs8' })
      .export({ type: 'pkcs8', format: 'pem' })
      .toString(),
  );
  const c = opcuaCrypto();
  const keyOperations = c.keyOperationsFromPrivateKey(c.makePrivateKeyFromPem(pem));
  return { type: o.UserTokenType.Certificate, certificateData, keyOperations };
}

const describeUser = (auth: OpcUaAuth): string =>
  auth.type === 'username'
    ? `user "${auth.username}"`
    : auth.type === 'certificate'
      ? `user certificate ${auth.certificateFile}`
      : 'anonymous user';

/**
 * Open and close one TCP connection to the endpoint first. node-opcua retries a refused or
 * unreachable endpoint silently until our timeout, so its failure would only ever read "timed
 * out"; the probe names the actual problem (refused, host unreachable, not found) at once.
 */
function probeTcp(endpointUrl: string, timeoutMs: number): Promise<void> {
  const url = new URL(endpointUrl.replace(/^opc\.tcp:/i, 'http:'));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || 4840);
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host, port });
    const done = (err?: Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => done(new Error(`no connection within ${timeoutMs} ms`)), timeoutMs);
    socket.once('connect', () => done());
    socket.once('error', done);
  });
}

export async function connectOpcUa(
  conn: OpcUaGatewayDevice['connection'],
  options: OpcUaClientOptions = {},
  name = 'gridflex',
): Promise<{ client: OPCUAClient; session: ClientSession }> {
  const o = await opcua();
  const certificateManager = options.pkiDir
    ? new o.OPCUACertificateManager({
        rootFolder: options.pkiDir,
        automaticallyAcceptUnknownCertificate: options.acceptUnknownCertificates ?? false,
      })
    : undefined;
  const client = o.OPCUAClient.create({
    applicationName: name,
    // One URI for every Gridflex client: the default certificate is made for it once.
    applicationUri: 'urn:gridflex:client',
    securityMode: o.MessageSecurityMode[conn.securityMode],
    securityPolicy: o.SecurityPolicy[conn.securityPolicy],
    endpointMustExist: false,
    keepSessionAlive: true,
    requestedSessionTimeout: 60_000,
    // Retry forever once connected (a restarted server comes back); the first connect is bounded below.
    connectionStrategy: { initialDelay: 250, maxDelay: 5000, maxRetry: -1 },
    ...(certificateManager ? { clientCertificateManager: certificateManager } : {}),
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    // The client's key and certificate are made on first use of a PKI folder, which takes
    // seconds on a busy machine: not the server's answer, so not within the connect timeout.
    await client.clientCertificateManager.initialize();
    await client.createDefaultCertificate();
    await probeTcp(conn.endpointUrl, conn.timeoutMs);
    await Promise.race([
      client.connect(conn.endpointUrl),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no connection within ${conn.timeoutMs} ms`)),
          conn.timeoutMs,
        );
      }),
    ]);
    clearTimeout(timer);
  } catch (err) {
    clearTimeout(timer);
    await client.disconnect().catch(() => undefined);
    throw new DeviceUnreachableError(
      `cannot open an OPC UA session with ${conn.endpointUrl}: ${describeError(err)}`,
      err,
    );
  }
  try {
    const identity = await userIdentity(o, conn.auth);
    const session = identity ? await client.createSession(identity) : await client.createSession();
    return { client, session };
  } catch (err) {
    await client.disconnect().catch(() => undefined);
    if (err instanceof GridflexError) throw err;
    // Reached, but the server refused the session: say which user, so a typo is not taken for an outage.
    throw new DeviceUnreachableError(
      `${conn.endpointUrl} refused a session for the ${describeUser(conn.auth)}: ${(err as Error).message}`,
      err,
    );
  }
}

/** A node's answer to a write: sent (with the server's bad status name, or null when taken), or not sent and why. */
export type NodeWrite = { sent: true; bad: string | null } | { sent: false; reason: string };

/** How long `stop` waits for the server to acknowledge the end of the subscription and session. */
const STOP_GRACE_MS = 2000;

interface PointState {
  value: number | null;
  /** Gateway time of the last notification or read that changed the value. */
  lastChangeTs: number;
  /** A stale flag was published for the current value; the next change clears it. */
  flaggedStale: boolean;
  /** Gateway time the point's value was last published (a notification, a read or a repeat). */
  publishedTs: number;
}

/**
 * One OPC UA server: a session with one subscription and a monitored item per point (one
 * subscription for all items: servers limit subscriptions, not items). node-opcua reconnects
 * on its own after the first connect and re-creates the session and subscription after a
 * server restart; readings keep flowing without our help.
 *
 * A subscription only speaks when values change, so an outage is silent. While the server or
 * the subscription is gone (connection lost, first connect failed, subscription terminated,
 * or neither a notification nor a keep-alive for longer than the subscription's keep-alive
 * period allows) each point gets one bad reading per expected interval (its sampling
 * interval), as a Modbus point gets one per failed poll. When the subscription speaks again,
 * every point is read once, so no point stays bad because its value did not change.
 */
export class OpcUaDevice {
  private client: OPCUAClient | null = null;
  private session: ClientSession | null = null;
  private opening: Promise<ClientSession> | null = null;
  private subscription: ClientSubscription | null = null;
  private staleTimer: NodeJS.Timeout | null = null;
  private readonly watchTimers: NodeJS.Timeout[] = [];
  /** null until the first start attempt has ended; false while the server or subscription is gone. */
  private alive: boolean | null = null;
  /** Wall-clock time (performance.now) of the subscription's last sign of life (notification, keep-alive, start). */
  private lastLife = 0;
  /** Outage bad readings of deadband points, by point: published again only after maxSilence. */
  private readonly outagePublished = new Map<string, number>();
  private stopping = false;
  private connectionLost = false;
  private resubscribing = false;
  private lastResubscribe = Number.NEGATIVE_INFINITY;
  /** Told when the server or subscription goes away and when it is back (once each). */
  onReachability: ReachabilityListener | null = null;
  private readonly state = new Map<string, PointState>();
  /** Built-in data type of each written node, by node id (asked once per node). */
  private readonly dataTypes = new Map<string, DataType>();
  /** The server's limit on nodes per Read/Write, for the session it was asked on. */
  private limits: { session: ClientSession; max: number } | null = null;
  private stats = { polls: 0, failedPolls: 0, notifications: 0 };
  private lastOutcome: DeviceStatus['state'] = 'starting';
  lastError: string | null = null;
  reconnections = 0;

  constructor(
    private readonly cfg: GatewayConfig,
    readonly device: OpcUaGatewayDevice,
    private readonly publish: (readings: Reading[]) => void,
    private readonly options: OpcUaClientOptions = {},
    private readonly clock: () => number = Date.now,
  ) {}

  private key(pointId: string): string {
    return pointKey(this.cfg.site, this.device.id, pointId);
  }

  /**
   * The device's one session. Callers that arrive while it is being opened (a poll and several
   * writes at start) share that attempt instead of each opening a session of their own: servers
   * cap sessions (the simulator at 10) and refuse the rest.
   */
  private ensureSession(): Promise<ClientSession> {
    if (this.session) return Promise.resolve(this.session);
    this.opening ??= this.openSession().finally(() => {
      this.opening = null;
    });
    return this.opening;
  }

  private async openSession(): Promise<ClientSession> {
    const { client, session } = await connectOpcUa(
      this.device.connection,
      this.options,
      `gridflex-${this.device.id}`,
    );
    client.on('connection_reestablished', () => {
      this.connectionLost = false;
      this.reconnections += 1;
      this.lastOutcome = 'ok';
    });
    client.on('connection_lost', () => {
      this.connectionLost = true;
      this.lastError = 'connection lost; reconnecting';
      this.lastOutcome = 'unreachable';
      this.markDown(`${this.device.connection.endpointUrl}: connection lost; reconnecting`);
    });
    this.client = client;
    this.session = session;
    return session;
  }

  /**
   * A value from the server, judged: bad status → bad (no value); a value that has not changed
   * for the point's `staleAfter` → uncertain (the server only notifies changes, so a frozen
   * sensor looks exactly like this).
   */
  private judge(p: GatewayPoint, dv: DataValue): Reading {
    const now = this.clock();
    const r = toReading(this.key(p.id), dv, now);
    const st = this.state.get(p.id);
    if (!st || st.value !== r.value)
      this.state.set(p.id, { value: r.value, lastChangeTs: now, flaggedStale: false, publishedTs: now });
    else st.publishedTs = now;
    const changed = this.state.get(p.id)!.lastChangeTs;
    if (r.quality === 'good' && isFrozen(changed, now, p.staleAfter)) return { ...r, quality: 'uncertain' };
    return r;
  }

  /** Between notifications: flag each point whose value has outlived its `staleAfter`, once per value. */
  private checkStale(): void {
    // During an outage the points get bad readings; an old value is not re-published as uncertain.
    if (this.alive === false) return;
    const now = this.clock();
    const stale: Reading[] = [];
    for (const p of this.device.points) {
      const st = this.state.get(p.id);
      if (!st || st.value === null || st.flaggedStale || !isFrozen(st.lastChangeTs, now, p.staleAfter))
        continue;
      st.flaggedStale = true;
      st.publishedTs = now;
      stale.push({ pointId: this.key(p.id), ts: now, value: st.value, quality: 'uncertain' });
    }
    if (stale.length > 0) this.publish(stale);
  }

  /** Read every point once. Never throws: an unreachable server gives bad readings. */
  async pollAll(): Promise<PollOutcome> {
    const o = await opcua();
    const now = this.clock();
    this.stats.polls += 1;
    try {
      const session = await this.ensureSession();
      const values = await session.read(
        this.device.points.map((p) => ({ nodeId: p.nodeId!, attributeId: o.AttributeIds.Value })),
      );
      const readings = values.map((dv, i) => this.judge(this.device.points[i]!, dv));
      const errors = values.flatMap((dv, i) =>
        dv.statusCode.isGood()
          ? []
          : [`${this.device.id}/${this.device.points[i]!.id}: ${dv.statusCode.name}`],
      );
      this.lastOutcome = errors.length > 0 ? 'degraded' : 'ok';
      if (errors.length > 0) this.lastError = errors[errors.length - 1]!;
      return { readings, errors, unreachable: false };
    } catch (err) {
      this.lastError = (err as Error).message;
      this.lastOutcome = 'unreachable';
      this.stats.failedPolls += 1;
      return {
        readings: this.device.points.map((p) => ({
          pointId: this.key(p.id),
          ts: now,
          value: null,
          quality: 'bad',
        })),
        errors: [`${this.device.id}: ${this.lastError}`],
        unreachable: true,
      };
    }
  }

  /**
   * Subscribe to every point; changes are published as they arrive. A point's `deadband` is
   * the server's absolute data-change filter (`deadbandPercent` its percent-of-EURange filter),
   * so small changes are not even sent.
   */
  async start(): Promise<void> {
    const session = await this.ensureSession();
    await this.subscribe(session);
    this.lastOutcome = 'ok';
    this.life();
    const windows = this.device.points.flatMap((p) => (p.staleAfter === undefined ? [] : [p.staleAfter]));
    if (windows.length > 0)
      this.staleTimer = setInterval(() => this.checkStale(), Math.max(50, Math.min(...windows) / 4));
  }

  /** One subscription with a monitored item per point. */
  private async subscribe(session: ClientSession): Promise<void> {
    const o = await opcua();
    const sub = o.ClientSubscription.create(session, {
      requestedPublishingInterval: this.device.publishingInterval,
      requestedLifetimeCount: 100,
      requestedMaxKeepAliveCount: 10,
      maxNotificationsPerPublish: 1000,
      publishingEnabled: true,
      priority: 10,
    });
    this.subscription = sub;
    sub.on('keepalive', () => this.life());
    sub.on('received_notifications', () => this.life());
    sub.on('terminated', () => {
      if (!this.stopping && this.subscription === sub)
        this.markDown(`${this.device.id}: the server ended the subscription`);
    });
    const defaultMs = this.device.pollInterval ?? this.cfg.pollInterval;
    for (const p of this.device.points) {
      const deadband =
        p.deadbandPercent !== undefined
          ? { deadbandType: o.DeadbandType.Percent, deadbandValue: p.deadbandPercent }
          : p.deadband > 0
            ? { deadbandType: o.DeadbandType.Absolute, deadbandValue: p.deadband }
            : null;
      const filter = deadband
        ? new o.DataChangeFilter({ trigger: o.DataChangeTrigger.StatusValue, ...deadband })
        : null;
      const item = o.ClientMonitoredItem.create(
        sub,
        { nodeId: p.nodeId!, attributeId: o.AttributeIds.Value },
        { samplingInterval: p.pollInterval ?? defaultMs, discardOldest: true, queueSize: 10, filter },
        o.TimestampsToReturn.Both,
      );
      item.on('changed', (dv: DataValue) => {
        this.stats.notifications += 1;
        this.life();
        this.publish([this.judge(p, dv)]);
      });
      // The server refused the item (unknown node, filter not allowed): one bad reading, so the
      // point is not silently missing.
      item.on('err', (message: string) => {
        this.lastError = `${p.id}: ${message}`;
        this.lastOutcome = 'degraded';
        this.publish([{ pointId: this.key(p.id), ts: this.clock(), value: null, quality: 'bad' }]);
      });
    }
  }

  /**
   * The connection is up but the subscription is gone (ended by the server, or silent): make a
   * new one, at most once per keep-alive window. A lost connection is node-opcua's to restore.
   */
  private async resubscribe(now: number /* wall clock, performance.now() */): Promise<void> {
    const session = this.session;
    if (this.connectionLost || this.resubscribing || !session || !this.subscription) return;
    if (now - this.lastResubscribe < this.lifeWindowMs()) return;
    this.resubscribing = true;
    this.lastResubscribe = now;
    const old = this.subscription;
    try {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        old.terminate().catch(() => undefined),
        new Promise<void>((r) => (timer = setTimeout(r, STOP_GRACE_MS))),
      ]);
      clearTimeout(timer);
      if (!this.stopping) await this.subscribe(session);
    } catch (err) {
      this.lastError = `${this.device.id}: cannot subscribe again: ${(err as Error).message}`;
    } finally {
      this.resubscribing = false;
    }
  }

  /**
   * Watch for outages: one timer per sampling interval that, while the server or subscription
   * is gone, gives each of its points a bad reading (a point with a deadband repeats an
   * unchanged bad reading only after `maxSilence`, as on Modbus).
   */
  watch(): void {
    const defaultMs = this.device.pollInterval ?? this.cfg.pollInterval;
    const byInterval = new Map<number, GatewayPoint[]>();
    for (const p of this.device.points) {
      const ms = p.pollInterval ?? defaultMs;
      byInterval.set(ms, [...(byInterval.get(ms) ?? []), p]);
    }
    for (const [ms, points] of byInterval)
      this.watchTimers.push(setInterval(() => this.outageTick(points), ms));
  }

  /** How long a subscription may be silent: the server sends a keep-alive at least this often. */
  private lifeWindowMs(): number {
    const sub = this.subscription;
    const publishing = sub?.publishingInterval || this.device.publishingInterval;
    const keepAlive = sub?.maxKeepAliveCount || 10;
    // A keep-alive is due after keepAlive publishing intervals; allow one and a half of them.
    return publishing * keepAlive * 1.5 + 1000;
  }

  private outageTick(points: GatewayPoint[]): void {
    if (this.stopping) return;
    const now = this.clock();
    const real = performance.now();
    if (this.alive === true && this.subscription && real - this.lastLife > this.lifeWindowMs())
      this.markDown(
        `${this.device.id}: no notification or keep-alive from the subscription for ${Math.round((real - this.lastLife) / 1000)} s`,
      );
    if (this.alive === true) this.repeatSteady(points, now);
    if (this.alive !== false) return;
    void this.resubscribe(real);
    const bad: Reading[] = [];
    for (const p of points) {
      const deadbanded = p.deadband > 0 || p.deadbandPercent !== undefined;
      const last = this.outagePublished.get(p.id);
      if (deadbanded && last !== undefined && now - last < p.maxSilence) continue;
      this.outagePublished.set(p.id, now);
      bad.push({ pointId: this.key(p.id), ts: now, value: null, quality: 'bad' });
    }
    if (bad.length > 0) this.publish(bad);
  }

  /**
   * A subscription only notifies changes: a value that has not changed for the point's
   * `maxSilence` is published again as it stands (as a Modbus point with a deadband is), so
   * consumers that act only on fresh values (control/latest.ts, 10 minutes) do not take a
   * steady fan speed or setpoint for a lost one. Only while the subscription is alive: during
   * an outage the points get bad readings instead.
   */
  private repeatSteady(points: GatewayPoint[], now: number): void {
    const again: Reading[] = [];
    for (const p of points) {
      const st = this.state.get(p.id);
      if (!st || st.value === null || now - st.publishedTs < p.maxSilence) continue;
      st.publishedTs = now;
      const frozen = isFrozen(st.lastChangeTs, now, p.staleAfter);
      again.push({
        pointId: this.key(p.id),
        ts: now,
        value: st.value,
        quality: frozen ? 'uncertain' : 'good',
      });
    }
    if (again.length > 0) this.publish(again);
  }

  /** The server or subscription is gone (said once, until it is back). */
  markDown(reason: string): void {
    if (this.stopping) return;
    this.lastError = reason;
    this.lastOutcome = 'unreachable';
    if (this.alive === false) return;
    this.alive = false;
    this.onReachability?.({ device: this.device.id, up: false, reason });
  }

  /** A sign of life from the subscription; after an outage, every point is read once. */
  private life(): void {
    // Liveness is judged on the wall clock (keep-alives arrive in real time), never on the
    // readings' clock, which a simulation may run faster.
    this.lastLife = performance.now();
    const wasDown = this.alive === false;
    this.alive = true;
    if (!wasDown) return;
    this.lastOutcome = 'ok';
    this.outagePublished.clear();
    this.onReachability?.({ device: this.device.id, up: true, reason: null });
    void this.pollAll().then((out) => {
      if (!out.unreachable && !this.stopping) this.publish(out.readings);
    });
  }

  status(): DeviceStatus {
    return {
      device: this.device.id,
      protocol: 'opcua',
      link: this.device.connection.endpointUrl,
      state: this.lastOutcome,
      polls: this.stats.polls,
      failedPolls: this.stats.failedPolls,
      overruns: 0,
      // One Read per poll; notifications arrive on the subscription and are counted apart.
      requests: this.stats.polls,
      notifications: this.stats.notifications,
      lastError: this.lastError,
      sunspec: null,
    };
  }

  /** Read one point now (the safety layer's old value and read-back). */
  async readPoint(pointId: string): Promise<number | null> {
    return (await this.readPoints([pointId]))[0]!;
  }

  /** Read several points now in one Read (a batch's old values and read-back), in order. */
  async readPoints(pointIds: readonly string[]): Promise<(number | null)[]> {
    const o = await opcua();
    const points = pointIds.map((id) => this.device.points.find((x) => x.id === id)!);
    const values = await (await this.ensureSession()).read(
      points.map((p) => ({ nodeId: p.nodeId!, attributeId: o.AttributeIds.Value })),
    );
    const now = this.clock();
    return values.map((dv, i) => toReading(this.key(points[i]!.id), dv, now).value);
  }

  /** Write one value with the node's own data type; returns the status name when the server refuses. */
  async writePoint(pointId: string, value: number): Promise<string | null> {
    const [answer] = await this.writePoints([{ pointId, value }]);
    if (!answer!.sent) throw new Error(answer!.reason);
    return answer!.bad;
  }

  /**
   * Write several values in one Write, each with its node's own data type; an answer per item,
   * in order. Throws when the session is gone (nothing is known to have been written).
   */
  async writePoints(items: readonly { pointId: string; value: number }[]): Promise<NodeWrite[]> {
    const o = await opcua();
    const session = await this.ensureSession();
    const nodeIds = items.map((it) => this.device.points.find((x) => x.id === it.pointId)!.nodeId!);
    const types = await this.dataTypesOf(session, nodeIds);
    const sent = items.flatMap((it, i) => {
      const dataType = types[i];
      if (typeof dataType === 'string') return [];
      const write: WriteValueOptions = {
        nodeId: o.resolveNodeId(nodeIds[i]!),
        attributeId: o.AttributeIds.Value,
        value: { value: new o.Variant({ dataType, value: it.value }) },
      };
      return [{ i, write }];
    });
    const statuses: StatusCode[] = sent.length > 0 ? await session.write(sent.map((x) => x.write)) : [];
    const answers: NodeWrite[] = types.map((t) =>
      typeof t === 'string' ? { sent: false, reason: t } : { sent: true, bad: null },
    );
    sent.forEach(({ i }, k) => {
      const status = statuses[k]!;
      answers[i] = { sent: true, bad: status.isGood() ? null : status.name };
    });
    return answers;
  }

  /**
   * The built-in data type of each node, or why it is not known. A node's data type does not
   * change while the server runs: asked once per node (a fleet activation writes hundreds of
   * fans at once), all unknown nodes in one Read of their DataType attribute; a type that is
   * not built in is resolved through its supertypes.
   */
  private async dataTypesOf(
    session: ClientSession,
    nodeIds: readonly string[],
  ): Promise<(DataType | string)[]> {
    const o = await opcua();
    const unknown = [...new Set(nodeIds.filter((n) => !this.dataTypes.has(n)))];
    const failed = new Map<string, string>();
    if (unknown.length > 0) {
      const values = await session.read(
        unknown.map((n) => ({ nodeId: n, attributeId: o.AttributeIds.DataType })),
      );
      await Promise.all(
        values.map(async (dv, i) => {
          const n = unknown[i]!;
          if (!dv.statusCode.isGood()) {
            failed.set(n, `cannot read the data type of ${n}: ${dv.statusCode.name}`);
            return;
          }
          try {
            this.dataTypes.set(n, await o.findBasicDataType(session, dv.value.value));
          } catch (err) {
            failed.set(n, `cannot resolve the data type of ${n}: ${(err as Error).message}`);
          }
        }),
      );
    }
    return nodeIds.map((n) => this.dataTypes.get(n) ?? failed.get(n)!);
  }

  /**
   * How many nodes one Read or Write may carry (the server's operation limits, asked once per
   * session; unlimited when it does not say).
   */
  async maxNodesPerCall(): Promise<number> {
    const session = await this.ensureSession();
    if (this.limits?.session !== session) {
      const o = await opcua();
      const l = await o.readOperationLimits(session).catch(() => ({}) as Partial<Record<string, number>>);
      const max = Math.min(
        ...[l.maxNodesPerRead, l.maxNodesPerWrite].map((x) => (x && x > 0 ? x : Number.POSITIVE_INFINITY)),
      );
      this.limits = { session, max };
    }
    return this.limits.max;
  }

  /** Stop watching and close the session. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const t of this.watchTimers.splice(0)) clearInterval(t);
    await this.close();
  }

  /** Close the subscription, session and connection (the device may be started again). */
  async close(): Promise<void> {
    if (this.staleTimer) clearInterval(this.staleTimer);
    this.staleTimer = null;
    const goodbye = async () => {
      await this.subscription?.terminate().catch(() => undefined);
      await this.session?.close().catch(() => undefined);
    };
    // With the server gone, terminate/close wait for a reconnection that never comes: bound them.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([goodbye(), new Promise<void>((r) => (timer = setTimeout(r, STOP_GRACE_MS)))]);
    clearTimeout(timer);
    await this.client?.disconnect().catch(() => undefined);
    this.subscription = null;
    this.session = null;
    this.client = null;
  }
}

export interface BrowsedNode {
  nodeId: string;
  browseName: string;
  nodeClass: string;
  depth: number;
}

/** Walk the address space from Objects down to `maxDepth` (the `gridflex browse` listing). */
export async function browseOpcUa(
  conn: OpcUaGatewayDevice['connection'],
  maxDepth = 3,
  options: OpcUaClientOptions = {},
): Promise<BrowsedNode[]> {
  const o = await opcua();
  const { client, session } = await connectOpcUa(conn, options, 'gridflex-browse');
  const out: BrowsedNode[] = [];
  try {
    const walk = async (nodeId: string, depth: number): Promise<void> => {
      if (depth > maxDepth) return;
      const res = await session.browse(nodeId);
      for (const ref of res.references ?? []) {
        if (!ref.isForward) continue;
        const id = ref.nodeId.toString();
        if (id.startsWith('ns=0;') && depth > 0) continue; // skip the standard namespace below Objects
        out.push({
          nodeId: id,
          browseName: ref.browseName.toString(),
          nodeClass: o.NodeClass[ref.nodeClass] ?? String(ref.nodeClass),
          depth,
        });
        if (ref.nodeClass === o.NodeClass.Object) await walk(id, depth + 1);
      }
    };
    await walk('ns=0;i=85', 0);
  } finally {
    await session.close().catch(() => undefined);
    await client.disconnect().catch(() => undefined);
  }
  return out;
}
