/**
 * Gateway polling throughput: N simulated SDM630 meters (16 points each, 1 s poll) on
 * loopback, served by a separate process so the CPU figure is the gateway's alone. Each N
 * runs twice in the same session: merged reads (the planner) and one request per point
 * (the peer: what a naive poller does), and the ratio is printed.
 *
 *   npx tsx bench/gateway.ts [--devices 10,100,500] [--seconds 5]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Gateway, GatewayConfigSchema } from '../gateway/index.js';
import { freePort, sdm630Image, startModbusTcp } from '../gateway/testing.js';
import { Hub } from '../stream/index.js';

const { values: args } = parseArgs({
  options: {
    devices: { type: 'string', default: '10,100,500' },
    seconds: { type: 'string', default: '5' },
    serve: { type: 'string' },
    'base-port': { type: 'string' },
  },
});

const POINTS = [
  'voltage_l1',
  'voltage_l2',
  'voltage_l3',
  'current_l1',
  'current_l2',
  'current_l3',
  'power_l1',
  'power_l2',
  'power_l3',
  'power',
  'apparent_power',
  'reactive_power',
  'power_factor',
  'frequency',
  'energy_import',
  'energy_export',
];
const KIND: Record<string, string> = {
  voltage: 'voltage',
  current: 'current',
  power: 'active_power',
  apparent_power: 'status',
  reactive_power: 'reactive_power',
  power_factor: 'power_factor',
  frequency: 'frequency',
  energy_import: 'energy_import',
  energy_export: 'energy_export',
};
const kindOf = (p: string) => KIND[p] ?? KIND[p.replace(/_l\d$/, '')]!;

if (args.serve) {
  // Child: serve N meters on consecutive ports and report when ready.
  const n = Number(args.serve);
  const base = Number(args['base-port']);
  for (let i = 0; i < n; i++) await startModbusTcp(sdm630Image({ power: 1000 + i }), base + i);
  console.log('ready');
} else {
  const seconds = Number(args.seconds);
  const sizes = args.devices.split(',').map(Number);
  const max = Math.max(...sizes);
  const base = await pickBase(max);
  const child = await serve(max, base);
  try {
    console.log(
      `gateway polling, ${POINTS.length} points per meter, 1 s interval, ${seconds} s per run, loopback`,
    );
    console.log('| devices | mode | readings/s | requests/s | gateway CPU (% of one core) |');
    console.log('| --- | --- | --- | --- | --- |');
    for (const n of sizes) {
      const merged = await run(n, base, seconds, false);
      const single = await run(n, base, seconds, true);
      for (const [mode, r] of [
        ['merged', merged],
        ['one per point', single],
      ] as const)
        console.log(
          `| ${n} | ${mode} | ${r.readings.toFixed(0)} | ${r.requests.toFixed(0)} | ${r.cpu.toFixed(1)} |`,
        );
      // Per reading, so a mode that cannot keep up with the poll rate is not flattered.
      const perReading = (r: typeof merged, x: number) => x / Math.max(r.readings, 1e-9);
      console.log(
        `| ${n} | ratio | merged: ${(merged.readings / single.readings).toFixed(1)}× the readings/s | ${(perReading(single, single.requests) / perReading(merged, merged.requests)).toFixed(1)}× fewer requests per reading | ${(perReading(single, single.cpu) / perReading(merged, merged.cpu)).toFixed(1)}× less CPU per reading |`,
      );
    }
  } finally {
    child.kill('SIGTERM');
  }
}

async function pickBase(n: number): Promise<number> {
  // A block of ports above the ephemeral range start is usually free; check the first.
  const p = await freePort();
  return p > 60000 - n ? 20000 : p;
}

function serve(n: number, base: number): Promise<ChildProcess> {
  const self = fileURLToPath(import.meta.url);
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', self, '--serve', String(n), '--base-port', String(base)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      if (String(d).includes('ready')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`device server exited with ${code}`)));
  });
}

async function run(n: number, base: number, seconds: number, oneRequestPerPoint: boolean) {
  const cfg = GatewayConfigSchema.parse({
    site: 'bench',
    pollInterval: '1s',
    devices: Array.from({ length: n }, (_, i) => ({
      id: `m${i}`,
      protocol: 'modbus',
      profile: 'sdm630',
      oneRequestPerPoint,
      connection: { transport: 'tcp', host: '127.0.0.1', port: base + i, timeoutMs: 5000 },
      points: POINTS.map((id) => ({ id, kind: kindOf(id) })),
    })),
  });
  const hub = new Hub();
  let readings = 0;
  hub.readings$.subscribe(() => {
    readings += 1;
  });
  const gw = new Gateway(cfg, hub);
  await gw.pollOnce(); // connect every device outside the timing
  const requests0 = gw.status().reduce((s, d) => s + d.requests, 0);
  readings = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  gw.start();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const requests = gw.status().reduce((s, d) => s + d.requests, 0) - requests0;
  const got = readings;
  await gw.stop();
  return {
    readings: got / elapsed,
    requests: requests / elapsed,
    cpu: ((cpu.user + cpu.system) / 1e6 / elapsed) * 100,
  };
}
