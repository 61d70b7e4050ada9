import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../app/testing.js';
import { MarketRepository, migrateMarket } from '../market/repository.js';
import { fixtureService, fixtureSites, MemoryExecutor } from '../market/service.fixtures.js';
import { listPoints } from '../model/index.js';
import type { Store } from '../store/index.js';
import { announceSkip, testBackends } from '../store/testing.js';
import { Hub } from '../stream/index.js';
import { erasureService } from '../testkit/app.js';
import { addRoleUsers, ROLE_USERS } from '../testkit/users.js';

/** A JSON schema as the OpenAPI document at /docs/json gives it (the parts the generator reads). */
interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
}

/** Values that break naive handlers: huge, tiny, odd types, injection-looking text. */
const nasty = fc.constantFrom<unknown>(
  '',
  ' ',
  '0',
  '-1',
  '1e309',
  '99999999999999999999999',
  'NaN',
  'null',
  '../../etc/passwd',
  "'; DROP TABLE audit_log; --",
  '<script>alert(1)</script>',
  '\u0000',
  '%00',
  'x'.repeat(5000),
  -1,
  0,
  2 ** 53 + 1,
  -(2 ** 63),
  1e308,
  -0,
  true,
  null,
  [],
  {},
  { __proto__: { admin: true } },
);

/** A value of the schema (mostly valid), or something near it, or something else entirely. */
function arb(s: JsonSchema | undefined, depth = 0): fc.Arbitrary<unknown> {
  if (!s || depth > 4) return fc.jsonValue({ maxDepth: 2 });
  const valid = validArb(s, depth);
  return fc.oneof({ weight: 6, arbitrary: valid }, { weight: 1, arbitrary: nasty });
}

function validArb(s: JsonSchema, depth: number): fc.Arbitrary<unknown> {
  if (s.const !== undefined) return fc.constant(s.const);
  if (s.enum) return fc.constantFrom(...s.enum);
  const alts = s.anyOf ?? s.oneOf;
  if (alts) return fc.oneof(...alts.map((a) => arb(a, depth + 1)));
  if (s.allOf?.[0]) return arb(s.allOf[0], depth + 1);
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type;
  switch (type) {
    case 'string':
      if (s.pattern) {
        try {
          return fc.stringMatching(new RegExp(s.pattern)).filter((x) => x.length <= (s.maxLength ?? 10_000));
        } catch {
          return fc.string({ maxLength: s.maxLength ?? 50 });
        }
      }
      return fc.string({ minLength: s.minLength ?? 0, maxLength: Math.min(s.maxLength ?? 50, 200) });
    case 'integer':
      return fc.integer({
        min: Math.max(s.minimum ?? -1e6, Number.MIN_SAFE_INTEGER),
        max: Math.min(s.maximum ?? 1e6, Number.MAX_SAFE_INTEGER),
      });
    case 'number':
      return fc.double({
        min: s.minimum ?? s.exclusiveMinimum ?? -1e9,
        max: s.maximum ?? s.exclusiveMaximum ?? 1e9,
        noNaN: true,
      });
    case 'boolean':
      return fc.boolean();
    case 'array':
      return fc.array(arb(s.items, depth + 1), {
        minLength: s.minItems ?? 0,
        maxLength: Math.min(s.maxItems ?? 4, 4),
      });
    case 'object': {
      if (!s.properties) return fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }));
      const props = Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, arb(v, depth + 1)]));
      return fc.record(props, { requiredKeys: s.required ?? [] });
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** Known ids, so generated requests reach the handlers behind the scope checks, not only 404s. */
const KNOWN: Record<string, string[]> = {
  site: ['bern', 'basel'],
  portfolio: ['alpine', 'nordic'],
  unit: ['flat-1', 'flat-2'],
  community: ['bern'],
  device: ['meter', 'sub-meter', 'battery'],
  id: ['bern/meter/power', 'bern/grid-meter/power'],
};

/** A device a manager might send, to be mutated leaf by leaf. */
const EXAMPLE_DEVICE = {
  building: 'main',
  device: {
    id: 'sub-meter',
    protocol: 'modbus',
    profile: 'sdm630',
    connection: { transport: 'tcp', host: '127.0.0.1', port: 1, unitId: 1 },
    points: [{ id: 'power', kind: 'active_power' }],
  },
};

