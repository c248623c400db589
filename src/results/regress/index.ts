/** Regression detection and history trends: see docs/regress.md. */
export * from './stats.js';
export * from './changepoint.js';
export * from './compare-runs.js';
export * from './format.js';
export { historyNoise, isFileRef, readResultsFile } from './io.js';
