import type { CommunityConfig } from '../ledger/community.js';

/**
 * The devices that measure one household (`site/device`): the meters of a community's
 * apartments and shops, through the community file's `points` (meter → `site/device/point`).
 * Common-area units are building devices, and so is any device listed in `buildingDevices`
 * (a flat meter the configuration declares a building device, e.g. the caretaker's flat that
 * also feeds the heat pump). The server masks these for managers and operators and audits an
 * admin's look at them (server/privacy.ts).
 */
export function householdDevices(
  communities: readonly CommunityConfig[],
  buildingDevices: readonly string[] = [],
): Set<string> {
  const building = new Set(buildingDevices);
  const out = new Set<string>();
  for (const c of communities)
    for (const u of c.units) {
      if (u.kind === 'common') continue;
      const key = c.points?.[u.meter];
      if (!key) continue;
      const device = key.split('/').slice(0, 2).join('/');
      if (!building.has(device)) out.add(device);
    }
  return out;
}
