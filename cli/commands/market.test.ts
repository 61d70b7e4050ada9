import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../../app/testing.js';
import { MarketRepository, migrateMarket } from '../../market/repository.js';
import { fixtureService, fixtureSites, MemoryExecutor } from '../../market/service.fixtures.js';
import { openStore, type Store } from '../../store/index.js';
import { Hub } from '../../stream/index.js';
import { addRoleUsers, ROLE_USERS } from '../../testkit/users.js';
import { buildProgram, reportError } from '../program.js';
import { runCli } from '../testing.js';

const H = 3_600_000;
// The market's clock: a real server in this process, its "now" fixed so the figures are known.
const T0 = Date.UTC(2026, 10, 23, 10);
const iso = (ms: number) => new Date(ms).toISOString();

let store: Store;
let app: FastifyInstance;
let url: string;
let repo: MarketRepository;
let executor: MemoryExecutor;
// Bids are sold before the hour (beforeAll), the activations run inside it.
let clock = T0 - 30 * 60_000;
const tokens = {} as Record<'operator' | 'readonly' | 'manager', string>;

beforeAll(async () => {
  store = await openStore({ dataDir: 'memory://' });
  await migrateMarket(store);
  repo = new MarketRepository(store.db);
  executor = new MemoryExecutor(() => clock);
  const market = await fixtureService({ repo, executor, now: () => clock });
  app = await buildApp({ store, hub: new Hub(), sites: fixtureSites, version: 'test', market });
  const auth = await addRoleUsers(store);
  tokens.operator = (await auth.createToken(ROLE_USERS.operator.username, 'cli', false)).token;
  tokens.readonly = (await auth.createToken(ROLE_USERS.operator.username, 'ro', true)).token;
  tokens.manager = (await auth.createToken(ROLE_USERS.manager.username, 'cli', false)).token;
  url = await app.listen({ port: 0, host: '127.0.0.1' });
  // Sell the first quarter-hour of mFRR (1000 kW) so that activations have an obligation.
  const { bids } = await market.buildBids(
    'alpine',
    'mfrr',
    { fromMs: T0, toMs: T0 + H },
    { kind: 'fixed', priceCentsPerMwh: 900 },
  );
  await market.accept('alpine', 'mfrr', [{ bidId: bids[0]!.id }]);
  clock = T0 + 60_000;
});
afterAll(async () => {
  await app?.close();
  await store?.close();
});

/** `gridflex market <command>` against the test server with `token`, then these flags. */
const marketAs = (command: string, token: string, ...flags: string[]) =>
  market([command, '--url', url, '--token', token, ...flags]);

/** Run `gridflex market …` in this process as main.ts does; stdout, stderr and the exit code. */
async function market(args: string[], env: Record<string, string | undefined> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(`${a.join(' ')}\n`));
  const error = vi.spyOn(console, 'error').mockImplementation((...a) => void err.push(`${a.join(' ')}\n`));
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out.push(String(chunk));
    return true;
  });
  const saved = { ...process.env };
  Object.assign(process.env, env);
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k];
  process.exitCode = undefined;
  let code = 0;
  try {
    const program = await buildProgram('market');
    await program.parseAsync(['node', 'gridflex', 'market', ...args]);
    code = Number(process.exitCode ?? 0);
  } catch (e) {
    code = reportError(e);
  } finally {
    process.exitCode = undefined;
    process.env = saved;
    log.mockRestore();
    error.mockRestore();
    write.mockRestore();
  }
  return { code, stdout: out.join(''), stderr: err.join('') };
}

const hourFlags = ['--from', iso(T0), '--to', iso(T0 + H)];

