/**
 * Versioned schema of the results store, written once for both dialects (SQLite and
 * PostgreSQL): the same tables, columns, versions and names, so one set of queries serves
 * both. Each migration runs once, in order, inside one transaction with its row in
 * `schema_migrations`; a database written by a newer benchalign (a version this list does not
 * know) is refused rather than guessed at.
 *
 * Dialect differences: keys (SQLite's rowid INTEGER PRIMARY KEY, PostgreSQL's BIGINT identity),
 * BLOB vs BYTEA for the samples, REAL vs DOUBLE PRECISION, JSON extraction, and COLLATE "C"
 * in PostgreSQL on the text columns that are ordered or compared by range (times, tags,
 * device hash), so ordering is bytewise as in SQLite whatever the database's locale. Times
 * are ISO-8601 text and JSON columns TEXT (kept byte for byte) in both.
 */

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

interface Dialect {
  /** A table's own key. */
  pk: string;
  /** A column referring to a key. */
  ref: string;
  blob: string;
  real: string;
  /** Text ordered bytewise. */
  sorted: string;
  /** A number inside a JSON text column, by path. */
  jsonNumber(column: string, path: readonly string[]): string;
}

const SQLITE: Dialect = {
  pk: 'INTEGER PRIMARY KEY',
  ref: 'INTEGER',
  blob: 'BLOB',
  real: 'REAL',
  sorted: 'TEXT',
  jsonNumber: (column, path) => `json_extract(${column}, '$.${path.join('.')}')`,
};

const POSTGRES: Dialect = {
  pk: 'BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY',
  ref: 'BIGINT',
  blob: 'BYTEA',
  real: 'DOUBLE PRECISION',
  sorted: 'TEXT COLLATE "C"',
  jsonNumber: (column, path) => `(${column}::jsonb #>> '{${path.join(',')}}')::double precision`,
};

function migrations(d: Dialect): readonly Migration[] {
  return [
    {
      version: 1,
      name: 'runs, jobs, measurements, alignment',
      sql: `
CREATE TABLE runs (
  pk ${d.pk},
  run_id TEXT NOT NULL UNIQUE,
  suite_name TEXT NOT NULL,
  suite_path TEXT NOT NULL,
  suite_sha256 TEXT NOT NULL,
  git_commit TEXT,
  git_branch TEXT,
  started_at ${d.sorted} NOT NULL,
  ended_at ${d.sorted},
  host TEXT,
  status TEXT NOT NULL,
  recorded_at ${d.sorted} NOT NULL,
  -- the run record without its jobs (tool, argv, mode, device, schemaVersion), as JSON
  run_json TEXT NOT NULL
);
CREATE TABLE run_tags (
  run_pk ${d.ref} NOT NULL REFERENCES runs(pk) ON DELETE CASCADE,
  tag ${d.sorted} NOT NULL,
  tagged_at ${d.sorted} NOT NULL,
  PRIMARY KEY (run_pk, tag)
);
CREATE INDEX run_tags_tag ON run_tags(tag);
CREATE TABLE jobs (
  pk ${d.pk},
  run_pk ${d.ref} NOT NULL REFERENCES runs(pk) ON DELETE CASCADE,
  ord INTEGER NOT NULL,
  job_key TEXT NOT NULL,
  model_name TEXT NOT NULL,
  model_sha256 TEXT NOT NULL,
  engine_name TEXT NOT NULL,
  engine_version TEXT,
  engine_options_json TEXT NOT NULL,
  precision TEXT NOT NULL,
  device_hash ${d.sorted},
  device_json TEXT,
  status TEXT NOT NULL,
  reason TEXT,
  -- the job record without latency, samplesNs and alignment, as JSON
  job_json TEXT NOT NULL
);
CREATE INDEX jobs_run ON jobs(run_pk);
CREATE TABLE measurements (
  job_pk ${d.ref} PRIMARY KEY REFERENCES jobs(pk) ON DELETE CASCADE,
  repeats INTEGER NOT NULL,
  sample_count INTEGER NOT NULL,
  -- src/results/store/samples-codec.ts
  samples ${d.blob},
  summary_json TEXT
);
CREATE TABLE alignment (
  job_pk ${d.ref} NOT NULL REFERENCES jobs(pk) ON DELETE CASCADE,
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
ALTER TABLE measurements ADD COLUMN p50_ms ${d.real};
ALTER TABLE measurements ADD COLUMN p99_ms ${d.real};
UPDATE measurements SET
  p50_ms = ${d.jsonNumber('summary_json', ['percentiles', 'p50', 'value'])},
  p99_ms = ${d.jsonNumber('summary_json', ['percentiles', 'p99', 'value'])}
  WHERE summary_json IS NOT NULL;
`,
    },
  ];
}

/** The SQLite store's migrations. */
export const MIGRATIONS: readonly Migration[] = migrations(SQLITE);

/** The PostgreSQL store's migrations: the same versions and names. */
export const PG_MIGRATIONS: readonly Migration[] = migrations(POSTGRES);
