/**
 * The results store's schema in PostgreSQL's dialect: the same tables, columns and versions
 * as migrations.ts (SQLite), so one set of queries serves both (a test checks the versions and
 * names agree). Differences: identity primary keys (bigint), BYTEA for the samples, DOUBLE
 * PRECISION for the p50/p99 columns, and COLLATE "C" on the text columns that are ordered or
 * compared by range (times, tags), so ordering is bytewise as in SQLite whatever the
 * database's locale. Times stay ISO-8601 text, as recorded.
 */
import type { Migration } from './migrations.js';

export const PG_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'runs, jobs, measurements, alignment',
    sql: `
CREATE TABLE runs (
  pk BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id TEXT NOT NULL UNIQUE,
  suite_name TEXT NOT NULL,
  suite_path TEXT NOT NULL,
  suite_sha256 TEXT NOT NULL,
  git_commit TEXT,
  git_branch TEXT,
  started_at TEXT COLLATE "C" NOT NULL,
  ended_at TEXT COLLATE "C",
  host TEXT,
  status TEXT NOT NULL,
  recorded_at TEXT COLLATE "C" NOT NULL,
  run_json TEXT NOT NULL
);
CREATE TABLE run_tags (
  run_pk BIGINT NOT NULL REFERENCES runs(pk) ON DELETE CASCADE,
  tag TEXT COLLATE "C" NOT NULL,
  tagged_at TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (run_pk, tag)
);
CREATE INDEX run_tags_tag ON run_tags(tag);
CREATE TABLE jobs (
  pk BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_pk BIGINT NOT NULL REFERENCES runs(pk) ON DELETE CASCADE,
  ord INTEGER NOT NULL,
  job_key TEXT NOT NULL,
  model_name TEXT NOT NULL,
  model_sha256 TEXT NOT NULL,
  engine_name TEXT NOT NULL,
  engine_version TEXT,
  engine_options_json TEXT NOT NULL,
  precision TEXT NOT NULL,
  device_hash TEXT COLLATE "C",
  device_json TEXT,
  status TEXT NOT NULL,
  reason TEXT,
  job_json TEXT NOT NULL
);
CREATE INDEX jobs_run ON jobs(run_pk);
CREATE TABLE measurements (
  job_pk BIGINT PRIMARY KEY REFERENCES jobs(pk) ON DELETE CASCADE,
  repeats INTEGER NOT NULL,
  sample_count INTEGER NOT NULL,
  samples BYTEA,
  summary_json TEXT
);
CREATE TABLE alignment (
  job_pk BIGINT NOT NULL REFERENCES jobs(pk) ON DELETE CASCADE,
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
ALTER TABLE measurements ADD COLUMN p50_ms DOUBLE PRECISION, ADD COLUMN p99_ms DOUBLE PRECISION;
UPDATE measurements SET
  p50_ms = (summary_json::jsonb #>> '{percentiles,p50,value}')::double precision,
  p99_ms = (summary_json::jsonb #>> '{percentiles,p99,value}')::double precision
  WHERE summary_json IS NOT NULL;
`,
  },
];
