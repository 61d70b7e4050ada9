import { z } from 'zod';
import { InvalidMarkerSchema, OrderSchema, REGISTER_COUNT, RegisterTypeSchema } from './decode.js';

/** Modbus tables: coils (FC1/5/15), discrete inputs (FC2), input registers (FC4), holding (FC3/6/16). */
export const ModbusFunctionSchema = z.enum(['coil', 'discrete', 'input', 'holding']);
export type ModbusFunction = z.infer<typeof ModbusFunctionSchema>;

export const isBitTable = (fn: ModbusFunction) => fn === 'coil' || fn === 'discrete';

const address = z.number().int().min(0, 'addresses are 0-based wire addresses (0 to 65535)').max(65535);

/**
 * One value in a device's register map. `address` is the 0-based wire address (datasheet
 * "30001" or "40001" is wire 0). The decoded value is `raw × scale + offset`, or
 * `raw × 10^sf` when `scaleFactor` names an int16 scale-factor register (SunSpec); the result
 * must be in `unit`, the canonical unit of the point that reads it.
 */
export const RegisterSchema = z
  .object({
    address,
    function: ModbusFunctionSchema.default('holding'),
    type: RegisterTypeSchema.default('uint16'),
    wordOrder: OrderSchema.default('big'),
    byteOrder: OrderSchema.default('big'),
    scale: z
      .number()
      .refine((s) => s !== 0, 'scale 0 would erase every value')
      .default(1),
    offset: z.number().default(0),
    /** Wire address of an int16 scale-factor register in the same table (value × 10^sf). */
    scaleFactor: address.optional(),
    unit: z.string().default(''),
    invalid: InvalidMarkerSchema.default('none'),
    /** The device accepts writes here (still subject to the point's allow-list and limits). */
    writable: z.boolean().default(false),
  })
  .superRefine((r, ctx) => {
    const bits = r.function === 'coil' || r.function === 'discrete';
    if (bits !== (r.type === 'bool'))
      ctx.addIssue({
        code: 'custom',
        path: ['type'],
        message: bits
          ? `${r.function} tables hold single bits: use type bool`
          : `type bool belongs to coil or discrete tables, not ${r.function} registers`,
      });
    if (r.address + REGISTER_COUNT[r.type] - 1 > 65535)
      ctx.addIssue({ code: 'custom', path: ['address'], message: 'the value runs past register 65535' });
    if (r.writable && r.function !== 'holding' && r.function !== 'coil')
      ctx.addIssue({
        code: 'custom',
        path: ['writable'],
        message: `${r.function} ${bits ? 'inputs' : 'registers'} are read-only in Modbus`,
      });
  });
export type Register = z.infer<typeof RegisterSchema>;
export type RegisterInput = z.input<typeof RegisterSchema>;

/** An address range (inclusive) the device must not be asked for: reads there fail or hang. */
export const ForbiddenRangeSchema = z
  .object({ function: ModbusFunctionSchema.optional(), from: address, to: address })
  .refine((r) => r.from <= r.to, { path: ['to'], message: 'to must not be below from' });

/**
 * A register map as data: named registers plus how the device likes to be read. Built-in
 * profiles (gateway/profiles.ts) and user maps in the gateway file share this shape.
 */
export const ProfileSchema = z.object({
  description: z.string().default(''),
  /** Largest read the device accepts (the protocol's 125; many meters take fewer). */
  maxRegisters: z.number().int().min(4, 'at least 4, the size of a 64-bit value').max(125).default(125),
  /** Largest hole of unused registers a merged read may bridge. */
  maxGap: z.number().int().min(0).max(124).default(16),
  forbidden: z.array(ForbiddenRangeSchema).default([]),
  registers: z.record(z.string().min(1), RegisterSchema),
});
export type Profile = z.infer<typeof ProfileSchema>;
export type ProfileInput = z.input<typeof ProfileSchema>;
