import type { Scenario, SimDeviceSpec } from './scenario.js';
import { expandIds } from './scenario.js';

/*
 * The sites file (model/config.ts shape, as plain data) of a scenario: what a building manager
 * would write for the simulated buildings, so `gridflex sim --print-config` hands out a whole
 * gridflex.yaml (with the gateway file of gateway-config.ts) that `gridflex run` takes as is.
 * Plain data, checked by the caller against the real schemas: sim/ does not import the model's
 * site types, and what it writes here is exactly what a user could have written.
 */

type Raw = Record<string, unknown>;

/** Products a simulated site's portfolio offers (market/products.yaml ids). */
export const SIM_PORTFOLIO_PRODUCTS = ['fcr-n', 'fcr-d-up', 'ffr', 'mfrr', 'dr-event'] as const;

/** Draw of a fan or pump at `pct` % of its rated kW, by its law (the simulator's own). */
const drawKw = (ratedKw: number, pct: number, law: 'cubic' | 'linear') =>
  ratedKw * (law === 'cubic' ? (pct / 100) ** 3 : pct / 100);

/** The comfort cost of slowing a fan, per kWh not drawn (site currency). */
export const VENTILATION_SHED_COST_PER_KWH = 0.5;

const round = (x: number, digits = 3) => Number(x.toFixed(digits));

/**
 * The assets of one simulated device. Fans and pumps (`sheddable`) are market- and
 * optimiser-movable on their BMS speed setpoint, within the drive's speed range, their draw at
 * the scheduled speed as nominal; the shed is bounded by the minimum speed alone (the fraction
 * is what that speed leaves). PV and batteries are measured, not commanded: the frequency
 * response of this case is the ventilation's, as in Lappeenranta; bind their controls
 * (deploy/examples/gridflex.yaml shows how) to let Gridflex move them too.
 */
function assetsOf(site: string, building: string, d: SimDeviceSpec): Raw[] {
  switch (d.type) {
    case 'sheddable':
      return expandIds(d).map((id) => {
        const nominalKw = drawKw(d.ratedKw, d.defaultPct, d.law);
        const floorKw = drawKw(d.ratedKw, d.minPct, d.law);
        return {
          id: `${building}-${id}`,
          name: `${building} ${id} (${d.kind.replace('_', ' ')})`,
          type: 'sheddable',
          nominalKw: round(nominalKw),
          ratedKw: d.ratedKw,
          speedLaw: d.law,
          maxShedFraction: round(Math.min(1, Math.max(0, 1 - floorKw / nominalKw)), 4),
          // What slowing the ventilation costs the occupants, per kWh not drawn: above any
          // energy price, so the optimiser does not shed it for arbitrage (it would every
          // hour at no cost) and its flexibility stays for the market.
          costPerKwh: VENTILATION_SHED_COST_PER_KWH,
          maxShedMinutes: 20,
          minSpeedPct: d.minPct,
          maxSpeedPct: d.maxPct,
          measure: { power: `${site}/${building}-bms/${id}-power` },
          control: { speed: `${site}/${building}-bms/${id}-speed` },
        };
      });
    case 'pv':
      if (d.modbus === 'none') return [];
      return expandIds(d).map((id) => ({
        id: `${building}-${id}`,
        type: 'pv',
        kwp: d.kwp,
        inverterKw: d.inverterKw,
        measure: { power: `${site}/${building}-${id}/power` },
      }));
    case 'battery':
      if (d.modbus === 'none') return [];
      return expandIds(d).map((id) => ({
        id: `${building}-${id}`,
        type: 'battery',
        capacityKwh: d.capacityKwh,
        maxChargeKw: d.maxChargeKw,
        maxDischargeKw: d.maxDischargeKw,
        measure: { power: `${site}/${building}-${id}/power`, soc: `${site}/${building}-${id}/soc` },
      }));
    default:
      // Base loads are in the grid meter; heat pumps and EV chargers keep their own control
      // (their zone and charger points are still read).
      return [];
  }
}

/** The most a device can draw (+) and feed (−), kW: the site's grid limits are their sums. */
function peakKw(d: SimDeviceSpec): { importKw: number; exportKw: number } {
  const n = d.count ?? 1;
  switch (d.type) {
    case 'load':
      return { importKw: n * d.peakKw, exportKw: 0 };
    case 'sheddable':
      return { importKw: n * d.ratedKw, exportKw: 0 };
    case 'pv':
      return { importKw: 0, exportKw: n * d.inverterKw };
    case 'battery':
      return { importKw: n * d.maxChargeKw, exportKw: n * d.maxDischargeKw };
    case 'heat_pump':
    case 'ev_charger':
      return { importKw: n * d.maxKw, exportKw: 0 };
  }
}

/**
 * A sites file for the scenario: its one site with every building, the assets of its fans,
 * PV and batteries bound to the simulator's points (the ids `gatewayConfigFor` gives), grid
 * limits that no simulated building exceeds, and a portfolio of the site offering the
 * frequency and activation products.
 */
export function sitesFileFor(scenario: Scenario): Raw {
  let importKw = 0;
  let exportKw = 0;
  const buildings = scenario.buildings.map((b) => {
    for (const d of b.devices) {
      const p = peakKw(d);
      importKw += p.importKw;
      exportKw += p.exportKw;
    }
    return {
      id: b.id,
      name: b.name ?? b.id,
      kind: b.kind,
      devices: [],
      assets: b.devices.flatMap((d) => assetsOf(scenario.id, b.id, d)),
    };
  });
  return {
    sites: [
      {
        id: scenario.id,
        name: scenario.name,
        location: scenario.location,
        timezone: scenario.timezone,
        grid: { importLimitKw: Math.ceil(importKw), exportLimitKw: Math.max(1, Math.ceil(exportKw)) },
        buildings,
      },
    ],
    portfolios: [
      {
        id: scenario.id,
        name: `${scenario.name} (simulated)`,
        sites: [scenario.id],
        products: [...SIM_PORTFOLIO_PRODUCTS],
      },
    ],
  };
}
