import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { DevicePolicySchema, type SiteDevices } from '../../app/devices.js';
import { gridMeterPoints, IdSchema, PointKindSchema, QualitySchema, type Site } from '../../model/index.js';
import type { AppContext } from '../context.js';
import type { Services } from '../services.js';
import { siteOr404 } from './site-lookup.js';

/** Bodies are checked in the service, after the scope check (fastify validates first, which would tell an outsider more than 404). */
const LooseBodySchema = z.record(z.string(), z.unknown());

const TestResultSchema = z.object({
  points: z.array(
    z.object({
      point: z.string(),
      kind: z.string(),
      unit: z.string(),
      value: z.number().nullable(),
      quality: QualitySchema,
      ts: z.number().nullable(),
    }),
  ),
  errors: z.array(z.string()),
  unreachable: z.boolean(),
});

const SITE_SCOPE = { kind: 'site', param: 'site' } as const;
const MANAGERS = ['admin', 'manager'] as const;

/**
 * The points of a site's power flows, from the bindings in the sites file: the grid
 * connection's `measure.power`, and the PV and battery assets' `measure` points. A sites file
 * without a grid binding falls back to devices named `grid-meter` (the simulator's name).
 */
export function flowPoints(site: Site) {
  const assets = site.buildings.flatMap((b) => b.assets);
  const bound = (type: string, what: string) =>
    assets.flatMap((a) => (a.type === type && a.measure[what] ? [a.measure[what]] : []));
  return {
    // The one grid-meter rule (model/site.ts): the declared point, else each building's meter total.
    grid: gridMeterPoints(site),
    pv: bound('pv', 'power'),
    battery: bound('battery', 'power'),
    soc: bound('battery', 'soc'),
  };
}

/** Device management for managers: profiles, policy, connection test, save (`app/devices.ts`), flows. */
export function deviceRoutes(ctx: AppContext, s: Services, devices: SiteDevices): FastifyPluginAsyncZod {
  const siteOf = (id: string) => siteOr404(ctx, id);
  const actor = (req: FastifyRequest) => ({
    username: req.identity?.username ?? null,
    role: req.identity?.role ?? 'anonymous',
  });
  return async (app) => {
    app.get(
      '/api/profiles',
      {
        config: { access: { roles: [...MANAGERS] } },
        schema: {
          summary:
            'Built-in Modbus device profiles and their registers, and the point kinds a mapping may use',
          tags: ['devices'],
          response: {
            200: z.object({
              profiles: z.array(
                z.object({
                  id: z.string(),
                  registers: z.array(z.object({ name: z.string(), unit: z.string(), writable: z.boolean() })),
                }),
              ),
              pointKinds: z.array(PointKindSchema),
            }),
          },
        },
      },
      async () => ({
        profiles: Object.entries(ctx.modules.profiles).map(([id, p]) => ({
          id,
          registers: Object.entries(p.registers).map(([name, r]) => ({
            name,
            unit: r.unit ?? '',
            writable: r.writable,
          })),
        })),
        // Heartbeats are the gateway's own watchdog writes, configured in its file, not mapped here.
        pointKinds: PointKindSchema.options.filter((k) => k !== 'heartbeat'),
      }),
    );

    app.get(
      '/api/sites/:site/device-policy',
      {
        config: { access: { roles: [...MANAGERS], scope: SITE_SCOPE } },
        schema: {
          summary: "What the site's managers may configure over the API (null: nothing yet)",
          tags: ['devices'],
          params: z.object({ site: IdSchema }),
          response: { 200: z.object({ policy: DevicePolicySchema.nullable() }) },
        },
      },
      async (req) => ({ policy: await devices.policy(req.params.site) }),
    );

    app.put(
      '/api/sites/:site/device-policy',
      {
        config: { access: { roles: ['admin'], scope: SITE_SCOPE } },
        schema: {
          summary:
            "Set what the site's managers may configure: address ranges and ports, serial ports, writable kinds and limits, heartbeats (audited)",
          tags: ['devices'],
          params: z.object({ site: IdSchema }),
          body: LooseBodySchema.describe('{ networks, serialPorts, writes, heartbeat? }'),
          response: { 200: z.object({ policy: DevicePolicySchema }) },
        },
      },
      async (req) => ({
        policy: await devices.setPolicy(
          req.params.site,
          req.body,
          actor(req),
          (e) => s.audit.append(e),
          req.ip,
        ),
      }),
    );

    app.post(
      '/api/sites/:site/devices/test',
      {
        config: { access: { roles: [...MANAGERS], scope: SITE_SCOPE } },
        schema: {
          summary: 'Read a device once (not saved): each point with its value, unit and quality',
          tags: ['devices'],
          params: z.object({ site: IdSchema }),
          body: LooseBodySchema.describe('{ device, profiles? }'),
          response: { 200: TestResultSchema },
        },
      },
      async (req) => devices.test(req.params.site, req.body, actor(req)),
    );

    app.get(
      '/api/sites/:site/devices',
      {
        config: { access: { roles: [...MANAGERS], scope: SITE_SCOPE } },
        schema: {
          summary: 'Devices added or re-mapped over the API (OPC UA passwords left out)',
          tags: ['devices'],
          params: z.object({ site: IdSchema }),
        },
      },
      async (req) => ({ devices: await devices.list(req.params.site) }),
    );

    app.put(
      '/api/sites/:site/devices/:device',
      {
        config: { access: { roles: [...MANAGERS], scope: SITE_SCOPE } },
        schema: {
          summary:
            "Save a device (new or re-mapped) within the site's device policy, audited with old and new address and limits, and start polling it",
          tags: ['devices'],
          params: z.object({ site: IdSchema, device: IdSchema }),
          body: LooseBodySchema.describe('{ device, building, profiles? }'),
          response: {
            200: z.object({ device: z.string(), polling: z.boolean(), points: z.array(z.string()) }),
          },
        },
      },
      async (req) =>
        devices.save(
          req.params.site,
          req.params.device,
          req.body,
          actor(req),
          (e) => s.audit.append(e),
          req.ip,
        ),
    );

    app.get(
      '/api/sites/:site/flows',
      {
        config: { access: { roles: ['admin', 'manager', 'operator'], scope: SITE_SCOPE } },
        schema: {
          summary: "The points of a site's power flows (grid meters, PV and battery by asset binding)",
          tags: ['devices'],
          params: z.object({ site: IdSchema }),
          response: {
            200: z.object({
              grid: z.array(z.string()),
              pv: z.array(z.string()),
              battery: z.array(z.string()),
              soc: z.array(z.string()),
            }),
          },
        },
      },
      async (req) => flowPoints(siteOf(req.params.site)),
    );
  };
}
