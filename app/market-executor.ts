import type { Subscription } from 'rxjs';
import { refusedWrite, type WriteRecord, type WriteRequest } from '../gateway/index.js';
import type { ActivationExecutor } from '../market/executor.js';
import { type BatteryAsset, BatteryAssetSchema, type RuntimeAsset } from '../market/runtime/assets.js';
import { GatewayExecutor } from '../market/runtime/executor.js';
import { gridMeterPoint } from '../market/start.js';
import type { Site } from '../model/index.js';
import type { Hub } from '../stream/index.js';

/** A measured value older than this is not used to size an activation. */
const FRESH_MS = 10 * 60_000;

/** The safety-layer write of whichever gateway polls the device (LiveGateways), and what it polls. */
export interface DeviceWriter {
  write(site: string, req: WriteRequest): Promise<WriteRecord>;
  devices(): string[];
}

type Latest = (pointKey: string) => number | undefined;

const splitKey = (key: string) => {
  const [site, device, point] = key.split('/');
  return { site: site!, device: device!, point: point! };
};

/**
 * The batteries of a site the market may move: a battery asset whose `control` binds the
 * SunSpec 124 points `mode`, `charge_rate` and `discharge_rate` of one device. Static: which
 * assets could be moved at all (without them the runtime keeps `NoExecutor`).
 */
export function movableBatteries(site: Site) {
  return site.buildings.flatMap((b) =>
    b.assets.flatMap((a) => {
      if (a.type !== 'battery') return [];
      const keys = [a.control.mode, a.control.charge_rate, a.control.discharge_rate];
      if (keys.some((k) => k === undefined)) return [];
      const [mode, charge, discharge] = keys.map((k) => splitKey(k!));
      if (![charge, discharge].every((k) => k!.site === mode!.site && k!.device === mode!.device)) return [];
      return [
        {
          asset: a,
          device: mode!.device,
          mode: mode!.point,
          charge: charge!.point,
          discharge: discharge!.point,
        },
      ];
    }),
  );
}

/**
 * The site's runtime assets as they are now: each movable battery whose device a gateway polls
 * and whose state of charge was measured in the last ten minutes, its stored energy from that
 * reading and its base from its measured power (what it runs at without the market, e.g. the
 * optimiser's setpoint). A battery without a fresh reading is left out: it would be sized blind.
 */
export function runtimeAssetsNow(site: Site, latest: Latest, polled: readonly string[]): RuntimeAsset[] {
  const out: BatteryAsset[] = [];
  for (const m of movableBatteries(site)) {
    const a = m.asset;
    if (a.type !== 'battery' || !polled.includes(`${site.id}/${m.device}`)) continue;
    const socPct = a.measure.soc ? latest(a.measure.soc) : undefined;
    if (socPct === undefined) continue;
    // SunSpec 103 W: positive = AC output (discharging); the runtime asset's base is + charging.
    const powerW = a.measure.power ? latest(a.measure.power) : undefined;
    const baseKw = Math.min(a.maxChargeKw, Math.max(-a.maxDischargeKw, -(powerW ?? 0) / 1000));
    const cap = a.capacityKwh;
    out.push(
      BatteryAssetSchema.parse({
        kind: 'battery',
        id: a.id,
        siteId: site.id,
        device: m.device,
        modePoint: m.mode,
        chargePoint: m.charge,
        dischargePoint: m.discharge,
        // SunSpec 124 rates are percentages of WChaMax.
        ratedKw: a.maxChargeKw,
        maxChargeKw: a.maxChargeKw,
        maxDischargeKw: a.maxDischargeKw,
        baseKw: Math.round(baseKw * 100) / 100,
        storedKwh: Math.min(cap, Math.max(0, (socPct / 100) * cap)),
        minKwh: (a.minSocPct / 100) * cap,
        maxKwh: (a.maxSocPct / 100) * cap,
        roundTripEfficiency: a.chargeEfficiency * a.dischargeEfficiency,
      }),
    );
  }
  return out;
}

export interface MarketDispatch {
  executor: ActivationExecutor;
  /** The activation holding `site/device` now, if any. */
  heldBy(site: string, device: string): string | undefined;
  close(): void;
}

/**
 * The market's executor for a running process: a `GatewayExecutor` over every site with a
 * movable battery, writing through the gateways that poll the devices, its assets evaluated
 * when an activation starts from the latest readings on the hub. Null when no site has a
 * movable asset (the market then keeps `NoExecutor`).
 */
export function marketDispatch(o: {
  sites: readonly Site[];
  hub: Hub;
  gateways: DeviceWriter;
  now?: () => number;
  followUpMs?: number;
}): MarketDispatch | null {
  const sites = o.sites.filter((s) => movableBatteries(s).length > 0);
  if (sites.length === 0) return null;
  const now = o.now ?? Date.now;
  const values = new Map<string, { ts: number; value: number }>();
  const sub: Subscription = o.hub.readings$.subscribe((r) => {
    if (r.value !== null && r.quality !== 'bad') values.set(r.pointId, { ts: r.ts, value: r.value });
  });
  const latest: Latest = (key) => {
    const v = values.get(key);
    return v && now() - v.ts <= FRESH_MS ? v.value : undefined;
  };
  const executor = new GatewayExecutor({
    now,
    ...(o.followUpMs === undefined ? {} : { followUpMs: o.followUpMs }),
    sites: sites.map((site) => {
      const meter = gridMeterPoint(site);
      return {
        siteId: site.id,
        port: { write: (req) => o.gateways.write(site.id, req) },
        assets: () => runtimeAssetsNow(site, latest, o.gateways.devices()),
        gridImportLimitKw: site.grid.importLimitKw,
        siteImportKw: () => {
          const w = meter ? latest(meter) : undefined;
          return w === undefined ? undefined : w / 1000;
        },
      };
    }),
  });
  return {
    executor,
    heldBy: (site, device) => executor.heldDevices().get(`${site}/${device}`),
    close: () => {
      executor.close();
      sub.unsubscribe();
    },
  };
}

/**
 * A write for other writers (the live optimiser) that leaves the market's devices alone: a
 * write to a device held by a running activation is refused, saying which, and is not sent.
 * Released when the activation is done or failed.
 */
export function yieldingToMarket(
  write: (req: WriteRequest & { site: string }) => Promise<WriteRecord>,
  heldBy: ((site: string, device: string) => string | undefined) | undefined,
  onRefused?: (record: WriteRecord) => void,
): (req: WriteRequest & { site: string }) => Promise<WriteRecord> {
  return async (req) => {
    const id = heldBy?.(req.site, req.device);
    if (id === undefined) return write(req);
    const record = refusedWrite(req.site, req, `held by market activation ${id}`, Date.now());
    onRefused?.(record);
    return record;
  };
}
