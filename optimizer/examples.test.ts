import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../cli/testing.js';
import { loadConfigFile } from '../config/load.js';
import { highsSolver, optimize, ProblemSchema } from './index.js';

const DIR = join(import.meta.dirname, 'examples');
const EXAMPLES = readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f));

/** The shipped examples (optimizer/examples/) are runnable as they are: issue #18. */
describe('optimizer examples', () => {
  it('ships at least one example', () => {
    expect(EXAMPLES.length).toBeGreaterThan(0);
  });

  it.each(EXAMPLES)('%s is a valid problem with an optimal plan that saves money', async (name) => {
    const problem = await loadConfigFile(ProblemSchema, join(DIR, name));
    const result = await optimize(problem, highsSolver);
    expect(result.status).toBe('optimal');
    expect(result.savings).toBeGreaterThan(0);
    // What the plan costs is what its own cost breakdown adds up to.
    expect(result.cost?.total).toBeCloseTo(result.objective!, 6);
  });

  it('runs as the README says: gridflex optimize --input optimizer/examples/apartment-block-day.yaml', async () => {
    const r = await runCli(['optimize', '--input', join(DIR, 'apartment-block-day.yaml')], {}, 120_000);
    expect(r.stderr).not.toMatch(/^gridflex: (?!running the TypeScript sources)/m);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.status).toBe('optimal');
    // The car gets its 24 kWh before it leaves.
    const car: number[] = out.schedule.assets.car.powerKw;
    expect(car.reduce((a, b) => a + b, 0)).toBeCloseTo(24, 6);
  }, 150_000);
});
