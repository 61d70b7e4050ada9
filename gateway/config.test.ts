import { describe, expect, it } from 'vitest';
import { validateConfig } from '../config/load.js';
import { ValidationError } from '../model/index.js';
import { GatewayConfigSchema } from './config.js';

const device = (over: Record<string, unknown> = {}) => ({
  id: 'meter',
  protocol: 'modbus',
  profile: 'sdm630',
  connection: { transport: 'tcp', host: '10.0.0.5' },
  points: [{ id: 'power', kind: 'active_power' }],
  ...over,
});

function issues(cfg: unknown): string[] {
  try {
    validateConfig(GatewayConfigSchema, cfg, 'gateway.yaml');
  } catch (err) {
    if (err instanceof ValidationError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  return [];
}

describe('gateway configuration', () => {
  it('accepts a minimal file and fills defaults', () => {
    const cfg = GatewayConfigSchema.parse({ site: 'bern', devices: [device()] });
    expect(cfg.pollInterval).toBe(5000);
    const d = cfg.devices[0]!;
    expect(d.protocol === 'modbus' && d.connection).toMatchObject({ port: 502, unitId: 1, timeoutMs: 2000 });
    expect(d.points[0]).toMatchObject({ deadband: 0, maxSilence: 300_000, minWriteInterval: 5000 });
  });

  it.each([
    [
      { devices: [device({ profile: 'sdm999' })] },
      /devices\[0\]\.profile: unknown profile "sdm999" \(known: sdm630, em24, abb-b23, umg604, sunspec\)/,
    ],
    [
      { devices: [device({ points: [{ id: 'powr', kind: 'active_power' }] })] },
      /devices\[0\]\.points\[0\]\.id: profile "sdm630" has no register "powr"/,
    ],
    [
      { devices: [device({ connection: { transport: 'tcp', host: 'x', port: '502' } })] },
      /devices\[0\]\.connection\.port: .*expected number/,
    ],
    [
      { devices: [device({ points: [{ id: 'power', kind: 'active_power', unit: 'kW' }] })] },
      /devices\[0\]\.points\[0\]\.unit/,
    ],
    [
      {
        devices: [
          device({ points: [{ id: 'power', kind: 'active_power', writable: true, min: 0, max: 1 }] }),
        ],
      },
      /devices\[0\]\.points\[0\]\.writable: register "power" is not writable/,
    ],
    [
      {
        devices: [
          device({
            points: [
              {
                id: 'x',
                kind: 'setpoint',
                unit: 'W',
                writable: true,
                register: { address: 1, writable: true },
              },
            ],
          }),
        ],
      },
      /devices\[0\]\.points\[0\]\.min: a writable point needs both min and max/,
    ],
    [
      {
        devices: [
          device({ profile: 'sunspec', points: [{ id: 'p', kind: 'active_power', register: '999.W' }] }),
        ],
      },
      /devices\[0\]\.points\[0\]\.register: expected a SunSpec point like "203.W"/,
    ],
    [
      {
        devices: [
          device({ points: [{ id: 'c', kind: 'status', register: { address: 1, function: 'coil' } }] }),
        ],
      },
      /devices\[0\]\.points\[0\]\.register\.type: coil tables hold single bits/,
    ],
    [
      { devices: [device({ points: [{ id: 'c', kind: 'status', register: { address: 40001 * 2 } }] })] },
      /register\.address: .*65535/,
    ],
    [{ devices: [device(), device()] }, /devices\[1\]\.id: duplicate device id "meter"/],
    [
      {
        devices: [
          {
            id: 'bms',
            protocol: 'opcua',
            connection: { endpointUrl: 'opc.tcp://h:4840', securityMode: 'SignAndEncrypt' },
            points: [{ id: 't', kind: 'temperature', nodeId: 'ns=1;s=T' }],
          },
        ],
      },
      /devices\[0\]\.connection\.securityPolicy: securityMode None goes with securityPolicy None/,
    ],
    [
      { devices: [device({ heartbeat: { point: 'power', interval: '10s' } })] },
      /devices\[0\]\.heartbeat\.point: heartbeat point "power" must be one of the device's writable points/,
    ],
    [
      { devices: [device()], profiles: { m: { registers: { a: { address: 1, scale: 0 } } } } },
      /profiles\.m\.registers\.a\.scale: scale 0/,
    ],
    [
      { devices: [device({ points: [{ id: 'power', kind: 'active_power', deadbandPercent: 1 }] })] },
      /devices\[0\]\.points\[0\]\.deadbandPercent: deadbandPercent is for OPC UA points/,
    ],
    [
      {
        devices: [
          {
            id: 'bms',
            protocol: 'opcua',
            connection: { endpointUrl: 'opc.tcp://h:4840' },
            points: [{ id: 't', kind: 'temperature', nodeId: 'ns=1;s=T', deadband: 0.5, deadbandPercent: 1 }],
          },
        ],
      },
      /devices\[0\]\.points\[0\]\.deadbandPercent: give deadband \(absolute\) or deadbandPercent, not both/,
    ],
    [
      {
        devices: [
          {
            id: 'bms',
            protocol: 'opcua',
            connection: { endpointUrl: 'opc.tcp://h:4840' },
            points: [{ id: 't', kind: 'temperature', nodeId: 'ns=1;s=T', deadbandPercent: 150 }],
          },
        ],
      },
      /devices\[0\]\.points\[0\]\.deadbandPercent: Too big: expected number to be <=100/,
    ],
  ])('rejects %j naming the path', (partial, message) => {
    const found = issues({ site: 'bern', ...partial });
    expect(found.join('\n')).toMatch(message);
  });
});
