import type { Command } from 'commander';
import { z } from 'zod';
import { onStoreOrRunning, sendLedgerRequest } from '../../app/control.js';
import { type VerifyRequest, verifyLedger } from '../../app/ledger-requests.js';
import { parseOptions } from '../args.js';

export const VerifyOptionsSchema = z.object({
  data: z.string().min(1),
  checkpoint: z
    .string()
    .regex(/^\d+:[0-9a-f]{64}$/, 'expected SEQ:HASH as printed on a bill')
    .transform((s) => ({ seq: Number(s.split(':')[0]), hash: s.split(':')[1]! }))
    .optional(),
  publicKey: z
    .string()
    .regex(/^[A-Za-z0-9_-]{43}$/, 'the community public key as printed on a bill (43 characters)')
    .optional(),
});

export function register(program: Command): void {
  const ledger = program.command('ledger').description('the tamper-evident billing ledger');
  ledger
    .command('verify')
    .description('recompute the hash chain and name the first entry that was changed, removed or reordered')
    .option(
      '--data <dir>',
      'embedded database folder unless DATABASE_URL is set',
      process.env.GRIDFLEX_DATA ?? './data',
    )
    .option(
      '--checkpoint <seq:hash>',
      'a checkpoint printed on a bill: also proves nothing after it was cut off',
    )
    .option(
      '--public-key <key>',
      'trust only this community key (as printed on a bill) instead of the key folder <data>/ledger-keys',
    )
    .action(async (raw) => {
      const opts = parseOptions(VerifyOptionsSchema, raw, 'ledger verify');
      const req: VerifyRequest = {
        op: 'verify',
        ...(opts.checkpoint ? { checkpoint: opts.checkpoint } : {}),
        ...(opts.publicKey ? { publicKey: opts.publicKey } : {}),
      };
      // While `gridflex run` holds the embedded database, it verifies (its control socket).
      const result = await onStoreOrRunning(
        { url: process.env.DATABASE_URL, dataDir: opts.data },
        (store) => verifyLedger(store, opts.data, req),
        async () => (await sendLedgerRequest(opts.data, req)).result,
      );
      if (result.ok) {
        console.log(
          `ledger OK: ${result.entries} entries${result.head ? `, head ${result.head.seq}:${result.head.hash}` : ''}; ${result.seals} signed checkpoints${result.unsealedRuns ? `, ${result.unsealedRuns} runs from before signing` : ''}`,
        );
      } else {
        console.log(`ledger BROKEN at entry ${result.firstBroken}: ${result.reason}`);
        process.exitCode = 1;
      }
    });
  for (const sub of ledger.commands) sub.exitOverride();
}
