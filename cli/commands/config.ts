import type { Command } from 'commander';
import { stringify } from 'yaml';
import { z } from 'zod';
import { gridflexConfigFrom, loadGridflexConfig } from '../../app/config.js';
import { convertToGridflexConfig } from '../../app/convert.js';
import { loadConfigFile } from '../../config/load.js';
import { parseOptions } from '../args.js';

const CheckSchema = z.object({ config: z.string().min(1) });
const ConvertSchema = z.object({
  sites: z.string().min(1).optional(),
  gateway: z.array(z.string().min(1)).default([]),
});

const Raw = z.record(z.string(), z.unknown());

export function register(program: Command): void {
  const config = program
    .command('config')
    .description('check gridflex.yaml, or convert the older sites and gateway files to it');
  config
    .command('check')
    .description('check gridflex.yaml as `gridflex run` would, naming each bad field; prints a summary')
    .requiredOption('--config <file>', 'gridflex.yaml')
    .action(async (raw) => {
      const opts = parseOptions(CheckSchema, raw, 'config check');
      const cfg = await loadGridflexConfig(opts.config);
      console.log(`${opts.config} is valid`);
      for (const { site, gateway } of cfg.sites)
        console.log(
          `  site ${site.id}: ${gateway?.devices.length ?? 0} devices, ${site.buildings.flatMap((b) => b.assets).length} assets`,
        );
      for (const p of cfg.market.portfolios) console.log(`  portfolio ${p.id}: ${p.sites.join(', ')}`);
      for (const c of cfg.ledger.communities) console.log(`  community ${c.id}: ${c.units.length} units`);
    });
  config
    .command('convert')
    .description(
      'print one gridflex.yaml made from a sites file and gateway files (check it with `config check`)',
    )
    .option('--sites <file>', 'sites file (model/config.ts format)')
    .option('--gateway <file...>', 'gateway files (gateway/config.ts format), one per site')
    .action(async (raw) => {
      const opts = parseOptions(ConvertSchema, raw, 'config convert');
      const sites = opts.sites ? await loadConfigFile(Raw, opts.sites) : null;
      const gateways = await Promise.all(opts.gateway.map((f) => loadConfigFile(Raw, f)));
      const { config: out, notes } = convertToGridflexConfig(sites, gateways);
      // Checked before it is printed: a file that `run` would refuse is not handed out as converted.
      await gridflexConfigFrom(out, opts.sites ?? opts.gateway[0] ?? 'gridflex.yaml');
      const from = [opts.sites, ...opts.gateway].filter(Boolean).join(', ');
      process.stdout.write(
        `# gridflex.yaml converted from ${from} (gridflex config convert)\n${stringify(out)}`,
      );
      for (const n of notes) console.error(`note: ${n}`);
    });
  for (const sub of config.commands) sub.exitOverride();
}
