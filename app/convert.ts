import { GridflexError } from '../model/index.js';
import { APP_ERRORS } from './errors.js';

type Raw = Record<string, unknown>;

const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

const conflict = (message: string) =>
  new GridflexError(APP_ERRORS.convertConflict, message, { kind: 'input' });

/**
 * The old files as one `gridflex.yaml` (`gridflex config convert`), on the files as written
 * (durations stay "5s", comments aside), so the result reads like the input:
 * - the sites file's sites, assets and bindings stay as they are; its `portfolios:` move to `market`;
 * - each gateway file's devices go into its site: a device the sites file already lists is
 *   replaced in place by the gateway's fuller description (registers, node ids); another goes
 *   to the building whose id prefixes it (`house-battery` → `house`), else to a building
 *   `gateway`; a gateway file for a site the sites file lacks adds a placeholder site whose
 *   location, time zone and grid limits must be filled in (`notes` says so);
 * - the gateway files' `profiles` merge (the same name twice with different maps is an error);
 *   their poll interval becomes `gateway.pollInterval`, or each device's where they differ.
 */
export function convertToGridflexConfig(
  sitesFile: Raw | null,
  gatewayFiles: readonly Raw[],
): { config: Raw; notes: string[] } {
  const notes: string[] = [];
  const sites: Raw[] = list(sitesFile?.sites)
    .filter(isObject)
    .map((s) => structuredClone(s));
  const profiles: Raw = {};
  const intervals = new Set(gatewayFiles.map((g) => String(g.pollInterval ?? '5s')));
  const pollInterval = intervals.size === 1 ? [...intervals][0]! : undefined;
  for (const gw of gatewayFiles) {
    const siteId = String(gw.site ?? '');
    for (const [name, profile] of Object.entries(isObject(gw.profiles) ? gw.profiles : {})) {
      if (name in profiles && JSON.stringify(profiles[name]) !== JSON.stringify(profile))
        throw conflict(`two gateway files define profile "${name}" differently; rename one`);
      profiles[name] = profile;
    }
    let site = sites.find((s) => s.id === siteId);
    if (!site) {
      site = {
        id: siteId,
        name: siteId,
        location: { lat: 0, lon: 0 },
        timezone: 'UTC',
        grid: { importLimitKw: 1, exportLimitKw: 0 },
        buildings: [],
      };
      sites.push(site);
      notes.push(
        `site ${siteId} is only in a gateway file: fill in its name, location, timezone and grid limits`,
      );
    }
    const buildings = list(site.buildings).filter(isObject);
    site.buildings = buildings;
    for (const raw of list(gw.devices).filter(isObject)) {
      const device: Raw = { ...raw };
      if (!pollInterval && gw.pollInterval && device.pollInterval === undefined)
        device.pollInterval = gw.pollInterval;
      const holder = buildings.find((b) => list(b.devices).some((d) => isObject(d) && d.id === device.id));
      if (holder) {
        holder.devices = list(holder.devices).map((d) => (isObject(d) && d.id === device.id ? device : d));
        continue;
      }
      let building = buildings.find((b) => String(device.id).startsWith(`${String(b.id)}-`));
      if (!building) {
        building = buildings.find((b) => b.id === 'gateway');
        if (!building) {
          building = { id: 'gateway', name: 'Devices of the gateway file', kind: 'other', devices: [] };
          buildings.push(building);
          notes.push(`site ${siteId}: devices without a matching building went to building "gateway"`);
        }
      }
      building.devices = [...list(building.devices), device];
    }
  }
  const config: Raw = {};
  if (pollInterval && gatewayFiles.length > 0) config.gateway = { pollInterval };
  if (Object.keys(profiles).length > 0) config.profiles = profiles;
  config.sites = sites;
  if (sitesFile && Array.isArray(sitesFile.portfolios)) config.market = { portfolios: sitesFile.portfolios };
  return { config, notes };
}
