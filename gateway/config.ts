import { z } from 'zod';
import {
  DeviceSchema,
  DurationSchema,
  IdSchema,
  issuesFromZod,
  ModbusConnectionSchema,
  OpcUaConnectionSchema,
  PointSchema,
  type Site,
} from '../model/index.js';
import { BUILTIN_PROFILES, DISCOVERED_PROFILES } from './profiles.js';
import { type Profile, ProfileSchema, type Register, RegisterSchema } from './register-map.js';
import { parseSunSpecRef } from './sunspec.js';

/** What the gateway adds to a model point: where it lives on the device and how it is polled. */
const GatewayPointExtraSchema = z.object({
  /**
   * Modbus: a register name of the device's profile (default: the point id), a SunSpec
   * reference `"203.W"` for `profile: sunspec`, or an inline register.
   */
  register: z.union([z.string().min(1), RegisterSchema]).optional(),
  /** OPC UA node id, e.g. `ns=1;s=Meter.Power`. */
  nodeId: z.string().min(1).optional(),
  /** Overrides the device's poll interval (Modbus) or sampling interval (OPC UA). */
  pollInterval: DurationSchema.optional(),
  /**
   * Publish only changes larger than this (canonical unit); unchanged values are re-sent every
   * `maxSilence` (an OPC UA point's too, whose server notifies only changes).
   */
  deadband: z.number().nonnegative().default(0),
  /**
   * OPC UA only: a deadband in percent of the node's EURange (the server's percent data-change
   * filter); a node without EURange is the server's to refuse, and the point then reports it.
   */
  deadbandPercent: z.number().positive().max(100).optional(),
  /** Default 5 min: inside the 10 minutes a value stays fresh for control (control/latest.ts). */
  maxSilence: DurationSchema.prefault('5m'),
  /** A value that has not changed at all for this long is flagged `uncertain` (a frozen device). */
  staleAfter: DurationSchema.optional(),
  /** Counters: a rise faster than this power (W) is a spike, flagged `uncertain`. */
  maxPowerW: z.number().positive().optional(),
  /** Writes outside min/max: `refuse` (default) or `clamp` to the limit. */
  outOfRange: z.enum(['refuse', 'clamp']).default('refuse'),
  /** Least time between two writes to this point. */
  minWriteInterval: DurationSchema.prefault('5s'),
  /** Read-back must match the written value within this (canonical unit). */
  verifyTolerance: z.number().nonnegative().default(0),
});

export const GatewayPointSchema = z.intersection(PointSchema, GatewayPointExtraSchema);
export type GatewayPoint = z.infer<typeof GatewayPointSchema>;

const deviceCommon = {
  id: IdSchema,
  name: z.string().min(1).optional(),
  pollInterval: DurationSchema.optional(),
  points: z.array(GatewayPointSchema).min(1, 'list at least one point'),
};

export const ModbusGatewayDeviceSchema = z.object({
  ...deviceCommon,
  protocol: z.literal('modbus'),
  connection: ModbusConnectionSchema,
  /** A built-in profile (sdm630, em24, abb-b23, umg604), one of the file's `profiles`, or `sunspec`. */
  profile: z.string().min(1),
  /** Probe only this SunSpec base instead of 40000, 0, 50000. */
  sunspecBase: z.number().int().min(0).max(65533).optional(),
  /** Attempts per request before the poll counts as failed. */
  retries: z.number().int().min(0).max(5).default(1),
  /** Overrides of the profile's read shaping. */
  maxRegisters: z.number().int().min(4).max(125).optional(),
  maxGap: z.number().int().min(0).max(124).optional(),
  /**
   * A merged read the device refused with a transient exception (4 server failure, 5, 6 busy,
   * 10/11 gateway path or target) is split into single reads, and merged again after this many
   * polls in which every single read succeeded. Exceptions 1–3 (illegal function, address,
   * value) are answers about the map: such a read stays split.
   */
  remergeAfter: z.number().int().min(1).max(10_000).default(10),
  /** Read every point with its own request (for devices that mishandle multi-register reads; also the bench's peer). */
  oneRequestPerPoint: z.boolean().default(false),
  /** Write a rising counter to this writable point every `interval` so the device's watchdog stays calm. */
  heartbeat: z.object({ point: IdSchema, interval: DurationSchema }).optional(),
});
export type ModbusGatewayDevice = z.infer<typeof ModbusGatewayDeviceSchema>;

export const OpcUaGatewayDeviceSchema = z.object({
  ...deviceCommon,
  protocol: z.literal('opcua'),
  connection: OpcUaConnectionSchema,
  profile: z.string().min(1).default('opcua'),
  publishingInterval: DurationSchema.prefault('1s'),
});
export type OpcUaGatewayDevice = z.infer<typeof OpcUaGatewayDeviceSchema>;

export const GatewayDeviceSchema = z.discriminatedUnion('protocol', [
  ModbusGatewayDeviceSchema,
  OpcUaGatewayDeviceSchema,
]);
export type GatewayDevice = z.infer<typeof GatewayDeviceSchema>;

