import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { z } from 'zod';
import { validateConfig } from '../../config/load.js';
import type { Scenario } from '../../sim/scenario.js';
import { PortOptionSchema, parseOptions } from '../args.js';
import { stopOnSignals } from '../signals.js';

export const SimOptionsSchema = z.object({
  scenario: z.string().min(1),
  speed: z
    .string()
    .regex(/^\d+(\.\d+)?$/, 'expected a positive number (simulated seconds per real second)')
    .transform(Number)
    .refine((n) => n > 0 && n <= 10_000, 'expected a speed from just above 0 to 10000'),
  seed: z
    .string()
    .regex(/^\d{1,10}$/, 'expected a non-negative integer')
    .transform(Number),
  host: z.string().min(1),
  portBase: PortOptionSchema.refine(
    (p) => p >= 1 && p <= 65534,
    'expected a port from 1 to 65534 (OPC UA uses the next one)',
  ),
  endpointsJson: z.string().min(1).optional(),
  pki: z.string().min(1),
  printGatewayConfig: z.boolean().default(false),
});

export function register(program: Command): void {
  program
    .command('sim')
    .description('run a simulated site whose devices answer over Modbus TCP and OPC UA')
    .requiredOption('--scenario <name|file>', 'lappeenranta, zev-bern, or a scenario YAML/JSON file')
    .option('--speed <x>', 'simulated seconds per real second', '1')
    .option('--seed <n>', 'random seed (same seed, same run)', '1')
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--port-base <p>', 'Modbus TCP port; OPC UA listens on the next one', '5020')
    .option('--endpoints-json <file>', 'also write the endpoint list as JSON to this file')
    .option(
      '--pki <dir>',
      'folder of the OPC UA server certificate',
      join(process.env.GRIDFLEX_DATA ?? './data', 'sim-pki'),
    )
    .option('--print-gateway-config', 'print a gateway file (YAML) for these endpoints and exit')
    .action(async (raw) => {
      const opts = parseOptions(SimOptionsSchema, raw, 'sim');
      // Loaded here so other commands do not pay for node-opcua's slow import.
      const { loadScenario } = await import('../../sim/scenario.js');
      if (opts.printGatewayConfig) {
        console.log(
          await gatewayConfigYaml(await loadScenario(opts.scenario), opts.host, opts.portBase, opts.seed),
        );
        return;
      }
      const { formatEndpoints, startSimulator } = await import('../../sim/runner.js');
      const scenario = await loadScenario(opts.scenario);
      const running = await startSimulator(scenario, {
        seed: opts.seed,
        speed: opts.speed,
        host: opts.host,
        portBase: opts.portBase,
        pkiDir: opts.pki,
        now: Date.now,
      });
      if (opts.endpointsJson) {
        const doc = {
          scenario: scenario.id,
          modbus: { host: opts.host, port: running.modbus.port },
          opcua: {
            endpointUrl: running.opcua.endpointUrl,
            username: scenario.opcua.username,
            password: scenario.opcua.password,
          },
          endpoints: running.endpoints,
        };
        await writeFile(opts.endpointsJson, `${JSON.stringify(doc, null, 2)}\n`);
      }
      console.log(`Simulating ${scenario.name} (seed ${opts.seed}, speed ×${opts.speed})`);
      console.log(formatEndpoints(running.endpoints));
      console.log(`OPC UA user: ${scenario.opcua.username} / ${scenario.opcua.password}`);
      console.log('Press Ctrl-C to stop.');
      stopOnSignals(
        () => running.stop(),
        (line) => console.log(line),
        'stopping the simulator',
      );
    });
}

/** The gateway file for a scenario's endpoints, checked against the gateway's own schema. */
async function gatewayConfigYaml(
  scenario: Scenario,
  host: string,
  portBase: number,
  seed: number,
): Promise<string> {
  const [{ plannedEndpoints }, { gatewayConfigFor }, { Simulation }, { GatewayConfigSchema }] =
    await Promise.all([
      import('../../sim/endpoints.js'),
      import('../../sim/gateway-config.js'),
      import('../../sim/physics/simulation.js'),
      import('../../gateway/index.js'),
    ]);
  const sim = new Simulation(scenario, { seed, startMs: 0 });
  const cfg = gatewayConfigFor(sim, plannedEndpoints(scenario, host, portBase));
  validateConfig(GatewayConfigSchema, cfg, `generated gateway file for ${scenario.id}`);
  return `# Gateway file for the simulated site ${scenario.id} (gridflex sim --print-gateway-config)\n${stringify(cfg)}`;
}

/**
 * The simulator `gridflex demo` runs beside the controller. It starts in the background after
 * the API is up; if it cannot (a port in use), the demo runs on without it and says why.
 */
export function startBackgroundSimulator(
  scenarioName: string,
  opts: { host: string; portBase: number; pkiDir: string },
  say: (line: string) => void,
): { stop(): Promise<void>; ready: Promise<void> } {
  let running: { stop(): Promise<void> } | null = null;
  let stopped = false;
  const ready = (async () => {
    const { loadScenario } = await import('../../sim/scenario.js');
    const { startSimulator } = await import('../../sim/runner.js');
    const scenario = await loadScenario(scenarioName);
    const sim = await startSimulator(scenario, { ...opts, seed: 1, speed: 1, now: Date.now });
    if (stopped) return sim.stop();
    running = sim;
    say(
      `  simulator: ${scenario.name}, Modbus ${opts.host}:${sim.modbus.port}, OPC UA ${sim.opcua.endpointUrl}`,
    );
  })().catch((err: unknown) => say(`  simulator not started: ${(err as Error).message}`));
  return {
    /** Settles once the simulator listens, or has failed to start (and said why). */
    ready: ready.then(() => undefined),
    async stop() {
      stopped = true;
      await running?.stop();
    },
  };
}
