import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { loadConfigFile } from '../config/load.js';
import { batteryFields, GridflexError, IdSchema, LocationSchema, TimezoneSchema } from '../model/index.js';
import { SIM_ERRORS } from './errors.js';
import { LOAD_PROFILES } from './physics/load.js';

const kw = z.number().nonnegative();
const positive = z.number().positive();
const pct = z.number().min(0).max(100);

const common = {
  id: IdSchema,
  name: z.string().min(1).optional(),
  /** Replicate the device: ids become `<id>-1` … `<id>-<count>`. */
  count: z.number().int().min(1).max(500).optional(),
  /** Modbus unit id on the shared port; assigned in order when absent. */
  unitId: z.number().int().min(1).max(247).optional(),
};
const meterFace = z.enum(['sdm630', 'sunspec', 'none']);

export const LoadDeviceSchema = z.object({
  ...common,
  type: z.literal('load'),
  profile: z.enum(LOAD_PROFILES),
  peakKw: positive,
  /** Relative noise (standard deviation) of the load. */
  noise: z.number().min(0).max(1).default(0.08),
  modbus: meterFace.default('sdm630'),
});

export const SheddableDeviceSchema = z.object({
  ...common,
  type: z.literal('sheddable'),
  kind: z.enum(['ventilation', 'pool_pump', 'lighting']),
  ratedKw: positive,
  /** Power law in speed: fans and pumps follow the affinity law (cubic). */
  law: z.enum(['cubic', 'linear']).default('cubic'),
  /** Speed when the schedule runs it and no controller has written a setpoint. */
  defaultPct: pct.default(70),
  minPct: pct.default(30),
  maxPct: pct.default(100),
  /** Occupancy schedule that switches it on. */
  schedule: z.enum(LOAD_PROFILES).default('school'),
  modbus: z.literal('none').default('none'),
});

export const PvDeviceSchema = z.object({
  ...common,
  type: z.literal('pv'),
  kwp: positive,
  inverterKw: positive,
  performanceRatio: z.number().gt(0).max(1).default(0.8),
  modbus: z.enum(['sunspec', 'none']).default('sunspec'),
});

export const BatteryDeviceSchema = z.object({
  ...common,
  type: z.literal('battery'),
  ...batteryFields,
  initialSocPct: pct.default(50),
  modbus: z.enum(['sunspec', 'none']).default('sunspec'),
});

export const HeatPumpDeviceSchema = z.object({
  ...common,
  type: z.literal('heat_pump'),
  /** The thermal zone it heats (OPC UA folder name). */
  zone: IdSchema,
  maxKw: positive,
  cop: positive.default(3.2),
  capacitanceKwhPerK: positive,
  resistanceKPerKw: positive,
  setpointC: z.number().default(21),
  bandC: positive.default(1),
  initialC: z.number().default(21),
  modbus: meterFace.default('none'),
});

export const EvChargerDeviceSchema = z.object({
  ...common,
  type: z.literal('ev_charger'),
  maxKw: positive,
  minKw: kw.default(1.4),
  modbus: meterFace.default('sdm630'),
});

export const SimDeviceSchema = z.discriminatedUnion('type', [
  LoadDeviceSchema,
  SheddableDeviceSchema,
  PvDeviceSchema,
  BatteryDeviceSchema,
  HeatPumpDeviceSchema,
  EvChargerDeviceSchema,
]);
export type SimDeviceSpec = z.infer<typeof SimDeviceSchema>;

export const SimBuildingSchema = z.object({
  id: IdSchema,
  name: z.string().min(1).optional(),
  kind: z.enum(['school', 'sports_hall', 'office', 'apartment_block', 'other']).default('other'),
  gridMeter: z
    .object({ modbus: meterFace.default('sdm630'), unitId: z.number().int().min(1).max(247).optional() })
    .default({ modbus: 'sdm630' }),
  devices: z.array(SimDeviceSchema).default([]),
});
export type SimBuildingSpec = z.infer<typeof SimBuildingSchema>;