function mutate(value: unknown): fc.Arbitrary<unknown> {
  const paths: (string | number)[][] = [];
  const walk = (v: unknown, path: (string | number)[]) => {
    paths.push(path);
    if (v && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) walk(x, [...path, Array.isArray(v) ? Number(k) : k]);
  };
  walk(value, []);
  return fc
    .tuple(
      fc.constantFrom(...paths.filter((p) => p.length > 0)),
      fc.oneof(nasty, fc.jsonValue({ maxDepth: 1 })),
    )
    .map(([path, replacement]) => {
      const copy = structuredClone(value) as Record<string | number, unknown>;
      let at: Record<string | number, unknown> = copy;
      for (const key of path.slice(0, -1)) at = at[key] as Record<string | number, unknown>;
      at[path[path.length - 1]!] = replacement;
      return copy;
    });
}

interface Operation {
  method: string;
  path: string;
  params: { name: string; in: string; schema: JsonSchema }[];
  body: JsonSchema | null;
}

/** Streams never end by themselves; logout would end the caller's own session. */
const SKIPPED = [/\/live$/, /^\/api\/auth\/logout$/];

const ROLES = ['admin', 'manager', 'operator', 'resident', 'board'] as const;

/**
 * Tables whose content a refused request must leave as it was: all but the audit log (it
 * records refusals) and the tokens (`last_used_at` moves with every use, by design).
 */
async function digest(store: Store): Promise<string> {
  const tables = (
    await store.db.query<{ t: string }>(
      `SELECT table_name AS t FROM information_schema.tables
       WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
         AND table_name NOT IN ('audit_log', 'schema_migrations', 'auth_tokens') ORDER BY 1`,
    )
  ).rows.map((r) => r.t);
  const parts = await Promise.all(
    tables.map(
      async (t) =>
        `${t}:${
          (
            await store.db.query<{ h: string | null }>(
              `SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) AS h FROM "${t}" x`,
            )
          ).rows[0]?.h
        }`,
    ),
  );
  return parts.join('\n');
}

