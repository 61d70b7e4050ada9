import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lpBattery } from '../../testkit/lp-problems.js';
import { runCli } from '../testing.js';

const dir = mkdtempSync(join(tmpdir(), 'gridflex-optimize-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const problem = {
  slotMinutes: 60,
  prices: { import: [0.1, 0.5], export: [0, 0] },
  baseLoadKw: [0, 2],
  pvKw: [0, 0],
  assets: [lpBattery()],
};

function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

describe('gridflex optimize', () => {
  it.each(['highs', 'jsl'])('prints the optimal plan as JSON (--solver %s)', async (solver) => {
    const r = await runCli(['optimize', '--input', file('ok.json', problem), '--solver', solver]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ status: 'optimal', solver });
    expect(out.objective).toBeCloseTo(0.2, 9);
    expect(out.baselineCost).toBeCloseTo(1, 9);
    expect(out.schedule.assets.b1.chargeKw[0]).toBeCloseTo(2, 9);
  });

  it('exits 2 naming the field when the problem is invalid', async () => {
    const bad = { ...problem, baseLoadKw: [0] };
    const r = await runCli(['optimize', '--input', file('bad.json', bad)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('baseLoadKw: expected 2 values, got 1');
    expect(r.stdout).toBe('');
  });

  it('exits 2 naming the flag for an unknown solver or a missing input', async () => {
    const r = await runCli(['optimize', '--input', file('ok2.json', problem), '--solver', 'cplex']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--solver: expected highs or jsl');
    const none = await runCli(['optimize']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('--input');
  });

  it('prints the diagnosis and exits 1 when no plan is feasible', async () => {
    const tight = { ...problem, grid: { importLimitKw: 1 }, assets: [] };
    const r = await runCli(['optimize', '--input', file('tight.json', tight)]);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.status).toBe('infeasible');
    expect(out.infeasibility).toMatchObject({ family: 'grid.import', slot: 1 });
    expect(r.stderr).toContain('the grid import limit (1 kW) cannot cover the site at slot 1');
  });
});
