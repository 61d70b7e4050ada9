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

/** A device an activation holds, with what it ran at before (its base), so a restart can put it back. */
export interface HeldAsset {
  siteId: string;
  assetId: string;
  device: string;
  /** A battery's power before the activation (kW, + charging); absent where the base is configured. */
  baseKw?: number;
}

export type ExecutionState = 'dispatching' | 'active' | 'restoring' | 'done' | 'failed';

export interface ExecutionStatus {
  activationId: string;
  state: ExecutionState;
  sites: SiteExecution[];
  /** When this status was produced, ms since epoch UTC. */
  updatedMs: number;
  /** The devices the activation holds (stored with every snapshot: what a restart needs). */
  held?: HeldAsset[];
}

/**
 * Turns an accepted activation into setpoints at the sites and follows it up. The market
 * service owns the activation's lifecycle (validation, idempotency, storage, reports); the
 * executor owns the devices: every write goes through the gateway's safety layer, a shortfall
 * is re-dispatched to other assets, and energy is restored afterwards without a rebound peak.
 */
export interface ActivationExecutor {
  /**
   * Resolves once the first setpoints of every site are written or refused. `held` (from the
   * last stored snapshot) resumes an activation after a restart: the devices' bases are the
   * stored ones, not what they measure now (which may still include the activation).
   */
  start(plan: ActivationPlan, held?: readonly HeldAsset[]): Promise<ExecutionStatus>;
  /** End at `endMs` or when the operator cancels; starts the restore. */
  stop(activationId: string, reason: string): Promise<ExecutionStatus>;
  status(activationId: string): ExecutionStatus | undefined;
  /**
   * End now without restoring energy: every device the activation holds goes back to its base
   * at once (a clean stop of the process). Absent: nothing is written, the devices' own
   * fail-safe timeouts bring them back.
   */
  release?(activationId: string, reason: string): Promise<ExecutionStatus>;
  /**
   * Put back to base the devices an activation this executor does not know (a restart) held,
   * as its last snapshot lists them; the activation is not resumed.
   */
  recover?(plan: ActivationPlan, held: readonly HeldAsset[], reason: string): Promise<ExecutionStatus>;
}