/** The gateway file: which site it serves, user register maps, and devices. */
export const GatewayConfigSchema = z
  .object({
    site: IdSchema,
    pollInterval: DurationSchema.prefault('5s'),
    profiles: z.record(IdSchema, ProfileSchema).default({}),
    devices: z.array(GatewayDeviceSchema).min(1, 'list at least one device'),
  })
  .superRefine((cfg, ctx) => {
    const ids = new Set<string>();
    cfg.devices.forEach((d, di) => {
      const at = (...p: (string | number)[]) => ['devices', di, ...p];
      if (ids.has(d.id))
        ctx.addIssue({ code: 'custom', path: at('id'), message: `duplicate device id "${d.id}"` });
      ids.add(d.id);
      // The shared domain rules (security mode/policy pairing, unique point ids).
      const model = DeviceSchema.safeParse(toModelDevice(d));
      if (!model.success)
        for (const i of issuesFromZod(model.error)) addPathIssue(ctx, at(), i.path, i.message);
      if (d.protocol === 'opcua') {
        d.points.forEach((p, pi) => {
          if (!p.nodeId)
            ctx.addIssue({
              code: 'custom',
              path: at('points', pi, 'nodeId'),
              message: 'an OPC UA point needs its nodeId',
            });
          if (p.deadbandPercent !== undefined && p.deadband > 0)
            ctx.addIssue({
              code: 'custom',
              path: at('points', pi, 'deadbandPercent'),
              message: 'give deadband (absolute) or deadbandPercent, not both',
            });
        });
        return;
      }
      d.points.forEach((p, pi) => {
        if (p.deadbandPercent !== undefined)
          ctx.addIssue({
            code: 'custom',
            path: at('points', pi, 'deadbandPercent'),
            // A Modbus register has no engineering range to take a percent of.
            message: 'deadbandPercent is for OPC UA points (percent of EURange); use deadband',
          });
      });
      const profile =
        d.profile === 'sunspec' ? null : (cfg.profiles[d.profile] ?? BUILTIN_PROFILES[d.profile]);
      if (d.profile !== 'sunspec' && !profile) {
        const known = [
          ...Object.keys(cfg.profiles),
          ...Object.keys(BUILTIN_PROFILES),
          ...DISCOVERED_PROFILES,
        ];
        ctx.addIssue({
          code: 'custom',
          path: at('profile'),
          message: `unknown profile "${d.profile}" (known: ${known.join(', ')})`,
        });
        return;
      }
      d.points.forEach((p, pi) => {
        const ref = p.register ?? p.id;
        if (typeof ref === 'string') {
          if (profile && !profile.registers[ref])
            ctx.addIssue({
              code: 'custom',
              path: at('points', pi, p.register ? 'register' : 'id'),
              message: `profile "${d.profile}" has no register "${ref}" (it has: ${Object.keys(profile.registers).join(', ')})`,
            });
          if (!profile && !parseSunSpecRef(ref))
            ctx.addIssue({
              code: 'custom',
              path: at('points', pi, 'register'),
              message: `expected a SunSpec point like "203.W" or "103.WH", not "${ref}"`,
            });
        }
        const reg = typeof ref === 'string' ? profile?.registers[ref] : ref;
        if (p.writable && reg && !reg.writable)
          ctx.addIssue({
            code: 'custom',
            path: at('points', pi, 'writable'),
            message: `register "${typeof ref === 'string' ? ref : ref.address}" is not writable on this device`,
          });
      });
      if (d.heartbeat) {
        const hb = d.points.find((p) => p.id === d.heartbeat!.point);
        if (!hb?.writable)
          ctx.addIssue({
            code: 'custom',
            path: at('heartbeat', 'point'),
            message: `heartbeat point "${d.heartbeat.point}" must be one of the device's writable points`,
          });
      }
    });
  });
export type GatewayConfig = z.infer<typeof GatewayConfigSchema>;

function addPathIssue(
  ctx: z.RefinementCtx,
  prefix: (string | number)[],
  path: string,
  message: string,
): void {
  const parts = path
    .split(/\.|\[(\d+)\]/)
    .filter((s) => s !== undefined && s !== '')
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  ctx.addIssue({ code: 'custom', path: [...prefix, ...parts], message });
}

/** The model's view of a gateway device (for the sites API and the store's point list). */
export function toModelDevice(d: GatewayDevice) {
  return {
    id: d.id,
    name: d.name,
    protocol: d.protocol,
    profile: d.profile,
    connection: d.connection,
    points: d.points.map((p) => ({
      id: p.id,
      name: p.name,
      kind: p.kind,
      unit: p.unit,
      writable: p.writable,
      min: p.min,
      max: p.max,
    })),
  };
}

/** A minimal site around the gateway's devices, so `listPoints` and the store know the points. */
export function gatewaySite(cfg: GatewayConfig): Site {
  return {
    id: cfg.site,
    name: cfg.site,
    location: { lat: 0, lon: 0 },
    timezone: 'UTC',
    grid: { importLimitKw: 1, exportLimitKw: 0 },
    buildings: [
      {
        id: 'gateway',
        name: 'gateway',
        kind: 'other',
        devices: cfg.devices.map((d) => DeviceSchema.parse(toModelDevice(d))),
        assets: [],
      },
    ],
  };
}

/** The register a Modbus point reads, when it comes from a map (not SunSpec discovery). */
export function mappedRegister(cfg: GatewayConfig, d: ModbusGatewayDevice, p: GatewayPoint): Register | null {
  const ref = p.register ?? p.id;
  if (typeof ref !== 'string') return ref;
  const profile: Profile | undefined = cfg.profiles[d.profile] ?? BUILTIN_PROFILES[d.profile];
  return profile?.registers[ref] ?? null;
}

export function deviceProfile(cfg: GatewayConfig, d: ModbusGatewayDevice): Profile | null {
  return cfg.profiles[d.profile] ?? BUILTIN_PROFILES[d.profile] ?? null;
}
