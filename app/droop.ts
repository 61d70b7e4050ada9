import type { Observable, Subscription } from 'rxjs';
import type { LocalResponseConfig } from '../market/droop.js';
import type { Product, ProductCatalog } from '../market/product.js';
import type { RuntimeAsset } from '../market/runtime/assets.js';
import { DroopRuntime } from '../market/runtime/droop-runtime.js';
import { type LogEntry, proofReadings } from '../market/runtime/proof-log.js';
import {
  gridMeterPoints,
  type Reading,
  type Site,
  type SiteCommitment,
  type WriteFn,
} from '../model/index.js';
import type { AssetHold } from '../server/context.js';

/**
 * Frequency response (FCR-N, FCR-D, FFR) held by a site, started by `gridflex run` itself: while
 * an accepted bid of a frequency product is in force for the site, a `DroopRuntime` follows the grid
 * frequency measured at the site and moves its market-movable assets (fans, batteries, heat
 * pumps) through the safety layer; when the bid's hour ends the assets go back to their base.
 * The response is computed here, in the building's own process, never round-tripped.
 */

/** The site's grid frequency: the `frequency` point of a grid meter (else of any device), Hz. */
export function frequencyPointOf(site: Site): string | undefined {
  const meters = new Set(gridMeterPoints(site).map((k) => k.split('/')[1]));
  const devices = site.buildings.flatMap((b) => b.devices);
  const ordered = [...devices.filter((d) => meters.has(d.id)), ...devices.filter((d) => !meters.has(d.id))];
  for (const d of ordered) {
    const p = d.points.find((x) => x.kind === 'frequency');
    if (p) return `${site.id}/${d.id}/${p.id}`;
  }
  return undefined;
}

/**
 * The frequency products the site holds at `nowMs`, with the kW of each: the commitments in
 * force whose product answers the measured frequency itself (`frequency_droop`: FCR-N, FCR-D;
 * `frequency_threshold`: FFR), symmetric kW taken as the smaller side. Pure.
 */
export function droopInForce(
  commitments: readonly SiteCommitment[],
  catalog: ProductCatalog,
  nowMs: number,
): LocalResponseConfig[] {
  const byProduct = new Map<string, { product: Product; capacityKw: number }>();
  for (const c of commitments) {
    if (!c.reserve?.product || c.startMs > nowMs || nowMs >= c.endMs) continue;
    const product = catalog.products.find((p) => p.id === c.reserve!.product);
    // Answered locally from the measured frequency: droop (FCR-N, FCR-D) and threshold (FFR).
    const kind = product?.activation.kind;
    if (!product || (kind !== 'frequency_droop' && kind !== 'frequency_threshold')) continue;
    const up = c.reserve.upKw ?? 0;
    const down = c.reserve.downKw ?? 0;
    const kw = up > 0 && down > 0 ? Math.min(up, down) : Math.max(up, down);
    if (kw <= 0) continue;
    const held = byProduct.get(product.id);
    byProduct.set(product.id, { product, capacityKw: (held?.capacityKw ?? 0) + kw });
  }
  return [...byProduct.values()].sort((a, b) => a.product.id.localeCompare(b.product.id));
}

const keyOf = (products: readonly LocalResponseConfig[]) =>
  products.map((p) => `${p.product.id}:${p.capacityKw}`).join(',');

export interface SiteDroopOptions {
  site: Site;
  catalog: ProductCatalog;
  readings$: Observable<Reading>;
  commitments$: Observable<readonly SiteCommitment[]>;
  /** The site's market-movable assets as they are now (app/market-executor.ts `runtimeAssetsNow`). */
  assets: () => RuntimeAsset[];
  port: { write: WriteFn };
  /** The last value read of a point (the meters' and units' power before the response starts). */
  lastValue?: (pointKey: string) => number | undefined;
  now?: () => number;
  /** How often the products in force are looked at again (hour boundaries), default 10 s. */
  everyMs?: number;
  /** How often an asset held off its base is written again (`DroopRuntimeOptions.refreshMs`). */
  refreshMs?: number;
  /** Where the proof goes as readings (`proofReadings`): the hub, so the store writer keeps it. */
  proof?: (readings: Reading[]) => void;
  say?: (line: string) => void;
}

/**
 * One site's frequency response, started and stopped as its droop obligations come and go.
 * While it runs, the devices of its assets are its own (`heldBy`): the optimiser and market
 * activations leave them alone.
 */