// API fuzzing on the embedded store and the PostgreSQL server (TimescaleDB adds nothing at the HTTP edge).
for (const backend of testBackends.filter((b) => b.name !== 'pglite-timescale')) {
  announceSkip(backend, 'API fuzz');
  describe.skipIf(backend.skipReason)(`the API under generated requests (${backend.name})`, () => {
    let store: Store;
    let app: FastifyInstance;
    let operations: Operation[];
    const bearer = {} as Record<(typeof ROLES)[number], string>;

    beforeAll(async () => {
      store = await backend.open();
      await migrateMarket(store);
      const executor = new MemoryExecutor(() => Date.UTC(2026, 10, 23, 10));
      const hub = new Hub();
      const market = await fixtureService({
        repo: new MarketRepository(store.db),
        executor,
        now: () => Date.UTC(2026, 10, 23, 10),
        publish: (u) => hub.publish('market', u),
      });
      // Bern gets a building with a meter, so device and readings requests reach their handlers.
      const sites = structuredClone(fixtureSites);
      sites[0]!.buildings.push({
        id: 'main',
        name: 'Main',
        kind: 'school',
        assets: [],
        devices: [
          {
            id: 'meter',
            protocol: 'modbus',
            profile: 'sdm630',
            connection: { transport: 'tcp', host: '127.0.0.1', port: 5020, unitId: 1, timeoutMs: 2000 },
            points: [{ id: 'power', kind: 'active_power', writable: false }],
          },
        ],
      });
      await store.readings.describePoints(listPoints(sites));
      // Erasure wired like `run` wires it (no community here: a resident's erasure finds nothing
      // to delete), so its route is reached rather than answering 503 "not available".
      app = await buildApp({
        store,
        hub,
        sites,
        version: 'test',
        market,
        erasure: erasureService(store, []),
      });
      const users = await addRoleUsers(store);
      for (const role of ROLES)
        bearer[role] = `Bearer ${(await users.createToken(ROLE_USERS[role].username, 'fuzz', false)).token}`;
      const doc = (await app.inject('/docs/json')).json() as {
        paths: Record<
          string,
          Record<
            string,
            {
              parameters?: Operation['params'];
              requestBody?: { content?: Record<string, { schema: JsonSchema }> };
            }
          >
        >;
      };
      operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.entries(ops).map(([method, op]) => ({
          method: method.toUpperCase(),
          path,
          params: op.parameters ?? [],
          body: op.requestBody?.content?.['application/json']?.schema ?? null,
        })),
      );
      expect(operations.length).toBeGreaterThan(25);
    }, 120_000);
    afterAll(async () => {
      await app?.close();
      await store?.close();
    });

    const requestArb = () =>
      fc.constantFrom(...operations.filter((o) => !SKIPPED.some((re) => re.test(o.path)))).chain((op) => {
        const pathParams = op.params.filter((p) => p.in === 'path');
        const queryParams = op.params.filter((p) => p.in === 'query');
        const body =
          op.body === null
            ? fc.constant(undefined)
            : op.path.includes('/devices')
              ? fc.oneof(mutate(EXAMPLE_DEVICE), arb(op.body))
              : fc.oneof({ weight: 4, arbitrary: arb(op.body) }, { weight: 1, arbitrary: nasty });
        return fc.record({
          op: fc.constant(op),
          role: fc.constantFrom(...ROLES),
          path: fc.tuple(
            ...pathParams.map((p) =>
              fc.oneof(
                { weight: 3, arbitrary: fc.constantFrom(...(KNOWN[p.name] ?? ['x'])) },
                { weight: 1, arbitrary: arb(p.schema).map(String) },
              ),
            ),
          ),
          query: fc.record(
            Object.fromEntries(
              queryParams.map((p) => [
                p.name,
                fc.oneof(arb(p.schema).map(String), fc.string({ maxLength: 30 }), nasty.map(String)),
              ]),
            ),
            { requiredKeys: [] },
          ),
          body,
        });
      });

    it('answers every generated request below 500, and a refused change changes nothing', async () => {
      const seen = new Map<string, number>();
      await fc.assert(
        fc.asyncProperty(requestArb(), async (r) => {
          let url = r.op.path;
          r.op.params
            .filter((p) => p.in === 'path')
            .forEach((p, i) => {
              url = url.replace(`{${p.name}}`, encodeURIComponent(String(r.path[i])));
            });
          const mutating = r.op.method !== 'GET';
          const before = mutating ? await digest(store) : '';
          const res = await app.inject({
            method: r.op.method as 'GET',
            url,
            query: r.query as Record<string, string>,
            headers: {
              authorization: bearer[r.role],
              ...(r.body !== undefined ? { 'content-type': 'application/json' } : {}),
            },
            ...(r.body !== undefined ? { payload: JSON.stringify(r.body) } : {}),
          });
          const key = `${r.op.method} ${r.op.path} ${res.statusCode}`;
          seen.set(key, (seen.get(key) ?? 0) + 1);
          // 503 is the one 5xx a healthy server gives: no Chromium for a PDF.
          const allowed =
            res.statusCode < 500 || (res.statusCode === 503 && res.json().error === 'GFX_LEDGER_PDF');
          expect(
            allowed,
            `${r.op.method} ${url} ${JSON.stringify(r.query)} ${JSON.stringify(r.body)?.slice(0, 300)} → ${res.statusCode} ${res.body.slice(0, 300)}`,
          ).toBe(true);
          if (mutating && res.statusCode >= 400)
            expect(await digest(store), `${r.op.method} ${url} → ${res.statusCode} changed the store`).toBe(
              before,
            );
        }),
        { numRuns: backend.name === 'postgres' ? 150 : 300 },
      );
      // The generator reaches past the access checks: some requests of each kind succeed or fail on content.
      const statuses = new Set([...seen.keys()].map((k) => Number(k.split(' ').pop())));
      expect([...statuses].some((s) => s >= 200 && s < 300)).toBe(true);
      expect(statuses.has(400)).toBe(true);
    }, 600_000);
  });
}
