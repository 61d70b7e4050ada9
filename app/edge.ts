import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BehaviorSubject, bufferTime, concatMap, filter } from 'rxjs';
import { z } from 'zod';
import { LatestValues } from '../control/latest.js';
import { RecentMeans } from '../control/recent-mean.js';
import { Gateway, type GatewayConfig, GatewayConfigSchema, gatewaySite } from '../gateway/index.js';
import { loadProducts } from '../market/product.js';
import {
  AssetSchema,
  IdSchema,
  listPoints,
  type Site,
  type SiteCommitment,
  SiteSchema,
  type WriteRecord,
} from '../model/index.js';
import { openStore, type Store } from '../store/index.js';
import { Hub } from '../stream/index.js';
import {
  type CommandTarget,
  discoveryMessages,
  EdgeCommands,
  EdgeLink,
  haStateTopic,
  type Obligations,
  Outbox,
  toWire,
} from '../uplink/index.js';
import { ObligationStore } from '../uplink/obligation-store.js';
import { bindingIssues } from './config.js';
import { frequencyPointOf, SiteDroop } from './droop.js';
import { movableHeatPumps, runtimeAssetsNow } from './market-executor.js';

/** The `uplink:` section of an edge file (`gridflex edge --config edge.yaml`). */
export const EdgeUplinkSchema = z.object({
  /** mqtts://broker.example:8883 across the internet; mqtt:// on a trusted network only. */
  broker: z.string().regex(/^mqtts?:\/\//, 'expected mqtt://… or mqtts://…'),
  tenant: IdSchema,
  /** This edge's id (default `edge-<site>`); also its broker user name unless `username` is set. */
  edge: IdSchema.optional(),
  username: z.string().min(1).optional(),
  /** A file holding the broker password (never the password itself in the YAML). */
  passwordFile: z.string().min(1).optional(),
  /** Readings are gathered this long into one outbox row / message (default 1 s). */
  batchMs: z.number().int().min(100).max(60_000).default(1000),
  window: z.number().int().min(1).max(1000).default(20),
  ackTimeoutMs: z.number().int().min(500).max(600_000).default(10_000),
  /** Publish Home Assistant MQTT discovery and each point's latest value. */
  homeAssistant: z.boolean().default(false),
  /**
   * The safe values (`device/point` → value) written when central's lease ends without renewal
   * (central stopped, crashed or cannot reach this edge), for the points central had set, e.g.
   * `house-battery/mode: 0` (SunSpec: the battery back on its own control). Points without one
   * keep the last value central set (a device's own fail-safe timeout still applies).
   */
  fallback: z
    .record(z.string().regex(/^[a-z0-9_-]+\/[a-z0-9_-]+$/, 'expected device/point'), z.number())
    .default({}),
});
export type EdgeUplinkConfig = z.infer<typeof EdgeUplinkSchema>;

export const EdgeConfigSchema = GatewayConfigSchema.and(
  z.object({
    uplink: EdgeUplinkSchema,
    /**
     * The building's flexible assets (the model's asset schema, bindings `site/device/point` of
     * this edge's devices): what the edge moves itself for a frequency product central has
     * sold (FCR-N, FCR-D), from the obligations central publishes. Without any, the edge
     * answers no frequency.
     */
    assets: z.array(AssetSchema).default([]),
    /** A product catalogue file (market/products.yaml format); default: the bundled one. */
    products: z.string().min(1).optional(),
  }),
).superRefine((cfg, ctx) => {
  let site: Site;
  try {
    site = edgeSiteOf(cfg);
  } catch (err) {
    ctx.addIssue({ code: 'custom', path: ['assets'], message: (err as Error).message });
    return;
  }
  // The bindings against this edge's devices, named as in the edge file (`assets[0].control.mode`).
  for (const i of bindingIssues(site, [])) {
    const rel = i.path.replace(/^buildings\[0\]\./, '');
    const path = rel
      .split(/\.|\[(\d+)\]/)
      .filter((x) => x !== undefined && x !== '')
      .map((x) => (/^\d+$/.test(x) ? Number(x) : x));
    ctx.addIssue({ code: 'custom', path, message: i.message });
  }
  for (const key of Object.keys(cfg.uplink.fallback)) {
    const [device, point] = key.split('/');
    const p = cfg.devices.find((d) => d.id === device)?.points.find((x) => x.id === point);
    if (!p?.writable)
      ctx.addIssue({
        code: 'custom',
        path: ['uplink', 'fallback', key],
        message: p ? `point "${key}" is not writable` : `no point "${key}" among the devices`,
      });
  }
});

/**
 * The edge's building as the model sees it: the gateway's site (gateway `gatewaySite`, whose
 * grid limits are placeholders: central's concern, not the edge's) with the file's assets.
 */
export function edgeSiteOf(cfg: GatewayConfig & { assets?: unknown[] }): Site {
  const site = gatewaySite(cfg);
  // The assets are parsed here: their schema checks them against nothing but themselves.
  return SiteSchema.parse({
    ...site,
    buildings: site.buildings.map((b) => ({ ...b, assets: cfg.assets ?? [] })),
  });
}

/** Central's obligations message as the droop reads commitments. */
const toCommitment = (o: Obligations['obligations'][number]): SiteCommitment => ({
  id: o.id,
  startMs: o.startMs,
  endMs: o.endMs,
  reserve: { upKw: o.upKw, downKw: o.downKw, sustainMinutes: 0, product: o.product },
});
export type EdgeConfig = z.output<typeof EdgeConfigSchema>;

export interface RunningEdge {
  gateway: Gateway;
  /** The edge's own hub: readings as polled, write records (`writes`). */
  hub: Hub;
  /** The frequency response for central's obligations (null: no assets, or no frequency point). */
  droop: SiteDroop | null;
  link: EdgeLink;
  outbox: Outbox;
  store: Store;
  stop(): Promise<void>;
}

/**
 * `gridflex edge`: the gateway with its safety layer polls the building; readings go, batched,
 * into the durable outbox of the embedded store and from there over MQTT to central (uplink/);
 * central's commands are applied through the same safety layer while their lease holds.
 */
export async function startEdge(
  cfg: EdgeConfig,
  o: { dataDir: string; say?: (line: string) => void; clock?: () => number },
): Promise<RunningEdge> {
  const say = o.say ?? (() => undefined);
  const clock = o.clock ?? Date.now;
  const site = cfg.site;
  const u = cfg.uplink;
  const edge = u.edge ?? `edge-${site}`;
  const store = await openStore({ dataDir: o.dataDir });
  const outbox = await Outbox.open(store);
  const hub = new Hub();
  const gateway = new Gateway(cfg, hub, { auditFile: join(o.dataDir, 'writes.jsonl') });
  // Points central has set since the last fallback: the ones a lapsed lease hands back.
  const touched = new Set<string>();
  const writeFallback = async (cmd: { cmdId: string; validUntil: number }) => {
    const points = [...touched].filter((k) => u.fallback[k] !== undefined);
    touched.clear();
    for (const key of points) {
      const [device, point] = key.split('/') as [string, string];
      // A device the frequency response holds is its own until the obligation ends.
      const heldBy = droop?.heldBy(device);
      if (heldBy) {
        say(`fallback ${key} skipped: held by ${heldBy}`);
        continue;
      }
      const r = await gateway.write({
        site,
        device,
        point,
        value: u.fallback[key]!,
        who: 'edge',
        why: `lease of central command ${cmd.cmdId} ended at ${new Date(cmd.validUntil).toISOString()}: safe value`,
      });
      say(`fallback ${key} = ${u.fallback[key]}: ${r.outcome}${r.reason ? ` (${r.reason})` : ''}`);
    }
  };
  // Frequency products are answered here, from central's obligations, never round-tripped.
  const model = edgeSiteOf(cfg);
  const latest = new LatestValues();
  // Heat pumps coast by their recent mean draw (control/recent-mean.ts), as central's market does.
  const pumpPower = new Set(
    movableHeatPumps(model).flatMap((m) => (m.asset.measure.power ? [m.asset.measure.power] : [])),
  );
  const means = new RecentMeans();
  const latestSub = hub.readings$.subscribe((r) => {
    latest.update(r);
    if (pumpPower.has(r.pointId)) means.update(r);
  });
  // The last list central sent survives a restart (the broker's retained copy may be out of reach).
  const kept = await ObligationStore.open(store, site);
  const keptList = await kept.latest();
  const obligations$ = new BehaviorSubject<readonly SiteCommitment[]>(
    keptList?.obligations.map(toCommitment) ?? [],
  );
  const droop =
    cfg.assets.length > 0 && frequencyPointOf(model)
      ? new SiteDroop({
          site: model,
          catalog: await loadProducts(cfg.products),
          readings$: hub.readings$,
          commitments$: obligations$,
          assets: () =>
            runtimeAssetsNow(
              model,
              (k) => latest.get(k, clock()),
              cfg.devices.map((d) => `${site}/${d.id}`),
              (k) => means.get(k, clock()),
            ),
          port: { write: (r) => gateway.write(r) },
          now: clock,
          // The proof goes up with the readings (outbox → central's store), kept while offline.
          proof: (readings) => hub.publishReadings(readings),
          say,
        })
      : null;
  const target: CommandTarget = {
    apply: async (setpoints, cmd) => {
      const readback: Record<string, number | null> = {};
      for (const s of setpoints) {
        const [device, point] = s.point.split('/') as [string, string];
        // The response holds its devices: central's commands wait until the obligation ends.
        const heldBy = droop?.heldBy(device);
        if (heldBy) throw new Error(`${s.point}: held by ${heldBy}`);
        touched.add(s.point);
        const r: WriteRecord = await gateway.write({
          site,
          device,
          point,
          value: s.value,
          who: 'central',
          why: `central command ${cmd.cmdId}`,
        });
        if (r.outcome === 'refused' || r.outcome === 'failed') {
          throw new Error(`${s.point}: ${r.reason ?? r.outcome}`);
        }
        readback[s.point] = r.readBack;
      }
      return readback;
    },
    // No renewal within the lease: central is gone or cut off. The configured safe values go to
    // the points it had set; the next command from central takes them over again.
    fallback: (cmd) => {
      say(`command ${cmd.cmdId} lease ended: back to local behaviour`);
      void writeFallback(cmd).catch((err: Error) => say(`fallback failed: ${err.message}`));
    },
  };
  const commands = new EdgeCommands(store, site, target, clock);
  await commands.load();
  const password = u.passwordFile ? readFileSync(u.passwordFile, 'utf8').trim() : undefined;
  const addr = { tenant: u.tenant, site };
  const link = new EdgeLink({
    url: u.broker,
    tenant: u.tenant,
    site,
    edge,
    username: u.username ?? edge,
    ...(password ? { password } : {}),
    outbox,
    commands,
    window: u.window,
    ackTimeoutMs: u.ackTimeoutMs,
    clock,
    boot: clock().toString(36),
  });
  if (u.homeAssistant) {
    const points = listPoints([gatewaySite(cfg)]).map((p) => ({ ...p, key: p.key.slice(site.length + 1) }));
    link.on('connect', () => {
      for (const m of discoveryMessages(addr, points)) link.publishRaw(m.topic, m.payload, true);
    });
  }
  link.on('obligations', async (msg: Obligations) => {
    // Kept first: what is answered is what a restart answers too. An older copy is ignored.
    const newer = await kept.save(msg).catch((err: Error) => {
      say(`obligations not kept: ${err.message}`);
      return true;
    });
    if (!newer) return;
    obligations$.next(msg.obligations.map(toCommitment));
    say(
      `obligations from central: ${msg.obligations.map((o) => `${o.product} ${o.upKw}/${o.downKw} kW`).join(', ') || 'none'}`,
    );
  });
  const sub = hub.readings$
    .pipe(
      bufferTime(u.batchMs),
      filter((b) => b.length > 0),
      // One append at a time: outbox rows keep the order the readings came in.
      concatMap(async (batch) => {
        await outbox.append(
          batch.map((r) => toWire(site, r)),
          clock(),
        );
        if (u.homeAssistant) {
          for (const r of batch) {
            if (r.value !== null)
              link.publishRaw(haStateTopic(addr, r.pointId.slice(site.length + 1)), String(r.value), true);
          }
        }
      }),
    )
    .subscribe({ error: (err: Error) => say(`outbox append failed: ${err.message}`) });
  gateway.start();
  say(`Gridflex edge ${edge} for ${u.tenant}/${site}: ${cfg.devices.length} devices, uplink ${u.broker}`);
  return {
    gateway,
    link,
    outbox,
    store,
    droop,
    hub,
    stop: async () => {
      // The response first: its assets back on their base while the gateway still writes.
      await droop?.stop();
      latestSub.unsubscribe();
      await gateway.stop();
      hub.close();
      sub.unsubscribe();
      commands.close();
      await link.close();
      await store.close();
    },
  };
}