export class SiteDroop {
  private commitments: readonly SiteCommitment[] = [];
  private running: {
    key: string;
    products: LocalResponseConfig[];
    assets: RuntimeAsset[];
    runtime: DroopRuntime;
    sub: Subscription;
  } | null = null;
  private readonly sub: Subscription;
  private readonly timer: NodeJS.Timeout;
  private queue: Promise<void> = Promise.resolve();
  private readonly now: () => number;
  private stopped = false;
  readonly frequencyPoint: string | undefined;

  constructor(private readonly o: SiteDroopOptions) {
    this.now = o.now ?? Date.now;
    this.frequencyPoint = frequencyPointOf(o.site);
    this.sub = o.commitments$.subscribe((c) => {
      this.commitments = c;
      this.review();
    });
    this.timer = setInterval(() => this.review(), o.everyMs ?? 10_000);
    this.timer.unref();
  }

  /** The obligation's product holding `device` of this site now, if any. */
  heldBy(device: string): string | undefined {
    const r = this.running;
    return r?.assets.some((a) => a.device === device) ? `frequency response (${r.key})` : undefined;
  }

  /** The assets the response holds now, for the plan page (`by: frequency_response`). */
  holds(): AssetHold[] {
    const r = this.running;
    if (!r) return [];
    const dirs = new Set(r.products.map((p) => p.product.direction));
    const direction = dirs.size === 1 && !dirs.has('symmetric') ? ([...dirs][0] as 'up' | 'down') : 'both';
    const kw = r.products.reduce((a, p) => a + p.capacityKw, 0);
    const productId = r.products.map((p) => p.product.id).join('+');
    return r.assets.map((a) => ({ assetId: a.id, by: 'frequency_response', productId, direction, kw }));
  }

  /** The runtime following the frequency now (tests, the plan page). */
  get runtime(): DroopRuntime | undefined {
    return this.running?.runtime;
  }

  /** Start, change or end the response to match the products in force; one change at a time. */
  review(): Promise<void> {
    this.queue = this.queue
      .then(() => this.apply())
      .catch((err: Error) => this.o.say?.(`droop: ${err.message}`));
    return this.queue;
  }

  private async apply(): Promise<void> {
    if (this.stopped) return;
    const products = droopInForce(this.commitments, this.o.catalog, this.now());
    const key = keyOf(products);
    const site = this.o.site.id;
    if (key === (this.running?.key ?? '')) {
      // Same products: restart only to take in assets that have become movable since (a
      // building's BMS that answered late); one going stale is left to the runtime.
      const held = new Set(this.running?.assets.map((a) => a.id) ?? []);
      const added = this.running ? this.o.assets().filter((a) => !held.has(a.id)) : [];
      if (added.length === 0) return;
      this.o.say?.(
        `droop: ${site}: ${added.length} more assets movable (${added.map((a) => a.id).join(', ')}): the response restarts with them`,
      );
    }
    await this.end();
    if (products.length === 0) return;
    if (!this.frequencyPoint) {
      this.o.say?.(`droop: ${site} holds ${key} but has no frequency point: nothing follows the grid`);
      return;
    }
    const assets = this.o.assets();
    if (assets.length === 0) {
      this.o.say?.(`droop: ${site} holds ${key} but no movable asset has fresh readings`);
      return;
    }
    const runtime = new DroopRuntime({
      products,
      assets,
      port: this.o.port,
      frequencyPoint: this.frequencyPoint,
      // Every building's grid meter: the proof is the site's power, not one building's.
      ...(gridMeterPoints(this.o.site).length > 0 ? { meteredPoint: gridMeterPoints(this.o.site) } : {}),
      now: this.now,
      ...(this.o.lastValue ? { lastValue: this.o.lastValue } : {}),
      ...(this.o.refreshMs === undefined ? {} : { refreshMs: this.o.refreshMs }),
      ...(this.o.proof ? { onLog: (e: LogEntry) => this.o.proof!(proofReadings(site, e)) } : {}),
    });
    this.running = {
      key,
      products,
      assets,
      runtime,
      sub: runtime.attach(this.o.readings$),
    };
    this.o.say?.(
      `droop: ${site} follows the grid frequency for ${key} kW with ${assets.map((a) => a.id).join(', ')}`,
    );
  }

  private async end(): Promise<void> {
    const r = this.running;
    if (!r) return;
    r.sub.unsubscribe();
    await r.runtime.release();
    this.running = null;
    for (const m of r.runtime.messages) this.o.say?.(`droop: ${this.o.site.id}: ${m}`);
    this.o.say?.(`droop: ${this.o.site.id} ended ${r.key}: assets back on their base`);
  }

  /** End the response (assets back to base) and stop watching the obligations. */
  async stop(): Promise<void> {
    this.sub.unsubscribe();
    clearInterval(this.timer);
    await this.queue;
    this.stopped = true;
    await this.end();
  }
}
