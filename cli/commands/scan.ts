import type { Command } from 'commander';
import { stringify } from 'yaml';
import { z } from 'zod';
import { loadGatewayView } from '../../app/config.js';
import { decodeSunSpecString, discoverSunSpec, ModbusLink, SUNSPEC_MODELS } from '../../gateway/index.js';
import { GridflexError, ValidationError } from '../../model/index.js';
import { parseOptions } from '../args.js';
import { CLI_ERRORS } from '../errors.js';

export const ScanOptionsSchema = z.object({
  config: z.string().min(1).optional(),
  site: z.string().min(1).optional(),
  device: z.string().min(1).optional(),
  modbus: z
    .string()
    .regex(/^[^:\s]+:\d{1,5}$/, 'expected HOST:PORT, e.g. 192.168.1.20:502')
    .transform((s) => {
      const i = s.lastIndexOf(':');
      return { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
    })
    .optional(),
  unit: z
    .string()
    .regex(/^\d{1,3}$/, 'expected a unit id from 0 to 255')
    .transform(Number)
    .refine((n) => n <= 255, 'expected a unit id from 0 to 255'),
  timeout: z.string().regex(/^\d+$/, 'expected milliseconds').transform(Number),
});

/** Which point kinds the stub suggests for SunSpec names. */
const KIND: Record<string, string> = {
  W: 'active_power',
  Hz: 'frequency',
  PhVphA: 'voltage',
  A: 'current',
  TotWhImp: 'energy_import',
  TotWhExp: 'energy_export',
  WH: 'energy_export',
  SoC: 'state_of_charge',
  ChaState: 'state_of_charge',
};

/** The address to scan: `--modbus` (and `--unit`), or a Modbus TCP device of gridflex.yaml. */
async function target(opts: z.output<typeof ScanOptionsSchema>): Promise<{ host: string; port: number }> {
  if (opts.modbus) return opts.modbus;
  if (!opts.config || !opts.device)
    throw new ValidationError('invalid option for gridflex scan', [
      { path: '--modbus', message: 'give --modbus HOST:PORT, or --config with --device', code: 'custom' },
    ]);
  const cfg = await loadGatewayView(opts.config, { site: opts.site, devices: [opts.device] });
  const d = cfg.devices[0]!;
  if (d.protocol !== 'modbus' || d.connection.transport !== 'tcp')
    throw new ValidationError('invalid option for gridflex scan', [
      { path: '--device', message: `${d.id} is not a Modbus TCP device`, code: 'custom' },
    ]);
  opts.unit = d.connection.unitId;
  return { host: d.connection.host, port: d.connection.port };
}

export function register(program: Command): void {
  program
    .command('scan')
    .description('discover the SunSpec models of a Modbus device and print a gateway config stub')
    .option('--modbus <host:port>', 'Modbus TCP address of the device')
    .option('--unit <n>', 'Modbus unit id', '1')
    .option('--config <file>', 'or: the device of gridflex.yaml given by --site and --device')
    .option('--site <id>', 'with --config: the site (needed when the file lists several)')
    .option('--device <id>', 'with --config: the Modbus TCP device to scan')
    .option('--timeout <ms>', 'answer timeout per request', '2000')
    .action(async (raw) => {
      const opts = parseOptions(ScanOptionsSchema, raw, 'scan');
      const { host, port } = await target(opts);
      const link = new ModbusLink({
        transport: 'tcp',
        host,
        port,
        unitId: opts.unit,
        timeoutMs: opts.timeout,
      });
      try {
        const read = (a: number, n: number) => link.read(opts.unit, 'holding', a, n);
        const map = await discoverSunSpec(read);
        if (!map)
          throw new GridflexError(
            CLI_ERRORS.GW_NO_SUNSPEC,
            `no SunSpec map at ${host}:${port} unit ${opts.unit} (no "SunS" at 40000, 0 or 50000)`,
          );
        const common = map.models.find((m) => m.id === 1);
        let identity = '';
        if (common && common.length >= 65) {
          const words = await read(common.address + 2, 64);
          const mn = decodeSunSpecString(words.slice(0, 16));
          const md = decodeSunSpecString(words.slice(16, 32));
          const sn = decodeSunSpecString(words.slice(48, 64));
          identity = `${mn} ${md}${sn ? ` (serial ${sn})` : ''}`.trim();
        }
        const points: Record<string, unknown>[] = [];
        const used = new Set<string>();
        for (const m of map.models) {
          const def = SUNSPEC_MODELS[m.id];
          if (!def || m.id === 1) continue;
          for (const name of Object.keys(def.points)) {
            const kind = KIND[name];
            if (!kind) continue;
            let id = `${name.toLowerCase()}`;
            if (used.has(id)) id = `${id}-${m.id}`;
            used.add(id);
            points.push({ id, kind, register: `${m.id}.${name}` });
          }
        }
        const models = map.models.map(
          (m) =>
            `${m.id} ${SUNSPEC_MODELS[m.id]?.name ?? '(not known to Gridflex)'} at ${m.address}, L=${m.length}`,
        );
        console.log(
          `# SunSpec map at ${map.base} on ${host}:${port} unit ${opts.unit}${identity ? `: ${identity}` : ''}`,
        );
        for (const line of models) console.log(`#   model ${line}`);
        console.log(
          stringify({
            site: 'my-site',
            devices: [
              {
                id: 'sunspec-device',
                protocol: 'modbus',
                profile: 'sunspec',
                connection: { transport: 'tcp', host, port, unitId: opts.unit },
                points,
              },
            ],
          }),
        );
      } finally {
        await link.close();
      }
    });
}
