/**
 * The results store: an embedded SQLite file (default `reports/benchalign.db`) or a shared
 * PostgreSQL database (`postgres://...`), holding every recorded run, its jobs, their raw
 * latency samples and their alignment (docs/regress.md). Writes are one transaction per run,
 * so a reader sees a run whole or not at all. `getRun` gives back exactly the RunResults that
 * was recorded (as JSON would: undefined fields absent, non-finite numbers as null),
 * samplesNs included. Both backends share one implementation (sql-store.ts, records.ts).
 */
import { isPostgresUrl, redactPostgresUrl } from '../../config/postgres-url.js';
import { openPostgresStore } from './postgres.js';
import { openSqliteStore } from './sqlite.js';
import type { OpenStoreOptions, ResultsStore } from './types.js';

export { gitInfo } from './git.js';
export { openPostgresStore, redactPostgresUrl } from './postgres.js';
export { isPostgresUrl, redactStoreUrls } from '../../config/postgres-url.js';
export { openSqliteStore } from './sqlite.js';
export { SqlResultsStore, migrate } from './sql-store.js';
export type { GitInfo, HistoryFilter, HistoryPoint, OpenStoreOptions, RecordOptions, ResultsStore, RunFilter, RunSummary } from './types.js';

/**
 * The results store used when `--store` is not given: $BENCHALIGN_STORE when set (so runs from
 * any folder share one history), else reports/benchalign.db under the working directory.
 */
export const DEFAULT_STORE_PATH = process.env.BENCHALIGN_STORE !== undefined && process.env.BENCHALIGN_STORE !== '' ? process.env.BENCHALIGN_STORE : 'reports/benchalign.db';

/** The store location as it may be shown or recorded: a PostgreSQL URL loses its password. */
export function displayStoreLocation(location: string): string {
  return isPostgresUrl(location) ? redactPostgresUrl(location) : location;
}

/**
 * Opens (creating when allowed) the store at `path`, a SQLite file or a `postgres://` /
 * `postgresql://` URL, and brings its schema up to date.
 * Anything that makes it unusable is an `E_INFRA` error (exit 3).
 */
export async function openStore(path: string, options: OpenStoreOptions = {}): Promise<ResultsStore> {
  return isPostgresUrl(path) ? openPostgresStore(path, options) : openSqliteStore(path, options);
}
