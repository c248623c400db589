/** The results store's public types: the store interface and its filters and rows (docs/regress.md). */
import type { LatencyStats } from '../../model/measurements.js';
import type { DeviceFingerprint, JobStatus, RunResults } from '../../model/record.js';
import type { Migration } from './migrations.js';

export interface GitInfo {
  commit: string | null;
  branch: string | null;
}

export interface RecordOptions {
  tags?: string[];
  /** Default: `gitInfo()` of the current directory. */
  git?: GitInfo;
}

export interface RunSummary {
  id: string;
  suiteName: string;
  suiteSha256: string;
  startedAt: string;
  endedAt: string | null;
  status: string;
  host: string | null;
  gitCommit: string | null;
  gitBranch: string | null;
  tags: string[];
  jobs: number;
}

export interface RunFilter {
  tag?: string;
  suite?: string;
  /** Most recent first; default 100. */
  limit?: number;
}

export interface HistoryFilter {
  model?: string;
  engine?: string;
  /** A prefix of the device fingerprint hash (ASCII case ignored). */
  deviceHash?: string;
  /** An exact job key. */
  key?: string;
  /** Only runs started before this ISO time (exclusive). */
  before?: string;
  /** Leave this run out. */
  excludeRunId?: string;
}

/** One job of one run, oldest run first. */
export interface HistoryPoint {
  runId: string;
  startedAt: string;
  tags: string[];
  gitCommit: string | null;
  key: string;
  model: string;
  engine: string;
  engineVersion: string | null;
  deviceHash: string | null;
  status: JobStatus;
  latency?: LatencyStats;
}

/**
 * An open results store: the embedded SQLite file, or a shared PostgreSQL database
 * (`postgres://...`). Both behave the same (one contract test runs against each). Every
 * method is asynchronous; a database failure is an `E_INFRA` error (exit 3). Close it when done.
 */
export interface ResultsStore {
  /** The SQLite file's absolute path, or the PostgreSQL URL without its password. */
  readonly path: string;
  /** Versions applied, ascending. */
  migrationsApplied(): Promise<number[]>;
  /** Records a run (replacing a run with the same id) in one transaction; returns its id. */
  recordRun(results: RunResults, options?: RecordOptions): Promise<string>;
  /** Adds a tag to a recorded run. */
  tagRun(runId: string, tag: string): Promise<void>;
  /** The run id for a run id, or for a tag its most recent run; undefined when neither. */
  resolveRunId(idOrTag: string): Promise<string | undefined>;
  /** A recorded run by id or tag (the most recent run with that tag), whole; undefined if none. */
  getRun(idOrTag: string): Promise<RunResults | undefined>;
  /** Recorded runs, most recent first. */
  listRuns(filter?: RunFilter): Promise<RunSummary[]>;
  /** Every recorded job matching the filter, oldest run first, with its latency summary. */
  jobHistory(filter?: HistoryFilter): Promise<HistoryPoint[]>;
  /** The device fingerprint of a job as recorded (for explanations). */
  deviceOf(runId: string, key: string): Promise<DeviceFingerprint | undefined>;
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  /** Refuse to create a missing SQLite file (a PostgreSQL database is never created). */
  mustExist?: boolean;
  /** For tests: the migration set (default all of the backend's). */
  migrations?: readonly Migration[];
}
