/** The results store (SQLite): see docs/regress.md. */
export { DEFAULT_STORE_PATH, ResultsStore, applyMigrations, gitInfo, openStore } from './store.js';
export type { GitInfo, HistoryFilter, HistoryPoint, OpenStoreOptions, RecordOptions, RunFilter, RunSummary } from './store.js';
export { MIGRATIONS } from './migrations.js';
export type { Migration } from './migrations.js';
export { decodeSamples, encodeSamples } from './samples-codec.js';