describe('gridflex market', () => {
  it('prints availability per slot for the only portfolio the token sees, with the token from the environment', async () => {
    const r = await market(['availability', '--url', url, '--product', 'mfrr', ...hourFlags], {
      GRIDFLEX_TOKEN: tokens.operator,
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('alpine · mfrr · kW still available (UTC)');
    // 1400 kW of fans less the 1000 kW sold in the first quarter-hour; mFRR is up only, so
    // there is no "down" column.
    expect(lines[1]).toBe('slot start              up kW');
    expect(lines.slice(2)).toEqual([
      '2026-11-23T10:00Z      400.0',
      '2026-11-23T10:15Z     1400.0',
      '2026-11-23T10:30Z     1400.0',
      '2026-11-23T10:45Z     1400.0',
    ]);
    const json = await marketAs('availability', tokens.operator, '--product', 'mfrr', '--json', ...hourFlags);
    expect(JSON.parse(json.stdout).slots).toHaveLength(4);
  });

  it('names the bad flag and exits 2 without calling the server', async () => {
    const before = await repo.counts();
    const cases: [string[], string][] = [
      [['activate', '--product', 'mfrr', '--kw', 'lots', '--duration', '10m'], '--kw: expected kW'],
      [
        ['activate', '--product', 'mfrr', '--kw', '100', '--duration', '10 minutes'],
        '--duration: expected a duration',
      ],
      [['availability', '--product', 'mfrr', '--from', 'today'], '--from: expected an ISO 8601 time'],
      [
        ['availability', '--product', 'mfrr', '--from', iso(T0 + H), '--to', iso(T0)],
        '--to: must be after --from',
      ],
      [['report', '--period', '2026-13'], '--period: expected a day'],
    ];
    for (const [args, message] of cases) {
      const r = await market([...args, '--url', url, '--token', tokens.operator]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(message);
    }
    const noToken = await market(['availability', '--url', url, '--product', 'mfrr'], {
      GRIDFLEX_TOKEN: undefined,
    });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain('--token: an API token is needed');
    expect(await repo.counts()).toEqual(before);
  });

  it('activates once per id: a retry with the same --id does nothing again, a different body is refused', async () => {
    const args = ['activate', '--url', url, '--token', tokens.operator, '--product', 'mfrr'];
    const first = await market([...args, '--kw', '800', '--duration', '10m', '--id', 'cli-1']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('activation cli-1: active');
    expect(first.stdout).toContain('bern: 457.143 kW');
    const again = await market([...args, '--kw', '800', '--duration', '10m', '--id', 'cli-1']);
    expect(again.stdout).toContain('activation already posted (nothing done again) cli-1: active');
    expect(executor.plans.size).toBe(1);

    const before = await repo.counts();
    const conflict = await market([...args, '--kw', '900', '--duration', '10m', '--id', 'cli-1']);
    expect(conflict.code).toBe(2);
    expect(conflict.stderr).toContain('already exists with a different request');
    const over = await market([...args, '--kw', '5000', '--duration', '10m', '--id', 'cli-2']);
    expect(over.code).toBe(2);
    expect(over.stderr).toContain('kw: 5000 kW is more than the 1000 kW held');
    const oneKw = ['--product', 'mfrr', '--kw', '1', '--duration', '10m'];
    const readOnly = await marketAs('activate', tokens.readonly, ...oneKw);
    expect(readOnly.code).toBe(2);
    expect(readOnly.stderr).toContain('create a token with --write');
    const wrongRole = await marketAs('activate', tokens.manager, '--portfolio', 'alpine', ...oneKw);
    expect(wrongRole.code).toBe(2);
    const otherPortfolio = await market([...args, '--portfolio', 'nordic', '--kw', '1', '--duration', '10m']);
    expect(otherPortfolio.code).toBe(2);
    expect(otherPortfolio.stderr).toContain('no portfolio');
    expect(await repo.counts()).toEqual(before);
  });

  it('builds bids (a re-post only with --replace), lists them, accepts with --yes, and cancels an activation', async () => {
    const conn = ['--url', url, '--token', tokens.operator];
    const next = ['--from', iso(T0 + H), '--to', iso(T0 + 2 * H)];
    const build = ['bids', ...conn, ...next, '--build', '--product', 'mfrr', '--price', '900'];
    const built = await market(build);
    expect(built.stderr).toBe('');
    expect(built.stdout).toContain('alpine · mfrr · 4 bids stored');
    expect(built.stdout).toContain('mfrr:2026-11-23T11:00:00.000Z:0     1000.0 kW  version 1');
    const again = await market(build);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('post again with replace: true');
    const replaced = await market([...build, '--replace']);
    expect(replaced.stdout).toContain('mfrr:2026-11-23T11:00:00.000Z:0     1000.0 kW  version 2');

    const before = await repo.counts();
    const unconfirmed = await market([
      'accept',
      ...conn,
      '--product',
      'mfrr',
      '--bid',
      'mfrr:2026-11-23T11:00:00.000Z:0',
    ]);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toContain('--yes');
    expect(await repo.counts()).toEqual(before);
    const accepted = await market([
      'accept',
      ...conn,
      '--product',
      'mfrr',
      '--bid',
      'mfrr:2026-11-23T11:15:00.000Z:0=1000',
      '--yes',
    ]);
    expect(accepted.stderr).toBe('');
    expect(accepted.stdout.trim()).toBe('accepted mfrr:2026-11-23T11:15:00.000Z:0: 1000 kW at 900 c/MWh');
    const listed = await market(['bids', ...conn, ...next]);
    expect(listed.stdout).toContain('mfrr:2026-11-23T11:15:00.000Z:0     1000.0 kW  900 c/MWh  v2  accepted');
    expect(listed.stdout).toContain('obligation mfrr:2026-11-23T11:15:00.000Z:0: 1000 kW held');

    // cli-1 takes 800 of the 1000 kW held now; the rest can run, and be cancelled (twice: harmless).
    await market([
      'activate',
      ...conn,
      '--product',
      'mfrr',
      '--kw',
      '200',
      '--duration',
      '5m',
      '--id',
      'cli-3',
    ]);
    const cancelled = await market(['cancel', ...conn, '--id', 'cli-3']);
    expect(cancelled.stdout.trim()).toBe('activation cli-3: restoring');
    expect((await market(['cancel', ...conn, '--id', 'cli-3'])).stdout.trim()).toBe(
      'activation cli-3: restoring',
    );
    const unknown = await market(['cancel', ...conn, '--id', 'nope']);
    expect(unknown.code).toBe(2);
  });

  it('downloads the delivery report of a period as CSV and JSON', async () => {
    clock = T0 + 11 * 60_000;
    const made = await app.inject({
      method: 'POST',
      url: '/api/portfolios/alpine/events/cli-1/report',
      headers: { authorization: `Bearer ${tokens.operator}` },
    });
    expect(made.statusCode).toBe(201);
    const dir = await mkdtemp(join(tmpdir(), 'gfx-market-'));
    const out = join(dir, 'report.csv');
    const csv = await marketAs('report', tokens.operator, '--period', '2026-11-23', '--out', out);
    expect(csv.code).toBe(0);
    const lines = (await readFile(out, 'utf8')).trim().split('\r\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toContain('deliveredWh');
    expect(lines.slice(1).map((l) => l.split(',')[2])).toEqual(['bern', 'basel', 'portfolio']);
    const json = await marketAs('report', tokens.operator, '--period', '2026-11', '--format', 'json');
    expect(JSON.parse(json.stdout).rows).toHaveLength(3);
    const empty = await marketAs('report', tokens.operator, '--period', '2026-11-22');
    expect(empty.stdout.trim().split('\r\n')).toHaveLength(1);
  });

  it('says clearly when the server cannot be reached, and runs as the real command', async () => {
    const down = await market([
      'availability',
      '--url',
      'http://127.0.0.1:9',
      '--token',
      tokens.operator,
      '--product',
      'mfrr',
    ]);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('cannot reach http://127.0.0.1:9');
    // Once through bin/gridflex.mjs (a child process from source: slow on a loaded machine).
    const real = await runCli(['market', 'availability', '--url', url, '--product', 'mfrr', ...hourFlags], {
      GRIDFLEX_TOKEN: tokens.operator,
    });
    expect(real.stderr).not.toMatch(/gridflex:/);
    expect(real.code).toBe(0);
    expect(real.stdout).toContain('2026-11-23T10:00Z      400.0');
  }, 120_000);
});
