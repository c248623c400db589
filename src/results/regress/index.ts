/** Regression detection: see docs/regress.md (its statistics: src/metrics/comparison.ts, distributions.ts, changepoint.ts; its Markdown and JUnit: src/reports/regress.ts). */
export * from './compare-runs.js';
export { historyNoise, isFileRef, readResultsFile } from './io.js';
