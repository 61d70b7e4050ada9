import { z } from 'zod';
import { IdSchema } from './ids.js';
import { PointSchema } from './point.js';

const host = z.string().min(1);
const port = z.number().int().min(1).max(65535);

/** Modbus over TCP (MBAP framing), the usual switchboard gateway or inverter. */
export const ModbusTcpConnectionSchema = z.object({
  transport: z.literal('tcp'),
  host,
  port: port.default(502),
  unitId: z.number().int().min(0).max(255).default(1),
  timeoutMs: z.number().int().positive().default(2000),
});

/** Modbus RTU frames tunnelled over TCP, as serial-to-Ethernet converters do. */
export const ModbusRtuOverTcpConnectionSchema = z.object({
  transport: z.literal('rtu-over-tcp'),
  host,
  port,
  unitId: z.number().int().min(1).max(247).default(1),
  timeoutMs: z.number().int().positive().default(2000),
});

/** Modbus RTU on a local serial line (RS-485). */
export const ModbusRtuConnectionSchema = z.object({
  transport: z.literal('rtu'),
  path: z.string().min(1),
  baudRate: z.number().int().positive().default(9600),
  parity: z.enum(['none', 'even', 'odd']).default('none'),
  dataBits: z.union([z.literal(7), z.literal(8)]).default(8),
  stopBits: z.union([z.literal(1), z.literal(2)]).default(1),
  unitId: z.number().int().min(1).max(247).default(1),
  timeoutMs: z.number().int().positive().default(1000),
});

export const ModbusConnectionSchema = z.discriminatedUnion('transport', [
  ModbusTcpConnectionSchema,
  ModbusRtuOverTcpConnectionSchema,
  ModbusRtuConnectionSchema,
]);
export type ModbusConnection = z.infer<typeof ModbusConnectionSchema>;

export const OpcUaConnectionSchema = z.object({
  endpointUrl: z
    .string()
    .regex(/^opc\.tcp:\/\/[^/\s]+/, 'expected an OPC UA endpoint URL like opc.tcp://host:4840'),
  securityMode: z.enum(['None', 'Sign', 'SignAndEncrypt']).default('None'),
  securityPolicy: z
    .enum(['None', 'Basic256Sha256', 'Aes128_Sha256_RsaOaep', 'Aes256_Sha256_RsaPss'])
    .default('None'),
  auth: z
    .discriminatedUnion('type', [
      z.object({ type: z.literal('anonymous') }),
      z.object({ type: z.literal('username'), username: z.string().min(1), password: z.string() }),
      z.object({
        type: z.literal('certificate'),
        certificateFile: z.string().min(1),
        privateKeyFile: z.string().min(1),
      }),
    ])
    .default({ type: 'anonymous' }),
  timeoutMs: z.number().int().positive().default(5000),
});
export type OpcUaConnection = z.infer<typeof OpcUaConnectionSchema>;

const deviceBase = {
  id: IdSchema,
  name: z.string().min(1).optional(),
  /** A built-in or user profile name that maps points to registers or nodes (see gateway/). */
  profile: z.string().min(1),
  points: z.array(PointSchema).default([]),
};

export const DeviceSchema = z
  .discriminatedUnion('protocol', [
    z.object({ ...deviceBase, protocol: z.literal('modbus'), connection: ModbusConnectionSchema }),
    z.object({ ...deviceBase, protocol: z.literal('opcua'), connection: OpcUaConnectionSchema }),
  ])
  .superRefine((d, ctx) => {
    if (
      d.protocol === 'opcua' &&
      (d.connection.securityMode === 'None') !== (d.connection.securityPolicy === 'None')
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['connection', 'securityPolicy'],
        message:
          'securityMode None goes with securityPolicy None, and Sign/SignAndEncrypt need a real policy',
      });
    }
    const seen = new Set<string>();
    d.points.forEach((p, i) => {
      if (seen.has(p.id))
        ctx.addIssue({ code: 'custom', path: ['points', i, 'id'], message: `duplicate point id "${p.id}"` });
      seen.add(p.id);
    });
  });
export type Device = z.infer<typeof DeviceSchema>;
