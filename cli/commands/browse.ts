import { statSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { browseOpcUa } from '../../gateway/index.js';
import { OpcUaConnectionSchema } from '../../model/index.js';
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
    .regex(/^opc\.tcp:\/\/[^/\s]+/, 'expected an OPC UA endpoint URL like opc.tcp://host:4840'),
  depth: z.string().regex(/^\d+$/, 'expected a whole number').transform(Number),
  securityMode: z.enum(['None', 'Sign', 'SignAndEncrypt']),
  securityPolicy: z.enum(['None', 'Basic256Sha256', 'Aes128_Sha256_RsaOaep', 'Aes256_Sha256_RsaPss']),
  pki: PkiOptionSchema.optional(),
});

export function register(program: Command): void {
  program
    .command('browse')
    .description('list the nodes of an OPC UA server below Objects (node id, class, browse name)')
    .requiredOption('--opcua <url>', 'endpoint URL, e.g. opc.tcp://192.168.1.50:4840')
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
      const connection = OpcUaConnectionSchema.parse({
        endpointUrl: opts.opcua,
        securityMode: opts.securityMode,
        securityPolicy: opts.securityPolicy,
      });
      const pkiDir = opts.pki ?? (await mkdtemp(join(tmpdir(), 'gridflex-pki-')));
      const nodes = await browseOpcUa(connection, opts.depth, { pkiDir });
      for (const n of nodes)
        console.log(`${'  '.repeat(n.depth)}${n.nodeId}  ${n.nodeClass}  ${n.browseName}`);
    });
}
