import type { ActivationPlan } from './activation.js';

/** One site's part of an activation as the executor sees it at the devices. */
export interface SiteExecution {
  siteId: string;
  /** What the plan asked of this site, kW (positive = the product's direction). */
  requestedKw: number;
  /** What was written to devices and accepted by the safety layer, kW. */
  dispatchedKw: number;
  /** What could not be placed (refused writes, assets dropped out), kW. */
  shortfallKw: number;
  setpointsWritten: number;
  setpointsRefused: number;
  /** Plain-language notes for the operator (e.g. "fan ahu-3 refused: rate limit"). */
  messages: string[];
}

export type ExecutionState = 'dispatching' | 'active' | 'restoring' | 'done' | 'failed';

export interface ExecutionStatus {
  activationId: string;
  state: ExecutionState;
  sites: SiteExecution[];
  /** When this status was produced, ms since epoch UTC. */
  updatedMs: number;
}

/**
 * Turns an accepted activation into setpoints at the sites and follows it up. The market
 * service owns the activation's lifecycle (validation, idempotency, storage, reports); the
 * executor owns the devices: every write goes through the gateway's safety layer, a shortfall
 * is re-dispatched to other assets, and energy is restored afterwards without a rebound peak.
 */
export interface ActivationExecutor {
  /** Resolves once the first setpoints of every site are written or refused. */
  start(plan: ActivationPlan): Promise<ExecutionStatus>;
  /** End at `endMs` or when the operator cancels; starts the restore. */
  stop(activationId: string, reason: string): Promise<ExecutionStatus>;
  status(activationId: string): ExecutionStatus | undefined;
}
