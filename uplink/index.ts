export { type EdgeCredential, mosquittoAcl } from './acl.js';
export { CentralIngest, type CentralOptions, type CentralStatus } from './central.js';
export {
  CentralCommandLog,
  type CommandTarget,
  EdgeCommands,
  type Setpoints,
  setpointsAt,
} from './commands.js';
export { type DiscoveryPoint, discoveryMessages, haStateTopic } from './discovery.js';
export { EdgeLink, type EdgeLinkOptions, type EdgeLinkStatus } from './edge-link.js';
export { UPLINK_ERRORS, UplinkError } from './errors.js';
export {
  type JobOutcome,
  type JobStatus,
  type QueuedReplan,
  type ReplanJob,
  ReplanQueue,
  type ReplanQueueOptions,
  type SubmitOptions,
} from './jobs.js';
export { Outbox, type OutboxRow, uplinkMigrations } from './outbox.js';
export * from './protocol.js';
export { ReplanStore, type StoredReplan, StoredReplanSchema } from './replan-store.js';
