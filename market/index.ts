export * from './activation.js';
export * from './availability.js';
export * from './baseline.js';
export * from './bids.js';
export * from './delivery.js';
export * from './dispatch.js';
export * from './droop.js';
export * from './product.js';
