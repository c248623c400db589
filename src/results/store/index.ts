/** The results store (SQLite or PostgreSQL): see docs/regress.md. */
export { DEFAULT_STORE_PATH, gitInfo, isPostgresUrl, migrate, openPostgresStore, openSqliteStore, openStore, redactPostgresUrl } from './store.js';
export type { GitInfo, HistoryFilter, HistoryPoint, OpenStoreOptions, RecordOptions, ResultsStore, RunFilter, RunSummary } from './store.js';
export { MIGRATIONS } from './migrations.js';
export { PG_MIGRATIONS } from './migrations.js';
export type { Migration } from './migrations.js';
export { decodeSamples, encodeSamples } from './samples-codec.js';
