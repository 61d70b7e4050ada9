/** A Modbus exception response: 1 illegal function, 2 illegal data address, 3 illegal data value. */
export class ModbusException extends Error {
  readonly modbusErrorCode: number;
  constructor(code: number, message: string) {
    super(message);
    this.modbusErrorCode = code;
  }
}

export const ILLEGAL_FUNCTION = 1;
export const ILLEGAL_ADDRESS = 2;
export const ILLEGAL_VALUE = 3;
/** Gateway target device failed to respond: no unit with that id on the shared port. */
export const TARGET_FAILED = 0x0b;

/** A block of registers a unit answers: its image is computed on every read from the physics. */
export interface RegisterBlock {
  start: number;
  length: number;
  read(): number[];
  /** Apply a write of consecutive registers; throws ModbusException. Absent: read-only. */
  write?(address: number, values: number[]): void;
}

export interface UnitFace {
  holding?: RegisterBlock;
  input?: RegisterBlock;
}

/** Registers [address, address+length) of a block, or exception 2 when any lies outside it. */
export function readBlock(block: RegisterBlock | undefined, address: number, length: number): number[] {
  if (!block || address < block.start || address + length > block.start + block.length)
    throw new ModbusException(ILLEGAL_ADDRESS, `no registers at ${address}…${address + length - 1}`);
  const image = block.read();
  return image.slice(address - block.start, address - block.start + length);
}
