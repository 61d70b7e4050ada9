import { type RunningSimulator, startSimulator } from '../sim/runner.js';
import { loadScenario } from '../sim/scenario.js';
import { freePortPair } from '../sim/testing.js';

/**
 * The demo's zev-bern simulator as `gridflex demo` runs it (seed 1, real time) on loopback
 * `portBase` (a free port pair unless given), its OPC UA certificates in `pkiDir`.
 */
export async function startZevBernSimulator(options: {
  pkiDir: string;
  portBase?: number;
}): Promise<RunningSimulator> {
  return startSimulator(await loadScenario('zev-bern'), {
    seed: 1,
    speed: 1,
    host: '127.0.0.1',
    portBase: options.portBase ?? (await freePortPair()),
    pkiDir: options.pkiDir,
    now: Date.now,
  });
}
