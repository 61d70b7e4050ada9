import type { FastifyRequest } from 'fastify';
import { FREQUENCY_RESPONSE_DEVICE, listPoints, type Site } from '../model/index.js';
import type { Identity } from './auth/identity.js';
import type { AppContext } from './context.js';
import { flowPoints } from './routes/devices.js';
import type { Services } from './services.js';

/**
 * Who sees which point (PRIVACY.md). A household's meter data are personal data:
 * - managers see building devices and aggregates, never a household meter (`householdDevices`);
 * - operators see only the site-level power flows of their sites (grid, PV, battery);
 * - admins see everything, and each look at a household meter is written to the audit log;
 * - residents reach their own data through the ledger routes, not through points.
 * Hidden points are answered as if they did not exist (404), like other scope refusals.
 */
export type Visibility = 'visible' | 'hidden' | 'audited';

export function isHousehold(ctx: AppContext, pointKey: string): boolean {
  const device = pointKey.split('/').slice(0, 2).join('/');
  return ctx.householdDevices?.has(device) ?? false;
}

export function visibility(ctx: AppContext, who: Identity, pointKey: string): Visibility {
  const household = isHousehold(ctx, pointKey);
  switch (who.role) {
    case 'admin':
      return household ? 'audited' : 'visible';
    case 'manager':
      return household ? 'hidden' : 'visible';
    case 'operator': {
      const site = ctx.sites.find((s) => s.id === pointKey.split('/')[0]);
      if (!site || household) return 'hidden';
      const flows = flowPoints(site);
      // The frequency-response proof (market/runtime/proof-log.ts) is the operator's to check.
      if (pointKey.split('/')[1] === FREQUENCY_RESPONSE_DEVICE) return 'visible';
      return [...flows.grid, ...flows.pv, ...flows.battery, ...flows.soc].includes(pointKey)
        ? 'visible'
        : 'hidden';
    }
    default:
      return 'hidden';
  }
}

/** The keys of a site's points the caller may see, and the household ones an admin's look touches. */
export function visiblePoints(
  ctx: AppContext,
  who: Identity,
  site: Site,
): { keys: string[]; audited: string[] } {
  const keys: string[] = [];
  const audited: string[] = [];
  for (const p of listPoints([site])) {
    const v = visibility(ctx, who, p.key);
    if (v === 'hidden') continue;
    keys.push(p.key);
    if (v === 'audited') audited.push(p.key);
  }
  return { keys, audited };
}

/** Record that someone looked at another person's data (`personal_data_access`). */
export async function auditAccess(
  s: Services,
  req: FastifyRequest,
  targets: readonly string[],
  details: Record<string, unknown>,
): Promise<void> {
  if (targets.length === 0) return;
  await s.audit.append({
    actor: req.identity?.username ?? null,
    action: 'personal_data_access',
    target: targets.length === 1 ? targets[0]! : `${targets[0]!.split('/')[0]}/*`,
    ip: req.ip,
    details: { ...details, points: targets, route: req.routeOptions.url },
  });
}
