import { type AppContext, type AppOptions, buildApp as buildServerApp } from '../server/index.js';
import { serverModules } from './server-modules.js';

/**
 * `buildApp` for tests: the context without `modules` gets the same module services
 * `gridflex run` gives the server (app/server-modules.ts), built on the context's store.
 */
export async function buildApp(
  ctx: Omit<AppContext, 'modules'> & Partial<Pick<AppContext, 'modules'>>,
  options?: AppOptions,
): ReturnType<typeof buildServerApp> {
  return buildServerApp({ ...ctx, modules: ctx.modules ?? (await serverModules(ctx.store)) }, options);
}
