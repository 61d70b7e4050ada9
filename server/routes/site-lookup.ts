import { GridflexError, MODEL_ERRORS, type Site } from '../../model/index.js';
import type { AppContext } from '../context.js';

/** Who may look at a site's operation (plan, savings, live readings): its staff, by site grant. */
export const SITE_STAFF_ACCESS = {
  roles: ['admin', 'manager', 'operator'],
  scope: { kind: 'site', param: 'site' },
} as const;

/** The configured site of that id, or a 404 naming it. */
export function siteOr404(ctx: Pick<AppContext, 'sites'>, id: string): Site {
  const site = ctx.sites.find((s) => s.id === id);
  if (!site) throw new GridflexError(MODEL_ERRORS.NOT_FOUND, `no site "${id}"`, { kind: 'not_found' });
  return site;
}
