import { z } from 'zod';

/** Who may call what. See server/README.md for what each role sees. */
export const RoleSchema = z.enum(['admin', 'manager', 'operator', 'resident', 'board']);
export type Role = z.infer<typeof RoleSchema>;
