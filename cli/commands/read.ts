import { resolve } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { loadGatewayView } from '../../app/config.js';
import { Gateway, type GatewayConfig } from '../../gateway/index.js';
import { GridflexError, type Reading, unitOf } from '../../model/index.js';
import { Hub } from '../../stream/index.js';
import { parseOptions } from '../args.js';
import { CLI_ERRORS } from '../errors.js';
import { stopOnSignals } from '../signals.js';
import { PkiOptionSchema } from './browse.js';

export const ReadOptionsSchema = z.object({
  config: z.string().min(1),
  site: z.string().min(1).optional(),
  device: z.array(z.string().min(1)).optional(),
  once: z.boolean().default(false),
  pki: PkiOptionSchema.optional(),
});

/** One JSON line per reading: `{device, point, ts, value, unit, quality}`. */
export function readingLines(cfg: GatewayConfig, readings: readonly Reading[]): string[] {
  const units = new Map<string, string>();
  for (const d of cfg.devices) for (const p of d.points) units.set(`${cfg.site}/${d.id}/${p.id}`, unitOf(p));
  return readings.map((r) => {
    const [, device, point] = r.pointId.split('/');
    return JSON.stringify({
      device,
      point,
      ts: new Date(r.ts).toISOString(),
      value: r.value,
      unit: units.get(r.pointId) ?? '',
      quality: r.quality,
    });
  });
}

export function register(program: Command): void {
  program
    .command('read')
    .description('read every point of the configured devices and print one JSON line per point')
    .requiredOption('--config <file>', 'gridflex.yaml (or an older gateway file)')
    .option('--site <id>', 'the site to read (needed when the file lists several)')
    .option('--device <id...>', 'only these devices')
    .option('--once', 'poll each device once and exit (non-zero when a device is unreachable)')
    .option('--pki <dir>', 'OPC UA client certificate folder (default: node-opcua per-user folder)')
    .action(async (raw) => {
      const opts = parseOptions(ReadOptionsSchema, raw, 'read');
      const cfg = await loadGatewayView(opts.config, { site: opts.site, devices: opts.device });
      const hub = new Hub();
      const gw = new Gateway(cfg, hub, opts.pki ? { opcua: { pkiDir: resolve(opts.pki) } } : {});
      if (!opts.once) {
        hub.readings$.subscribe((r) => console.log(readingLines(cfg, [r])[0]));
        gw.start();
        stopOnSignals(
          () => gw.stop(),
          (line) => console.error(line),
        );
        return;
      }
      const out = await gw.pollOnce().finally(() => gw.stop());
      for (const line of readingLines(cfg, out.readings)) console.log(line);
      for (const e of out.errors) console.error(`gridflex: ${e}`);
      if (out.unreachable) {
        const down = gw.status().filter((s) => s.state === 'unreachable');
        throw new GridflexError(
          CLI_ERRORS.GW_UNREACHABLE,
          `${down.length} of ${cfg.devices.length} devices unreachable: ${down.map((s) => s.lastError ?? `${s.device}: no answer`).join('; ')}`,
        );
      }
    });
}
