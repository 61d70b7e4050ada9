import { type Endpoint, plannedEndpoints } from './endpoints.js';
import { type ModbusServer, startModbusServer } from './modbus/server.js';
import { type SimOpcUaServer, startOpcUaServer } from './opcua/server.js';
import { Simulation } from './physics/simulation.js';
import type { Scenario } from './scenario.js';

export interface SimulatorOptions {
  seed: number;
  /** Simulated seconds per real second. */
  speed: number;
  host: string;
  /** Modbus TCP on portBase, OPC UA on portBase + 1. */
  portBase: number;
  pkiDir: string;
  /** Simulated start; default the scenario's `start`, else `nowMs`. */
  startMs?: number;
  /** Wall clock, injected so the caller owns time. */
  now: () => number;
  tickMs?: number;
}

export interface RunningSimulator {
  sim: Simulation;
  modbus: ModbusServer;
  opcua: SimOpcUaServer;
  endpoints: Endpoint[];
  stop(): Promise<void>;
}

/** Start a scenario's servers and advance its physics with the wall clock × speed. */
export async function startSimulator(scenario: Scenario, opts: SimulatorOptions): Promise<RunningSimulator> {
  const realStart = opts.now();
  const startMs = opts.startMs ?? (scenario.start ? Date.parse(scenario.start) : realStart);
  const sim = new Simulation(scenario, {
    seed: opts.seed,
    startMs,
    maxStepS: Math.max(1, Math.min(60, opts.speed / 4)),
  });
  const modbus = await startModbusServer(sim, { host: opts.host, port: opts.portBase });
  let opcua: SimOpcUaServer;
  try {
    opcua = await startOpcUaServer(sim, {
      host: opts.host,
      port: opts.portBase + 1,
      pkiDir: opts.pkiDir,
      username: scenario.opcua.username,
      password: scenario.opcua.password,
    });
  } catch (err) {
    await modbus.close();
    throw err;
  }
  const timer = setInterval(() => {
    sim.advanceTo(startMs + (opts.now() - realStart) * opts.speed);
  }, opts.tickMs ?? 250);
  const endpoints = plannedEndpoints(scenario, opts.host, opts.portBase);
  return {
    sim,
    modbus,
    opcua,
    endpoints,
    async stop() {
      clearInterval(timer);
      await Promise.allSettled([modbus.close(), opcua.close()]);
    },
  };
}

/** The endpoint table `gridflex sim` prints. */
export function formatEndpoints(endpoints: Endpoint[]): string {
  const rows = [
    ['building', 'device', 'protocol', 'address', 'unit / endpoint'],
    ...endpoints.map((e) => [
      e.building,
      e.device,
      e.protocol === 'modbus' ? `modbus ${e.profile}` : 'opcua',
      `${e.host}:${e.port}`,
      e.protocol === 'modbus' ? `unit ${e.unitId}` : (e.endpointUrl ?? ''),
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
