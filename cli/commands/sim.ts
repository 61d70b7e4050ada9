import { type ChildProcess, fork } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { z } from 'zod';
import { validateConfig } from '../../config/load.js';
import { packageRoot } from '../../config/version.js';
import { GridflexError } from '../../model/index.js';
import type { Scenario } from '../../sim/scenario.js';
import { PortOptionSchema, parseOptions } from '../args.js';
import { CLI_ERRORS } from '../errors.js';
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
  start: z
    .string()
    .refine((v) => !Number.isNaN(Date.parse(v)), 'expected an ISO 8601 instant, e.g. 2026-11-18T07:00:00Z')
    .transform((v) => Date.parse(v))
    .optional(),
  endpointsJson: z.string().min(1).optional(),
  pki: z.string().min(1),
  printGatewayConfig: z.boolean().default(false),
  printConfig: z.boolean().default(false),
});

export function register(program: Command): void {
  program
    .command('sim')
    .description('run a simulated site whose devices answer over Modbus TCP and OPC UA')
    .requiredOption('--scenario <name|file>', 'lappeenranta, zev-bern, or a scenario YAML/JSON file')
    .option('--speed <x>', 'simulated seconds per real second', '1')
    .option('--seed <n>', 'random seed (same seed, same run)', '1')
    .option(
      '--start <iso>',
      "simulated start instant (e.g. a school morning for a night-time run); default: the scenario's start, else now",
    )
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--port-base <p>', 'Modbus TCP port; OPC UA listens on the next one', '5020')
    .option('--endpoints-json <file>', 'also write the endpoint list as JSON to this file')
    .option(
      '--pki <dir>',
      'folder of the OPC UA server certificate',
      join(process.env.GRIDFLEX_DATA ?? './data', 'sim-pki'),
    )
    .option('--print-gateway-config', 'print a gateway file (YAML) for these endpoints and exit')
    .option(
      '--print-config',
      'print a whole gridflex.yaml for `gridflex run` (sites, assets, devices, a portfolio) and exit',
    )
    .action(async (raw) => {
      const opts = parseOptions(SimOptionsSchema, raw, 'sim');
      // Started by the demo (startBackgroundSimulator, an IPC channel): it ends with the demo,
      // also while it is still starting (the channel may close before the servers listen).
      let stopWithParent: () => Promise<void> = async () => process.exit(0);
      if (process.send) process.once('disconnect', () => void stopWithParent());
      // Loaded here so other commands do not pay for node-opcua's slow import.
      const { loadScenario } = await import('../../sim/scenario.js');
      if (opts.printConfig) {
        console.log(
          await gridflexConfigYaml(await loadScenario(opts.scenario), opts.host, opts.portBase, opts.seed),
        );
        return;
      }
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
        ...(opts.start === undefined ? {} : { startMs: opts.start }),
        now: Date.now,
      }).catch((err: NodeJS.ErrnoException & { port?: number }) => {
        if (err.code !== 'EADDRINUSE') throw err;
        const port = err.port ?? opts.portBase;
        throw new GridflexError(
          CLI_ERRORS.SIM_PORT_IN_USE,
          `${opts.host}:${port} is already in use (another simulator running?); choose another --port-base (gridflex demo: --sim-port-base)`,
          { kind: 'internal', details: { host: opts.host, port } },
        );
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
      stopWithParent = () => running.stop().finally(() => process.exit(0));
      if (process.send) {
        if (!process.connected) return void stopWithParent();
        const ready: SimReady = {
          type: 'sim-ready',
          name: scenario.name,
          modbusPort: running.modbus.port,
          opcuaEndpoint: running.opcua.endpointUrl,
        };
        process.send(ready);
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
  const cfg = await gatewayFile(scenario, host, portBase, seed);
  return `# Gateway file for the simulated site ${scenario.id} (gridflex sim --print-gateway-config)\n${stringify(cfg)}`;
}

/**
 * A whole gridflex.yaml for the scenario: its sites file (sim/site-config.ts) merged with its
 * gateway file as `gridflex config convert` merges them, checked as `gridflex run` checks it.
 * The grid meters are read every second, the fans' power every 250 ms and the first meter's
 * frequency every 200 ms, so an FCR/FFR obligation is answered from a fresh frequency and proven on fresh
 * power.
 */
async function gridflexConfigYaml(
  scenario: Scenario,
  host: string,
  portBase: number,
  seed: number,
): Promise<string> {
  const [{ sitesFileFor }, { convertToGridflexConfig }, { gridflexConfigFrom }] = await Promise.all([
    import('../../sim/site-config.js'),
    import('../../app/convert.js'),
    import('../../app/config.js'),
  ]);
  const gateway = (await gatewayFile(scenario, host, portBase, seed)) as {
    devices: { id: string; points: Record<string, unknown>[] }[];
  };
  let first = true;
  for (const d of gateway.devices) {
    // The fans' own power, four times a second: the delivery of their response, unit by unit.
    if (d.id.endsWith('-bms')) {
      (d as Record<string, unknown>).publishingInterval = '250ms';
      for (const p of d.points) if (/^.+-\d+-power$/.test(String(p.id))) p.pollInterval = '250ms';
    }
    if (!d.id.endsWith('-grid-meter')) continue;
    for (const p of d.points) {
      if (p.kind === 'active_power') p.pollInterval = '1s';
      if (p.kind === 'frequency') p.pollInterval = first ? '200ms' : '1s';
    }
    first = false;
  }
  const { config } = convertToGridflexConfig(sitesFileFor(scenario), [gateway]);
  config.listen = { host: '127.0.0.1', port: 8080 };
  await gridflexConfigFrom(config, `generated gridflex.yaml for ${scenario.id}`);
  return [
    `# gridflex.yaml for the simulated site ${scenario.id} (gridflex sim --print-config).`,
    `# Start the simulator (gridflex sim --scenario ${scenario.id} --port-base ${portBase}), then`,
    '# gridflex run --config THIS_FILE. Fans are bound on their BMS speed setpoints; PV and',
    '# batteries are measured only. The portfolio offers the site to grid operators.',
    stringify(config),
  ].join('\n');
}

async function gatewayFile(
  scenario: Scenario,
  host: string,
  portBase: number,
  seed: number,
): Promise<Record<string, unknown>> {
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
  return cfg;
}

/** What a simulator started by `startBackgroundSimulator` tells its parent over IPC once it listens. */
export interface SimReady {
  type: 'sim-ready';
  name: string;
  modbusPort: number;
  opcuaEndpoint: string;
}

/** How long a stopped simulator child may take before it is killed, ms. */
const SIM_STOP_MS = 5_000;

/**
 * The simulator `gridflex demo` runs beside the controller, as its own `gridflex sim` process
 * forked by `start()` once the API answers: a simulated building is another machine, and its
 * start (node-opcua's address space, about a second of CPU) would otherwise take the CPU the
 * controller's own start needs. It dies with the demo: the IPC channel closes when the demo
 * exits, even by `kill -9`. If it cannot start (a port in use), the demo runs on without it
 * and says why.
 */
export function startBackgroundSimulator(
  scenarioName: string,
  opts: { host: string; portBase: number; pkiDir: string },
  say: (line: string) => void,
): { start(): Promise<void>; stop(): Promise<void> } {
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let ready: Promise<void> | null = null;
  const start = (): Promise<void> => {
    const c = fork(
      join(packageRoot(), 'bin', 'gridflex.mjs'),
      [
        'sim',
        '--scenario',
        scenarioName,
        '--host',
        opts.host,
        '--port-base',
        String(opts.portBase),
        '--pki',
        opts.pkiDir,
      ],
      // The parent's flags (a profiler, an inspector) are not the simulator's.
      { execArgv: [], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] },
    );
    child = c;
    let stderr = '';
    c.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-2_000);
    });
    exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    let settled = false;
    return new Promise<void>((done) => {
      const resolve = () => {
        settled = true;
        done();
      };
      c.on('message', (m: SimReady) => {
        if (m?.type !== 'sim-ready' || settled) return;
        say(`  simulator: ${m.name}, Modbus ${opts.host}:${m.modbusPort}, OPC UA ${m.opcuaEndpoint}`);
        resolve();
      });
      c.once('error', (err) => {
        if (settled) return;
        say(`  simulator not started: ${err.message}`);
        resolve();
      });
      void exited.then(() => {
        if (settled) return;
        // The child's own one-line reason (`gridflex: …`), else its last line.
        const lines = stderr.trim().split('\n');
        const why =
          lines.find((l) => l.startsWith('gridflex: ') && !l.includes('unexpected error')) ?? lines.pop();
        say(
          `  simulator not started: ${why?.replace(/^gridflex: /, '') || `exited with code ${c.exitCode}`}`,
        );
        resolve();
      });
    });
  };
  return {
    /** Forks the simulator; settles once it listens, or has failed to start (and said why). */
    start() {
      ready ??= start();
      return ready;
    },
    async stop() {
      const c = child as ChildProcess | null;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), SIM_STOP_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}
