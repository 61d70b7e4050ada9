import { statSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { loadGatewayView } from '../../app/config.js';
import { browseOpcUa } from '../../gateway/index.js';
import { type OpcUaConnection, OpcUaConnectionSchema, ValidationError } from '../../model/index.js';
import { parseOptions } from '../args.js';

/**
 * `--pki <dir>`: the OPC UA client's certificate folder (own/ holds the client certificate, made
 * on first use; trusted/ and rejected/ the server certificates). It may not exist yet, but a
 * file there would make node-opcua fail much later with an unclear error.
 */
export const PkiOptionSchema = z
  .string()
  .min(1, 'expected a folder')
  .refine(
    (dir) => statSync(dir, { throwIfNoEntry: false })?.isDirectory() ?? true,
    'expected a folder, not a file',
  );

export const BrowseOptionsSchema = z.object({
  opcua: z
    .string()
    .regex(/^opc\.tcp:\/\/[^/\s]+/, 'expected an OPC UA endpoint URL like opc.tcp://host:4840')
    .optional(),
  config: z.string().min(1).optional(),
  site: z.string().min(1).optional(),
  device: z.string().min(1).optional(),
  depth: z.string().regex(/^\d+$/, 'expected a whole number').transform(Number),
  securityMode: z.enum(['None', 'Sign', 'SignAndEncrypt']),
  securityPolicy: z.enum(['None', 'Basic256Sha256', 'Aes128_Sha256_RsaOaep', 'Aes256_Sha256_RsaPss']),
  pki: PkiOptionSchema.optional(),
});

/** The server to browse: `--opcua` with the security flags, or an OPC UA device of gridflex.yaml as configured. */
async function target(opts: z.output<typeof BrowseOptionsSchema>): Promise<OpcUaConnection> {
  if (opts.opcua)
    return OpcUaConnectionSchema.parse({
      endpointUrl: opts.opcua,
      securityMode: opts.securityMode,
      securityPolicy: opts.securityPolicy,
    });
  if (!opts.config || !opts.device)
    throw new ValidationError('invalid option for gridflex browse', [
      { path: '--opcua', message: 'give --opcua URL, or --config with --device', code: 'custom' },
    ]);
  const cfg = await loadGatewayView(opts.config, { site: opts.site, devices: [opts.device] });
  const d = cfg.devices[0]!;
  if (d.protocol !== 'opcua')
    throw new ValidationError('invalid option for gridflex browse', [
      { path: '--device', message: `${d.id} is not an OPC UA device`, code: 'custom' },
    ]);
  return d.connection;
}

export function register(program: Command): void {
  program
    .command('browse')
    .description('list the nodes of an OPC UA server below Objects (node id, class, browse name)')
    .option('--opcua <url>', 'endpoint URL, e.g. opc.tcp://192.168.1.50:4840')
    .option('--config <file>', 'or: the OPC UA device of gridflex.yaml given by --site and --device')
    .option('--site <id>', 'with --config: the site (needed when the file lists several)')
    .option('--device <id>', 'with --config: the OPC UA device (its endpoint, security and login)')
    .option('--depth <n>', 'how many levels below Objects', '3')
    .option('--security-mode <mode>', 'None, Sign or SignAndEncrypt', 'None')
    .option(
      '--security-policy <policy>',
      'None, Basic256Sha256, Aes128_Sha256_RsaOaep, Aes256_Sha256_RsaPss',
      'None',
    )
    .option('--pki <dir>', 'client PKI folder (default: a fresh temporary one)')
    .action(async (raw) => {
      const opts = parseOptions(BrowseOptionsSchema, raw, 'browse');
      const connection = await target(opts);
      const pkiDir = opts.pki ?? (await mkdtemp(join(tmpdir(), 'gridflex-pki-')));
      const nodes = await browseOpcUa(connection, opts.depth, { pkiDir });
      for (const n of nodes)
        console.log(`${'  '.repeat(n.depth)}${n.nodeId}  ${n.nodeClass}  ${n.browseName}`);
    });
}
