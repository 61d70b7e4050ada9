import { z } from 'zod';
import { AssetSchema } from './asset.js';
import { DeviceSchema } from './device.js';
import { IdSchema, PointKeySchema } from './ids.js';
import { type PointKind, type Unit, unitOf } from './point.js';

export const TimezoneSchema = z.string().refine(
  (tz) => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  },
  { message: 'expected an IANA time zone such as "Europe/Zurich"' },
);

export const LocationSchema = z.object({
  lat: z.number().min(-90).max(90),
  lon: z.number().min(-180).max(180),
});

/** The site's connection to the distribution grid, as contracted with the grid operator. */
export const GridConnectionSchema = z.object({
  importLimitKw: z.number().positive(),
  exportLimitKw: z.number().nonnegative(),
  /** Main fuse, for information; the import limit is what the controller respects. */
  fuseA: z.number().positive().optional(),
  /** The point measuring power at the connection (W, import positive), for the site's power flows. */
  measure: z.object({ power: PointKeySchema.optional() }).optional(),
});

export const BuildingKindSchema = z.enum([
  'school',
  'sports_hall',
  'office',
  'apartment_block',
  'retail',
  'industrial',
  'other',
]);

export const BuildingSchema = z.object({
  id: IdSchema,
  name: z.string().min(1),
  kind: BuildingKindSchema.default('other'),
  devices: z.array(DeviceSchema).default([]),
  assets: z.array(AssetSchema).default([]),
});
export type Building = z.infer<typeof BuildingSchema>;

export const SiteSchema = z
  .object({
    id: IdSchema,
    name: z.string().min(1),
    location: LocationSchema,
    timezone: TimezoneSchema,
    grid: GridConnectionSchema,
    buildings: z.array(BuildingSchema).default([]),
  })
  .superRefine((site, ctx) => {
    const ids = new Map<string, string>();
    site.buildings.forEach((b, bi) => {
      const claim = (id: string, path: (string | number)[], what: string) => {
        const prev = ids.get(`${what}:${id}`);
        if (prev)
          ctx.addIssue({ code: 'custom', path, message: `duplicate ${what} id "${id}" (also at ${prev})` });
        else ids.set(`${what}:${id}`, path.join('.'));
      };
      claim(b.id, ['buildings', bi, 'id'], 'building');
      for (const [di, d] of b.devices.entries())
        claim(d.id, ['buildings', bi, 'devices', di, 'id'], 'device');
      for (const [ai, a] of b.assets.entries()) claim(a.id, ['buildings', bi, 'assets', ai, 'id'], 'asset');
    });
  });
export type Site = z.infer<typeof SiteSchema>;

/** Key under which a device point's readings are stored and streamed. */
export function pointKey(siteId: string, deviceId: string, pointId: string): string {
  return `${siteId}/${deviceId}/${pointId}`;
}

/** Every configured point of the sites, with its store key and stored unit. */
export function listPoints(
  sites: readonly Site[],
): { key: string; kind: PointKind; unit: Unit; siteId: string; deviceId: string }[] {
  return sites.flatMap((site) =>
    site.buildings.flatMap((b) =>
      b.devices.flatMap((d) =>
        d.points.map((p) => ({
          key: pointKey(site.id, d.id, p.id),
          kind: p.kind,
          unit: unitOf(p),
          siteId: site.id,
          deviceId: d.id,
        })),
      ),
    ),
  );
}

/**
 * The grid-meter rule, once: the points measuring a site's grid connection (W, import
 * positive). The site's `grid.measure.power` when declared; else the active-power points of
 * devices named `grid-meter` or `<building>-grid-meter` (the sites file's and the simulator's
 * naming), one per meter (its `power`, else its first active-power point). The site's import is their sum.
 */
export function gridMeterPoints(site: Site): string[] {
  if (site.grid.measure?.power) return [site.grid.measure.power];
  return site.buildings.flatMap((b) =>
    b.devices
      .filter((d) => d.id === 'grid-meter' || d.id.endsWith('-grid-meter'))
      .flatMap((d) => {
        // The total (`power`) before per-phase points, which would count twice in the sum.
        const p =
          d.points.find((x) => x.kind === 'active_power' && x.id === 'power') ??
          d.points.find((x) => x.kind === 'active_power');
        return p ? [pointKey(site.id, d.id, p.id)] : [];
      }),
  );
}
