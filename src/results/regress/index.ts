/** Regression detection: see docs/regress.md (its statistics: src/metrics/comparison.ts, distributions.ts, changepoint.ts). */
export * from './compare-runs.js';
export * from './format.js';
export { historyNoise, isFileRef, readResultsFile } from './io.js';
