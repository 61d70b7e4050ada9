import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../config/load.js';
import { EdgeConfigSchema } from './edge.js';

const example = new URL('../uplink/edge.example.yaml', import.meta.url).pathname;

describe('edge file', () => {
  it('the example is a gateway file with an uplink section, defaults filled', async () => {
    const cfg = await loadConfigFile(EdgeConfigSchema, example);
    expect(cfg.site).toBe('site-a');
    expect(cfg.devices).toHaveLength(1);
    expect(cfg.uplink).toMatchObject({ tenant: 'acme', batchMs: 1000, window: 20, ackTimeoutMs: 10_000 });
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
