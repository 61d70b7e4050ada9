import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfigFile } from '../config/load.js';
import { EdgeConfigSchema } from './edge.js';

const example = new URL('../uplink/edge.example.yaml', import.meta.url).pathname;

describe('edge file', () => {
  it('the example is a gateway file with an uplink section, defaults filled', async () => {
    const cfg = await loadConfigFile(EdgeConfigSchema, example);
    expect(cfg.site).toBe('site-a');
    expect(cfg.devices).toHaveLength(2);
    expect(cfg.uplink).toMatchObject({ tenant: 'acme', batchMs: 1000, window: 20, ackTimeoutMs: 10_000 });
    expect(cfg.uplink.fallback).toEqual({ 'battery/mode': 0 });
  });

  it('a fallback names a writable point of the edge, or the field is named', async () => {
    const cfg = parse(await readFile(example, 'utf8')) as { uplink: object };
    const issues = (fallback: Record<string, number>) =>
      EdgeConfigSchema.safeParse({ ...cfg, uplink: { ...cfg.uplink, fallback } }).error?.issues.map(
        (i) => `${i.path.join('.')}: ${i.message}`,
      );
    expect(issues({ 'battery/mode': 0, 'battery/charge_rate': 0 })).toBeUndefined();
    expect(issues({ 'meter/power': 0 })).toEqual([
      'uplink.fallback.meter/power: point "meter/power" is not writable',
    ]);
    expect(issues({ 'boiler/mode': 0 })).toEqual([
      'uplink.fallback.boiler/mode: no point "boiler/mode" among the devices',
    ]);
    expect(issues({ mode: 0 })?.[0]).toMatch(/^uplink\.fallback\.mode: /);
  });

  it("assets bind points of the edge's devices, named by their path in the edge file", async () => {
    const cfg = parse(await readFile(example, 'utf8')) as { assets: { control: Record<string, string> }[] };
    expect((await loadConfigFile(EdgeConfigSchema, example)).assets.map((a) => a.id)).toEqual(['battery']);
    const wrong = structuredClone(cfg);
    wrong.assets[0]!.control.mode = 'site-a/inverter/mode';
    const r = EdgeConfigSchema.safeParse(wrong);
    expect(r.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
      'assets.0.control.mode: "site-a/inverter/mode": no device "inverter" in site "site-a"',
    ]);
  });

  it('names the field when the broker is not an MQTT URL', () => {
    const r = EdgeConfigSchema.safeParse({
      site: 'a',
      devices: [
        {
          id: 'meter',
          protocol: 'modbus',
          profile: 'sdm630',
          connection: { transport: 'tcp', host: '10.0.0.5' },
          points: [{ id: 'power', kind: 'active_power' }],
        },
      ],
      uplink: { broker: 'http://x', tenant: 'acme' },
    });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.path.join('.'))).toContain('uplink.broker');
  });
});
