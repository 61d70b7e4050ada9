import type { Subscription } from 'rxjs';
import { readState, STORCTL_BOTH, speedPctFor, splitPointKey } from '../control/drivers.js';
import { LatestValues } from '../control/latest.js';
import { type RecentMeanOptions, RecentMeans } from '../control/recent-mean.js';
import type { ActivationPlan } from '../market/activation.js';
import type { ActivationExecutor } from '../market/executor.js';
import {
  BatteryAssetSchema,
  FanAssetSchema,
  HeatPumpAssetSchema,
  type RuntimeAsset,
} from '../market/runtime/assets.js';
import { GatewayExecutor } from '../market/runtime/executor.js';
import {
  type Asset,
  gridMeterPoints,
  refusedWrite,
  type Site,
  type WriteRecord,
  type WriteRequest,
  type WriteResult,
} from '../model/index.js';
import type { AssetHold } from '../server/context.js';
import type { Hub } from '../stream/index.js';

/** The safety-layer write of whichever gateway polls the device (LiveGateways), and what it polls. */
export interface DeviceWriter {
  write(site: string, req: Omit<WriteRequest, 'site'>): Promise<WriteResult>;
  /** Several writes, batched per device where the gateway can; a result per request, in order. */
  writeMany?(site: string, reqs: Omit<WriteRequest, 'site'>[]): Promise<WriteResult[]>;
  devices(): string[];
}

type Latest = (pointKey: string) => number | undefined;

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
      const [mode, charge, discharge] = keys.map((k) => splitPointKey(k!));
      if (![charge, discharge].every((k) => k!.site === mode!.site && k!.device === mode!.device)) return [];
      // The command lease goes with the activation's writes where the same device binds its timeout.
      const revert = a.control.revert_timeout ? splitPointKey(a.control.revert_timeout) : undefined;
      const leased = revert && revert.site === mode!.site && revert.device === mode!.device;
      return [
        {
          asset: a,
          device: mode!.device,
          mode: mode!.point,
          charge: charge!.point,
          discharge: discharge!.point,
          ...(leased && a.lease ? { revert: revert.point, revertS: a.lease.revertS } : {}),
        },
      ];
    }),
  );
}

/**
 * The assets of `type` on the site whose `control` binds `binding`, with the building they
 * are in and the device and point of that binding.
 */
function boundAssets<T extends Asset['type']>(site: Site, type: T, binding: string) {
  return site.buildings.flatMap((b) =>
    b.assets.flatMap((a) => {
      const key = a.control[binding];
      if (a.type !== type || !key) return [];
      const { device, point } = splitPointKey(key);
      return [{ asset: a as Extract<Asset, { type: T }>, building: b.id, key, device, point }];
    }),
  );
}

/**
 * The fans (and pumps) of a site the market may move: a sheddable load whose `control` binds a
 * `speed` point. Static, as `movableBatteries`.
 */
export const movableFans = (site: Site) => boundAssets(site, 'sheddable', 'speed');

/**
 * The heat pumps of a site the market may move: a thermal asset whose `control` binds its zone
 * thermostat's `setpoint` (moved by coasting: the setpoint lowered to the bottom of the comfort
 * band, market/runtime/assets.ts `HeatPumpAssetSchema`).
 */
export const movableHeatPumps = (site: Site) => boundAssets(site, 'thermal', 'setpoint');

/** Whether the market could move anything on the site (a movable battery, fan or heat pump). */
export const hasMovableAssets = (site: Site) =>
  movableBatteries(site).length + movableFans(site).length + movableHeatPumps(site).length > 0;

/**
 * The site's runtime assets as they are now: each movable battery whose device a gateway polls
 * and whose state of charge was measured in the last ten minutes, its stored energy from that
 * reading and its base from its measured power (what it runs at without the market, e.g. the
 * optimiser's setpoint). A battery without a fresh reading is left out: it would be sized blind.
 */
