export * from './state.js';
export * from './metrics.js';
export * from './errors.js';
