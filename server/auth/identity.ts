import { z } from 'zod';
import { type Role, RoleSchema } from './roles.js';

export const GrantKindSchema = z.enum(['site', 'portfolio', 'market', 'unit', 'community']);
export type GrantKind = z.infer<typeof GrantKindSchema>;

/** One thing a user may see: a site, a portfolio or market, a unit (flat), a community. */
export const GrantSchema = z.object({
  kind: GrantKindSchema,
  ref: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'use lower-case letters, digits, - and _'),
});
export type Grant = z.infer<typeof GrantSchema>;

/** `site:zev-bern` on the command line and in the UI. */
export function parseGrant(text: string): Grant {
  const [kind, ...rest] = text.split(':');
  return GrantSchema.parse({ kind, ref: rest.join(':') });
}
export const formatGrant = (g: Grant) => `${g.kind}:${g.ref}`;

/**
 * Which grants each role may hold. Admins need none (they see everything); a resident holds
 * exactly one unit and a board exactly one community, so neither can be widened by mistake.
 */
export const GRANT_RULES: Record<Role, { kinds: readonly GrantKind[]; exactlyOne: boolean }> = {
  admin: { kinds: [], exactlyOne: false },
  manager: { kinds: ['site'], exactlyOne: false },
  operator: { kinds: ['portfolio', 'market', 'site'], exactlyOne: false },
  resident: { kinds: ['unit'], exactlyOne: true },
  board: { kinds: ['community'], exactlyOne: true },
};

/** The grants that fit the role, or a message saying what is wrong. */
export function checkGrants(role: Role, grants: readonly Grant[]): string | null {
  const rule = GRANT_RULES[role];
  const wrong = grants.find((g) => !rule.kinds.includes(g.kind));
  if (wrong) {
    return rule.kinds.length === 0
      ? `an ${role} sees everything and takes no grants (got ${formatGrant(wrong)})`
      : `a ${role} may be granted ${rule.kinds.join(', ')} only (got ${formatGrant(wrong)})`;
  }
  if (rule.exactlyOne && grants.length !== 1) return `a ${role} needs exactly one ${rule.kinds[0]} grant`;
  return null;
}

/** Who is calling: a logged-in person (session cookie) or a machine (API token). */
export const IdentitySchema = z.object({
  userId: z.number(),
  username: z.string(),
  displayName: z.string().nullable(),
  role: RoleSchema,
  grants: z.array(GrantSchema),
  via: z.enum(['session', 'token']),
  /** Read-only API tokens cannot make state-changing requests. */
  readOnly: z.boolean(),
});
export type Identity = z.infer<typeof IdentitySchema>;

/**
 * Relations the server cannot know by itself (which community a unit belongs to, which sites
 * make up a portfolio). The ledger and market modules supply them when they land; until then
 * a board reaches units only through this resolver, and a portfolio grant reaches no site.
 */
export interface ScopeResolver {
  communityOfUnit?(unit: string): Promise<string | null>;
  sitesOfPortfolio?(portfolio: string): Promise<string[]>;
}

/** Whether the identity's grants cover one object. Admins are covered everywhere. */
export async function covers(
  who: Identity,
  kind: GrantKind,
  ref: string,
  resolver: ScopeResolver = {},
): Promise<boolean> {
  if (who.role === 'admin') return true;
  if (who.grants.some((g) => g.kind === kind && g.ref === ref)) return true;
  if (kind === 'unit' && resolver.communityOfUnit) {
    const communities = who.grants.filter((g) => g.kind === 'community').map((g) => g.ref);
    if (communities.length > 0) {
      const community = await resolver.communityOfUnit(ref);
      if (community !== null && communities.includes(community)) return true;
    }
  }
  if (kind === 'site' && resolver.sitesOfPortfolio) {
    for (const g of who.grants) {
      if (g.kind === 'portfolio' && (await resolver.sitesOfPortfolio(g.ref)).includes(ref)) return true;
    }
  }
  return false;
}