export const ScenarioSchema = z
  .object({
    id: IdSchema,
    name: z.string().min(1),
    location: LocationSchema,
    timezone: TimezoneSchema,
    /** Simulated start (ISO 8601); default: the wall clock when the simulator starts. */
    start: z.iso.datetime({ offset: true }).optional(),
    climate: z
      .object({
        annualMeanC: z.number().default(8),
        annualAmplitudeC: z.number().min(0).default(10),
        dailyAmplitudeC: z.number().min(0).default(4),
        meanCloud: z.number().gt(0).lt(1).default(0.5),
      })
      .default({ annualMeanC: 8, annualAmplitudeC: 10, dailyAmplitudeC: 4, meanCloud: 0.5 }),
    grid: z
      .object({
        nominalHz: z.number().default(50),
        noiseHz: z.number().min(0).default(0.02),
        eventsPerDay: z.number().min(0).default(1),
        eventNadirHz: z.number().default(49.6),
        priceBaseEurMwh: z.number().default(80),
        priceSpreadEurMwh: z.number().min(0).default(40),
        activationProbability: z.number().min(0).max(1).default(0.05),
        activationKw: positive.default(100),
      })
      .prefault({}),
    /** Seconds a controller's setpoint holds without being refreshed (0 = forever). */
    failsafeTimeoutS: z.number().int().min(0).max(65535).default(60),
    opcua: z
      .object({
        username: z.string().min(1).default('bms'),
        password: z.string().min(1).default('gridflex-sim'),
      })
      .prefault({}),
    buildings: z.array(SimBuildingSchema).min(1),
  })
  .superRefine((s, ctx) => {
    const seenB = new Set<string>();
    const units = new Map<number, string>();
    s.buildings.forEach((b, bi) => {
      if (seenB.has(b.id))
        ctx.addIssue({
          code: 'custom',
          path: ['buildings', bi, 'id'],
          message: `duplicate building id ${b.id}`,
        });
      seenB.add(b.id);
      const ids = new Set<string>(['grid-meter']);
      const claim = (unit: number | undefined, path: (string | number)[], what: string) => {
        if (unit === undefined) return;
        const other = units.get(unit);
        if (other)
          ctx.addIssue({ code: 'custom', path, message: `unit id ${unit} is already used by ${other}` });
        units.set(unit, what);
      };
      claim(b.gridMeter.unitId, ['buildings', bi, 'gridMeter', 'unitId'], `${b.id}/grid-meter`);
      b.devices.forEach((d, di) => {
        for (const id of expandIds(d)) {
          if (ids.has(id))
            ctx.addIssue({
              code: 'custom',
              path: ['buildings', bi, 'devices', di, 'id'],
              message: `duplicate device id ${id}`,
            });
          ids.add(id);
        }
        if (d.count && d.count > 1 && d.unitId !== undefined)
          ctx.addIssue({
            code: 'custom',
            path: ['buildings', bi, 'devices', di, 'unitId'],
            message: 'unitId cannot be fixed for a device with count > 1',
          });
        else claim(d.unitId, ['buildings', bi, 'devices', di, 'unitId'], `${b.id}/${d.id}`);
        if (d.type === 'battery' && d.minSocPct >= d.maxSocPct)
          ctx.addIssue({
            code: 'custom',
            path: ['buildings', bi, 'devices', di, 'maxSocPct'],
            message: 'maxSocPct must be above minSocPct',
          });
        if (d.type === 'sheddable' && d.minPct > d.maxPct)
          ctx.addIssue({
            code: 'custom',
            path: ['buildings', bi, 'devices', di, 'minPct'],
            message: 'minPct must not exceed maxPct',
          });
      });
    });
  });
export type Scenario = z.infer<typeof ScenarioSchema>;

/** Ids of a (possibly replicated) device. */
export function expandIds(d: { id: string; count?: number | undefined }): string[] {
  if (!d.count) return [d.id];
  return Array.from({ length: d.count }, (_, i) => `${d.id}-${i + 1}`);
}

export const BUILT_IN_SCENARIOS = ['lappeenranta', 'zev-bern'] as const;

/** Path of a bundled scenario. */
export function builtInScenarioPath(name: string): string {
  return fileURLToPath(new URL(`./scenarios/${name}.yaml`, import.meta.url));
}

/** Load a bundled scenario by name, or a user's YAML/JSON file by path. */
export async function loadScenario(nameOrFile: string): Promise<Scenario> {
  const builtIn = (BUILT_IN_SCENARIOS as readonly string[]).includes(nameOrFile);
  const path = builtIn ? builtInScenarioPath(nameOrFile) : nameOrFile;
  if (!builtIn && !existsSync(path) && !/[./\\]/.test(nameOrFile)) {
    throw new GridflexError(
      SIM_ERRORS.SCENARIO,
      `unknown scenario ${nameOrFile}: use one of ${BUILT_IN_SCENARIOS.join(', ')} or a YAML file path`,
      { kind: 'input' },
    );
  }
  return loadConfigFile(ScenarioSchema, path);
}
