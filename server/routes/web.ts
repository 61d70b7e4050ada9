import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * The web UI: plain ES modules from server/web (no build step) and uPlot from node_modules.
 * Only files present at startup are served, by exact name: no path ever reaches the disk.
 */
export async function webRoutes(): Promise<FastifyPluginAsyncZod> {
  const webDir = fileURLToPath(new URL('../web/', import.meta.url));
  const uplotDir = join(dirname(createRequire(import.meta.url).resolve('uplot')));
  const files = new Map<string, string>();
  for (const name of await readdir(webDir)) {
    if (TYPES[extname(name)] && !name.includes('.test.')) files.set(name, join(webDir, name));
  }
  files.set('vendor/uPlot.esm.js', join(uplotDir, 'uPlot.esm.js'));
  files.set('vendor/uPlot.min.css', join(uplotDir, 'uPlot.min.css'));
  const cache = new Map<string, Buffer>();
  const load = async (path: string) => {
    let body = cache.get(path);
    if (!body) {
      body = await readFile(path);
      cache.set(path, body);
    }
    return body;
  };

  return async (app) => {
    app.get('/', { config: { access: { public: true } }, schema: { hide: true } }, async (_req, reply) =>
      reply.type(TYPES['.html']!).send(await load(files.get('index.html')!)),
    );
    app.get(
      '/web/*',
      { config: { access: { public: true } }, schema: { hide: true, params: z.object({ '*': z.string() }) } },
      async (req, reply) => {
        const path = files.get(req.params['*']);
        if (!path) return reply.code(404).send({ error: 'GFX_NOT_FOUND', message: 'no such file' });
        return reply
          .type(TYPES[extname(path)] ?? 'application/octet-stream')
          .header('cache-control', 'no-cache')
          .send(await load(path));
      },
    );
  };
}
