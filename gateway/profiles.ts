import { type Profile, type ProfileInput, ProfileSchema, type RegisterInput } from './register-map.js';

/*
 * Built-in vendor maps (wire addresses, 0-based). Every register is scaled into the
 * canonical unit of the point kind it is named after (W, Wh, V, A, Hz, var, ratio).
 * Source of every address, type and scale below: shared/reference/devices.md, section
 * "A3. Register maps", subsection "Meters" (volkszaehler/mbmd meters/rs485 and OpenEMS).
 * Figures not taken from that section are marked [unverified].
 */

const phases = (
  base: string,
  addresses: [number, number, number],
  spec: Omit<RegisterInput, 'address'>,
): Record<string, RegisterInput> =>
  Object.fromEntries(addresses.map((address, i) => [`${base}_l${i + 1}`, { ...spec, address }]));

const sdmFloat = (unit: string, scale = 1): Omit<RegisterInput, 'address'> => ({
  function: 'input',
  type: 'float32',
  unit,
  scale,
});

/** Eastron SDM630: FC4 input registers, float32 big-endian; energy in kWh on the wire. */
const sdm630: ProfileInput = {
  description: 'Eastron SDM630 three-phase meter (FC4, float32 ABCD)',
  // Widely quoted per-request cap of 80 registers [unverified]; the whole map fits anyway.
  maxRegisters: 80,
  maxGap: 24,
  registers: {
    ...phases('voltage', [0x00, 0x02, 0x04], sdmFloat('V')),
    ...phases('current', [0x06, 0x08, 0x0a], sdmFloat('A')),
    ...phases('power', [0x0c, 0x0e, 0x10], sdmFloat('W')),
    power: { address: 0x34, ...sdmFloat('W') },
    apparent_power: { address: 0x38, ...sdmFloat('VA') },
    reactive_power: { address: 0x3c, ...sdmFloat('var') },
    power_factor: { address: 0x3e, ...sdmFloat('ratio') },
    frequency: { address: 0x46, ...sdmFloat('Hz') },
    energy_import: { address: 0x48, ...sdmFloat('Wh', 1000) },
    energy_export: { address: 0x4a, ...sdmFloat('Wh', 1000) },
    energy_total: { address: 0x156, ...sdmFloat('Wh', 1000) },
  },
};

const em24Int32 = (unit: string, scale: number): Omit<RegisterInput, 'address'> => ({
  function: 'input',
  type: 'int32',
  wordOrder: 'little',
  unit,
  scale,
});
const em24Int16 = (unit: string, scale: number): Omit<RegisterInput, 'address'> => ({
  function: 'input',
  type: 'int16',
  unit,
  scale,
});

/** Carlo Gavazzi EM24 (devices.md A3 "Meters", EM24): FC4, int32 low word first (CDAB), fixed decimal scales. */
const em24: ProfileInput = {
  description: 'Carlo Gavazzi EM24 three-phase meter (FC4, int32 low word first)',
  // The Modbus maximum; the EM24's own per-request limit is not in the reference [unverified].
  maxRegisters: 125,
  // Holes are bridged only inside the documented block 0x00–0x5D [unverified: readable gaps].
  maxGap: 16,
  registers: {
    ...phases('voltage', [0x00, 0x02, 0x04], em24Int32('V', 0.1)),
    ...phases('current', [0x0c, 0x0e, 0x10], em24Int32('A', 0.001)),
    ...phases('power', [0x12, 0x14, 0x16], em24Int32('W', 0.1)),
    power: { address: 0x28, ...em24Int32('W', 0.1) },
    ...phases('power_factor', [0x32, 0x33, 0x34], em24Int16('ratio', 0.001)),
    power_factor: { address: 0x35, ...em24Int16('ratio', 0.001) },
    frequency: { address: 0x37, ...em24Int16('Hz', 0.1) },
    energy_import: { address: 0x42, ...em24Int32('Wh', 100) },
    ...phases('energy_import', [0x46, 0x48, 0x4a], em24Int32('Wh', 100)),
    energy_export: { address: 0x5c, ...em24Int32('Wh', 100) },
  },
};

const abb = (type: RegisterInput['type'], unit: string, scale: number): Omit<RegisterInput, 'address'> => ({
  function: 'holding',
  type,
  unit,
  scale,
  invalid: 'all-ones',
});

/**
 * ABB B23/B24 (devices.md A3 "Meters", ABB B23/B24): FC3 holding, big-endian; all-ones
 * (unsigned) / 0x7FFF… (signed) mean "no value".
 */
const abbB23: ProfileInput = {
  description: 'ABB B23/B24 meter (FC3, big-endian, 0.01 kWh counters)',
  // The Modbus maximum; the meter's own limit is not in the reference [unverified].
  maxRegisters: 125,
  maxGap: 16,
  registers: {
    energy_import: { address: 0x5000, ...abb('uint64', 'Wh', 10) },
    energy_export: { address: 0x5004, ...abb('uint64', 'Wh', 10) },
    ...phases('voltage', [0x5b00, 0x5b02, 0x5b04], abb('uint32', 'V', 0.1)),
    ...phases('current', [0x5b0c, 0x5b0e, 0x5b10], abb('uint32', 'A', 0.01)),
    power: { address: 0x5b14, ...abb('int32', 'W', 0.01) },
    ...phases('power', [0x5b16, 0x5b18, 0x5b1a], abb('int32', 'W', 0.01)),
    frequency: { address: 0x5b2c, ...abb('uint16', 'Hz', 0.01) },
    // The reference lists PF at 0x5B3A–0x5B3D; that the first is the total [unverified].
    power_factor: { address: 0x5b3a, ...abb('int16', 'ratio', 0.001) },
  },
};

const umgFloat = (unit: string): Omit<RegisterInput, 'address'> => ({
  function: 'holding',
  type: 'float32',
  unit,
});

/**
 * Janitza UMG 604 (devices.md A3 "Meters", Janitza UMG 604, after OpenEMS
 * MeterJanitzaUmg604Impl): FC3 holding, float32 big-endian, already in V, A, W, var, Hz, Wh.
 */
const umg604: ProfileInput = {
  description: 'Janitza UMG 604 power analyser (FC3, float32 ABCD)',
  // The Modbus maximum; the UMG 604's own limit is not in the reference [unverified].
  maxRegisters: 125,
  maxGap: 16,
  registers: {
    ...phases('voltage', [1317, 1319, 1321], umgFloat('V')),
    ...phases('current', [1325, 1327, 1329], umgFloat('A')),
    ...phases('power', [1333, 1335, 1337], umgFloat('W')),
    ...phases('reactive_power', [1341, 1343, 1345], umgFloat('var')),
    power: { address: 1369, ...umgFloat('W') },
    reactive_power: { address: 1371, ...umgFloat('var') },
    frequency: { address: 1439, ...umgFloat('Hz') },
    // Named as OpenEMS maps them; which is import and which export depends on how the meter is
    // wired and configured [unverified: confirm in the Janitza manual], so neither is called so.
    energy_production: { address: 9851, ...umgFloat('Wh') },
    energy_consumption: { address: 9863, ...umgFloat('Wh') },
  },
};

export const BUILTIN_PROFILES: Readonly<Record<string, Profile>> = Object.freeze({
  sdm630: ProfileSchema.parse(sdm630),
  em24: ProfileSchema.parse(em24),
  'abb-b23': ProfileSchema.parse(abbB23),
  umg604: ProfileSchema.parse(umg604),
});

/** Profile names with a special meaning: registers are found on the device, not in a map. */
export const DISCOVERED_PROFILES = ['sunspec'] as const;
