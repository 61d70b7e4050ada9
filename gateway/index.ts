export {
  type GatewayConfig,
  GatewayConfigSchema,
  type GatewayDevice,
  type GatewayPoint,
  gatewaySite,
  type ModbusGatewayDevice,
} from './config.js';
export { decodeRegisters, encodeRegisters } from './decode.js';
export { type ConnectionProblem, connectionProblem, GATEWAY_ERRORS } from './errors.js';
export { Gateway, type GatewayLog, type GatewayOptions, stderrLog } from './gateway.js';
export type { DeviceStatus, PollOutcome } from './modbus-device.js';
export { DeviceUnreachableError, ModbusExceptionError, ModbusLink } from './modbus-link.js';
export { type BrowsedNode, browseOpcUa, OpcUaDevice } from './opcua-device.js';
export { planReads } from './planner.js';
export { BUILTIN_PROFILES } from './profiles.js';
export { type Profile, ProfileSchema, type Register, RegisterSchema } from './register-map.js';
export {
  refusedWrite,
  type WriteOutcome,
  type WriteRecord,
  type WriteRefusal,
  type WriteRequest,
} from './safety.js';
export { decodeSunSpecString, discoverSunSpec, SUNSPEC_MODELS, type SunSpecMap } from './sunspec.js';
export {
  SetpointWriteRepository,
  type StoredWriteRecord,
  type WriteLog,
  type WritePage,
  type WriteQuery,
  WriteQuerySchema,
} from './write-log.js';
