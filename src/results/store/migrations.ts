/**
 * Versioned schema of the results store. Each migration runs once, in order, inside one
 * transaction with its row in `schema_migrations`; a database written by a newer benchalign
 * (a version this list does not know) is refused rather than guessed at.
 */

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'runs, jobs, measurements, alignment',
    sql: `
CREATE TABLE runs (
  pk INTEGER PRIMARY KEY,
  run_id TEXT NOT NULL UNIQUE,
  suite_name TEXT NOT NULL,
  suite_path TEXT NOT NULL,
  suite_sha256 TEXT NOT NULL,
  git_commit TEXT,
  git_branch TEXT,
  started_at TEXT NOT NULL,
  ended_at TEXT,
  host TEXT,
  status TEXT NOT NULL,
  recorded_at TEXT NOT NULL,
  -- the run record without its jobs (tool, argv, mode, device, schemaVersion), as JSON
  run_json TEXT NOT NULL
);
CREATE TABLE run_tags (
  run_pk INTEGER NOT NULL REFERENCES runs(pk) ON DELETE CASCADE,
  tag TEXT NOT NULL,
  tagged_at TEXT NOT NULL,
  PRIMARY KEY (run_pk, tag)
);
CREATE INDEX run_tags_tag ON run_tags(tag);
CREATE TABLE jobs (
  pk INTEGER PRIMARY KEY,
  run_pk INTEGER NOT NULL REFERENCES runs(pk) ON DELETE CASCADE,
  ord INTEGER NOT NULL,
  job_key TEXT NOT NULL,
  model_name TEXT NOT NULL,
  model_sha256 TEXT NOT NULL,
  engine_name TEXT NOT NULL,
  engine_version TEXT,
  engine_options_json TEXT NOT NULL,
  precision TEXT NOT NULL,
  device_hash TEXT,
  device_json TEXT,
  status TEXT NOT NULL,
  reason TEXT,
  -- the job record without latency, samplesNs and alignment, as JSON
  job_json TEXT NOT NULL
);
CREATE INDEX jobs_run ON jobs(run_pk);
CREATE TABLE measurements (
  job_pk INTEGER PRIMARY KEY REFERENCES jobs(pk) ON DELETE CASCADE,
  repeats INTEGER NOT NULL,
  sample_count INTEGER NOT NULL,
  -- src/results/store/samples-codec.ts
  samples BLOB,
  summary_json TEXT
);
CREATE TABLE alignment (
  job_pk INTEGER NOT NULL REFERENCES jobs(pk) ON DELETE CASCADE,
  ord INTEGER NOT NULL,
  output_name TEXT NOT NULL,
  passed INTEGER NOT NULL,
  metrics_json TEXT NOT NULL,
  PRIMARY KEY (job_pk, ord)
);
`,
  },
  {
    version: 2,
    name: 'history index, per-job p50/p99 columns for trends',
    sql: `
CREATE INDEX jobs_history ON jobs(model_name, engine_name, device_hash);
CREATE INDEX jobs_key ON jobs(job_key, device_hash);
ALTER TABLE measurements ADD COLUMN p50_ms REAL;
ALTER TABLE measurements ADD COLUMN p99_ms REAL;
UPDATE measurements SET
  p50_ms = json_extract(summary_json, '$.percentiles.p50.value'),
  p99_ms = json_extract(summary_json, '$.percentiles.p99.value');
`,
  },
];
