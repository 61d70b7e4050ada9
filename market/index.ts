export * from './activation.js';
export * from './availability.js';
export * from './baseline.js';
export * from './bids.js';
export * from './delivery.js';
export * from './dispatch.js';
export * from './droop.js';
export * from './executor.js';
export * from './portfolio.js';
export * from './product.js';
export {
  type ActivationBody,
  ActivationBodySchema,
  type ActivationView,
  type HeadroomSource,
  MarketService,
  type MarketServiceOptions,
  type MarketUpdate,
  type MeterSource,
  type TimeRange,
} from './service.js';
export * from './thermal.js';
export * from './verify.js';
