import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { pointKey, type Site, unitOf } from '../../model/index.js';
import { covers } from '../auth/identity.js';
import type { AppContext } from '../context.js';
import { visibility } from '../privacy.js';
import type { Services } from '../services.js';

const PointSummarySchema = z.object({
  key: z.string(),
  id: z.string(),
  name: z.string().optional(),
  kind: z.string(),
  unit: z.string(),
  writable: z.boolean(),
});

/** Sites as a user sees them: no connection secrets, points with their store keys. */
export const SiteSummarySchema = z.object({
  id: z.string(),
  name: z.string(),
  location: z.object({ lat: z.number(), lon: z.number() }),
  timezone: z.string(),
  grid: z.object({ importLimitKw: z.number(), exportLimitKw: z.number() }),
  buildings: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      kind: z.string(),
      devices: z.array(
        z.object({
          id: z.string(),
          name: z.string().optional(),
          protocol: z.string(),
          profile: z.string(),
          points: z.array(PointSummarySchema),
        }),
      ),
      assets: z.array(z.object({ id: z.string(), name: z.string().optional(), type: z.string() })),
    }),
  ),
});
export type SiteSummary = z.infer<typeof SiteSummarySchema>;

/** A site as listed; `shows` keeps the points the caller may see (devices left without any are left out). */
export function summariseSite(site: Site, shows: (key: string) => boolean = () => true): SiteSummary {
  return {
    id: site.id,
    name: site.name,
    location: site.location,
    timezone: site.timezone,
    grid: { importLimitKw: site.grid.importLimitKw, exportLimitKw: site.grid.exportLimitKw },
    buildings: site.buildings.map((b) => ({
      id: b.id,
      name: b.name,
      kind: b.kind,
      devices: b.devices.flatMap((d) => {
        const points = d.points
          .filter((p) => shows(pointKey(site.id, d.id, p.id)))
          .map((p) => ({
            key: pointKey(site.id, d.id, p.id),
            id: p.id,
            name: p.name,
            kind: p.kind,
            unit: unitOf(p),
            writable: p.writable,
          }));
        if (points.length === 0 && d.points.length > 0) return [];
        return [{ id: d.id, name: d.name, protocol: d.protocol, profile: d.profile, points }];
      }),
      assets: b.assets.map((a) => ({ id: a.id, name: a.name, type: a.type })),
    })),
  };
}

/** Only the sites the caller's grants cover are listed. */
export function siteRoutes(ctx: AppContext, s: Services): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/api/sites',
      {
        config: { access: { roles: ['admin', 'manager', 'operator'] } },
        schema: {
          summary: 'Sites, their buildings, devices, points and flexible assets',
          tags: ['sites'],
          response: { 200: z.object({ sites: z.array(SiteSummarySchema) }) },
        },
      },
      async (req) => {
        const visible: Site[] = [];
        for (const site of ctx.sites) {
          if (await covers(req.identity!, 'site', site.id, s.scopes)) visible.push(site);
        }
        // Household meters are left out for managers and operators (server/privacy.ts); listing is not a look at data.
        return {
          sites: visible.map((site) =>
            summariseSite(site, (key) => visibility(ctx, req.identity!, key) !== 'hidden'),
          ),
        };
      },
    );
  };
}