export function runtimeAssetsNow(
  site: Site,
  latest: Latest,
  polled: readonly string[],
  recentMean: Latest = () => undefined,
  commands: CommandsSeen = {},
): RuntimeAsset[] {
  const out: RuntimeAsset[] = [];
  for (const m of movableBatteries(site)) {
    const a = m.asset;
    if (a.type !== 'battery' || !polled.includes(`${site.id}/${m.device}`)) continue;
    const state = readState(a, latest);
    if (state.socPct === undefined) continue;
    const socPct = state.socPct;
    // The driver's convention is the runtime asset's: + charging. A command accepted after the
    // last power reading is what the battery runs at now (the reading would be a poll behind).
    const kw = commandedBatteryKw(site.id, m, commands) ?? state.kw ?? 0;
    const baseKw = Math.min(a.maxChargeKw, Math.max(-a.maxDischargeKw, kw));
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
        ...(m.revert ? { revertPoint: m.revert, revertS: m.revertS } : {}),
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
  out.push(...runtimeFansNow(site, latest, polled));
  out.push(...runtimeHeatPumpsNow(site, latest, polled, recentMean));
  return out;
}

/** How long after a command a battery's power reading is taken to show it, ms. */
export const COMMAND_SETTLE_MS = 10_000;

/** What the market knows of commands besides the readings (a running process's write records). */
export interface CommandsSeen {
  /** The last accepted write of a point key (`site/device/point`): value and when. */
  written?: (key: string) => { value: number; ts: number } | undefined;
  /** When the point's latest reading was taken (fresh or not). */
  readingTs?: (key: string) => number | undefined;
}

/**
 * A SunSpec 124 battery's power as last commanded (kW, + charging) unless its latest power
 * reading was taken at least COMMAND_SETTLE_MS after that command, else undefined (the reading
 * stands). Mode 3 with its rates in
 * % of WChaMax (= `maxChargeKw`, as control/'s `storage124` writes them); a battery handed back
 * (mode 0) runs on its own control, which only a reading can tell.
 */
export function commandedBatteryKw(
  siteId: string,
  m: ReturnType<typeof movableBatteries>[number],
  seen: CommandsSeen,
): number | undefined {
  if (!seen.written) return undefined;
  const key = (point: string) => `${siteId}/${m.device}/${point}`;
  const [mode, charge, discharge] = [m.mode, m.charge, m.discharge].map((p) => seen.written!(key(p)));
  if (!mode || !charge || !discharge) return undefined;
  const commandedTs = Math.max(mode.ts, charge.ts, discharge.ts);
  const power = m.asset.measure.power;
  const readTs = power ? seen.readingTs?.(power) : undefined;
  // A reading counts once the battery has had time to follow the command: one taken in the
  // second after it may still show the old power (the inverter ramps, the poll was under way).
  if (readTs !== undefined && readTs >= commandedTs + COMMAND_SETTLE_MS) return undefined;
  if (mode.value !== STORCTL_BOTH) return undefined;
  if (m.asset.type !== 'battery') return undefined;
  return ((charge.value - discharge.value) / 100) * m.asset.maxChargeKw;
}

/**
 * Each movable heat pump whose device a gateway polls, with its setpoint read now (its base),
 * its recent mean draw (`recentMean` of `measure.power`, W: what coasting takes off for the next
 * while; control/recent-mean.ts) and, for the merit order, how far its zone is from the bottom
 * of the comfort band. Left out: no setpoint, zone temperature or mean yet; a setpoint already
 * at or below the coasting one; a zone too cold to coast (at or below the coasting setpoint +
 * half the thermostat's band, where the thermostat keeps heating).
 */
export function runtimeHeatPumpsNow(
  site: Site,
  latest: Latest,
  polled: readonly string[],
  recentMean: Latest,
): RuntimeAsset[] {
  const out: RuntimeAsset[] = [];
  for (const m of movableHeatPumps(site)) {
    const a = m.asset;
    if (!polled.includes(`${site.id}/${m.device}`)) continue;
    const baseSetpointC = latest(m.key);
    const meanW = a.measure.power ? recentMean(a.measure.power) : undefined;
    const coastSetpointC = a.minC + a.hysteresisC / 2;
    if (baseSetpointC === undefined || meanW === undefined || baseSetpointC <= coastSetpointC) continue;
    // Coasting stops the pump only above the coasting thermostat's upper switching point: a
    // zone colder than that keeps heating (the band allows no lower setpoint), so it gives nothing.
    const zoneC = readState(a, latest).temperatureC;
    if (zoneC === undefined || zoneC <= coastSetpointC + a.hysteresisC / 2) continue;
    out.push(
      HeatPumpAssetSchema.parse({
        kind: 'heat_pump',
        id: a.id,
        siteId: site.id,
        device: m.device,
        building: m.building,
        setpointPoint: m.point,
        baseSetpointC,
        coastSetpointC,
        bandC: a.hysteresisC,
        comfortMinC: a.minC,
        meanKw: Math.min(a.maxKw, Math.max(0, meanW / 1000)),
        comfortMargin: Math.min(1, Math.max(0, (zoneC - a.minC) / (a.maxC - a.minC))),
      }),
    );
  }
  return out;
}

/**
 * Each movable fan whose device a gateway polls and whose speed point has a fresh value: its
 * base is that speed (what it runs at without the market: its own schedule, or the
 * optimiser's setpoint), its floor the speed that sheds `maxShedFraction` of `nominalKw` (and
 * not under `minSpeedPct`), its ceiling `maxSpeedPct` (absent: its base, so it is only slowed).
 */
export function runtimeFansNow(site: Site, latest: Latest, polled: readonly string[]): RuntimeAsset[] {
  const out: RuntimeAsset[] = [];
  for (const m of movableFans(site)) {
    const a = m.asset;
    if (!polled.includes(`${site.id}/${m.device}`)) continue;
    const basePct = latest(m.key);
    if (basePct === undefined) continue;
    const ratedKw = a.ratedKw ?? a.nominalKw;
    const shedFloorPct = speedPctFor(a.nominalKw * (1 - a.maxShedFraction), ratedKw, a.speedLaw);
    const minPct = Math.min(100, Math.max(a.minSpeedPct ?? 0, Math.round(shedFloorPct * 10) / 10));
    out.push(
      FanAssetSchema.parse({
        kind: 'fan',
        id: a.id,
        siteId: site.id,
        device: m.device,
        building: m.building,
        point: m.point,
        ratedKw,
        law: a.speedLaw,
        costPerKwh: a.costPerKwh,
        basePct: Math.min(100, Math.max(0, basePct)),
        minPct,
        maxPct: Math.max(minPct, a.maxSpeedPct ?? basePct),
        ...(a.measure.power ? { powerPoint: a.measure.power } : {}),
      }),
    );
  }
  return out;
}

export interface MarketDispatch {
  executor: ActivationExecutor;
  /** The site's market-movable assets as they are now (polled, fresh readings), holds ignored. */
  assetsNow(siteId: string): RuntimeAsset[];
  /**
   * The last value read of a point, however old: an OPC UA server reports a value only when it
   * changes, so an unchanged fan's power is its last report.
   */
  lastValue(pointKey: string): number | undefined;
  /** The activation holding `site/device` now, if any. */
  heldBy(site: string, device: string): string | undefined;
  /**
   * The site's assets an activation holds now, with its product and the site's kW (the plan
   * page says so); `planOf` looks an activation's plan up (the market's stored activation).
   */
  holds(
    site: string,
    planOf: (activationId: string) => Promise<ActivationPlan | undefined>,
  ): Promise<AssetHold[]>;
  close(): void;
}

/**
 * The market's executor for a running process: a `GatewayExecutor` over every site with a
 * movable battery or fan, writing through the gateways that poll the devices, its assets evaluated
 * when an activation starts from the latest readings on the hub. Null when no site has a
 * movable asset (the market then keeps `NoExecutor`).
 */
export function marketDispatch(o: {
  sites: readonly Site[];
  hub: Hub;
  gateways: DeviceWriter;
  now?: () => number;
  followUpMs?: number;
  /** How heat pumps' recent mean draw is taken (default: one hour, given after 15 minutes). */
  heatPumpMean?: RecentMeanOptions;
  /** Devices held by another local controller (app/droop.ts): left out of activations. */
  heldElsewhere?: (site: string, device: string) => boolean;
}): MarketDispatch | null {
  const sites = o.sites.filter(hasMovableAssets);
  if (sites.length === 0) return null;
  const now = o.now ?? Date.now;
  const values = new LatestValues();
  // Heat pumps' draw, averaged over about the last hour (what coasting takes off).
  const pumpPower = new Set(
    sites.flatMap((s) =>
      movableHeatPumps(s).flatMap((m) => (m.asset.measure.power ? [m.asset.measure.power] : [])),
    ),
  );
  const means = new RecentMeans(o.heatPumpMean);
  const sub: Subscription = o.hub.readings$.subscribe((r) => {
    values.update(r);
    if (pumpPower.has(r.pointId)) means.update(r);
  });
  // Accepted writes (any writer's): a battery's base is its command when newer than its reading.
  const written = new Map<string, { value: number; ts: number }>();
  const writesSub = o.hub.topic('writes').subscribe((w) => {
    if ((w.outcome === 'written' || w.outcome === 'unverified') && w.value !== null)
      written.set(`${w.site}/${w.device}/${w.point}`, { value: w.value, ts: w.ts });
  });
  const commands: CommandsSeen = {
    written: (k) => written.get(k),
    readingTs: (k) => values.last(k)?.ts,
  };
  const latest: Latest = values.reader(now);
  const recentMean: Latest = (k) => means.get(k, now());
  const executor = new GatewayExecutor({
    now,
    ...(o.followUpMs === undefined ? {} : { followUpMs: o.followUpMs }),
    sites: sites.map((site) => {
      const meters = gridMeterPoints(site);
      return {
        siteId: site.id,
        port: {
          write: ({ site: _site, ...req }) => o.gateways.write(site.id, req),
          ...(o.gateways.writeMany
            ? {
                writeMany: (reqs: WriteRequest[]) =>
                  o.gateways.writeMany!(
                    site.id,
                    reqs.map(({ site: _site, ...req }) => req),
                  ),
              }
            : {}),
        },
        // Devices another local controller holds (frequency response) are not the activation's.
        assets: () =>
          runtimeAssetsNow(site, latest, o.gateways.devices(), recentMean, commands).filter(
            (a) => !o.heldElsewhere?.(site.id, a.device),
          ),
        gridImportLimitKw: site.grid.importLimitKw,
        // The site's import is the sum of its grid meters; unknown when any is.
        siteImportKw: () => {
          const ws = meters.map((m) => latest(m));
          if (ws.length === 0 || ws.some((w) => w === undefined)) return undefined;
          return ws.reduce((a: number, w) => a + w!, 0) / 1000;
        },
      };
    }),
  });
  return {
    executor,
    assetsNow: (siteId) => {
      const site = sites.find((s) => s.id === siteId);
      return site ? runtimeAssetsNow(site, latest, o.gateways.devices(), recentMean, commands) : [];
    },
    lastValue: (k) => values.last(k)?.value,
    heldBy: (site, device) => executor.heldDevices().get(`${site}/${device}`),
    holds: async (siteId, planOf) => {
      const held = executor.heldDevices();
      const site = sites.find((s) => s.id === siteId);
      const out: AssetHold[] = [];
      const movable = site
        ? [...movableBatteries(site), ...movableFans(site), ...movableHeatPumps(site)]
        : [];
      for (const m of movable) {
        const id = held.get(`${siteId}/${m.device}`);
        const plan = id === undefined ? undefined : await planOf(id);
        if (id === undefined || !plan) continue;
        const dispatched = executor.status(id)?.sites.find((x) => x.siteId === siteId)?.dispatchedKw;
        const kw = dispatched ?? plan.sites.find((x) => x.siteId === siteId)?.kw ?? plan.kw;
        out.push({
          assetId: m.asset.id,
          by: 'activation',
          activationId: id,
          productId: plan.productId,
          direction: plan.direction,
          kw,
        });
      }
      return out;
    },
    close: () => {
      executor.close();
      sub.unsubscribe();
      writesSub.unsubscribe();
    },
  };
}

/**
 * A write for other writers (the live optimiser) that leaves the market's devices alone: a
 * write to a device held by a running activation is refused, saying which, and is not sent.
 * Released when the activation is done or failed.
 */
export function yieldingToMarket<R extends WriteResult>(
  write: (req: WriteRequest) => Promise<R>,
  heldBy: ((site: string, device: string) => string | undefined) | undefined,
  onRefused?: (record: WriteRecord) => void,
): (req: WriteRequest) => Promise<R | WriteRecord> {
  return async (req) => {
    const id = heldBy?.(req.site, req.device);
    if (id === undefined) return write(req);
    const record = refusedWrite(req, 'held', `held by market activation ${id}`, Date.now());
    onRefused?.(record);
    return record;
  };
}
