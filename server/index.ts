export { type AccessRule, type Role, RoleSchema } from './access.js';
export { type AppOptions, buildApp } from './app.js';
export type { AppContext } from './context.js';
export type { ErrorBody } from './errors.js';
