import { z } from 'zod';
import { SiteSchema } from './site.js';

/** The sites file: what a deployment controls. Modules add their own files (gateway, ledger, market). */
export const SitesConfigSchema = z
  .object({
    sites: z.array(SiteSchema).min(1, 'list at least one site'),
  })
  .superRefine((cfg, ctx) => {
    const seen = new Set<string>();
    cfg.sites.forEach((s, i) => {
      if (seen.has(s.id))
        ctx.addIssue({ code: 'custom', path: ['sites', i, 'id'], message: `duplicate site id "${s.id}"` });
      seen.add(s.id);
    });
  });
export type SitesConfig = z.infer<typeof SitesConfigSchema>;
