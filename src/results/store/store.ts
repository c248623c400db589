/**
 * The results store: an embedded SQLite database (better-sqlite3) holding every recorded
 * run, its jobs, their raw latency samples and their alignment. Writes are one transaction
 * per run, so a reader sees a run whole or not at all. `getRun` gives back exactly the
 * RunResults that was recorded (as JSON would: undefined fields absent, non-finite numbers
 * as null), samplesNs included.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { BenchalignError, describeError } from '../../errors.js';
import type { OutputAlignment } from '../../alignment/types.js';
import type { LatencyStats } from '../../metrics/types.js';
import type { DeviceFingerprint, JobResult, JobStatus, RunResults } from '../record.js';
import { MIGRATIONS, type Migration } from './migrations.js';
import { decodeSamples, encodeSamples } from './samples-codec.js';

export const DEFAULT_STORE_PATH = 'reports/benchalign.db';

export interface GitInfo {
  commit: string | null;
  branch: string | null;
}

/** The commit and branch of the git checkout at `cwd`, or nulls outside one. */
export function gitInfo(cwd: string = process.cwd()): GitInfo {
  const ask = (args: string[]): string | null => {
    try {
      const out = execFileSync('git', args, { cwd, stdio: ['ignore', 'pipe', 'ignore'], encoding: 'utf8', timeout: 5000 }).trim();
      return out.length > 0 ? out : null;
    } catch {
      return null;
    }
  };
  const commit = ask(['rev-parse', 'HEAD']);
  if (commit === null) return { commit: null, branch: null };
  const branch = ask(['rev-parse', '--abbrev-ref', 'HEAD']);
  return { commit, branch: branch === 'HEAD' ? null : branch };
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
  /** A prefix of the device fingerprint hash. */
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

interface RunRow {
  pk: number;
  run_id: string;
  suite_name: string;
  suite_sha256: string;
  git_commit: string | null;
  git_branch: string | null;
  started_at: string;
  ended_at: string | null;
  host: string | null;
  status: string;
  run_json: string;
}

interface JobRow {
  pk: number;
  job_json: string;
  samples: Buffer | null;
  summary_json: string | null;
}

function toJson(v: unknown): string {
  return JSON.stringify(v);
}

function plain<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/**
 * An open results store: the embedded SQLite file, or a shared PostgreSQL database
 * (`postgres://...`). Every method is asynchronous; close it when done.
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

/** True when `location` names a PostgreSQL database rather than a SQLite file. */
export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

/** The SQLite store (better-sqlite3 is synchronous; the methods wrap it). */
export class SqliteResultsStore implements ResultsStore {
  readonly path: string;
  private readonly db: Database.Database;

  constructor(path: string, db: Database.Database) {
    this.path = path;
    this.db = db;
  }

  /** Versions applied, ascending. */
  async migrationsApplied(): Promise<number[]> {
    return this.appliedSync();
  }

  private appliedSync(): number[] {
    return (this.db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as Array<{ version: number }>).map((r) => r.version);
  }

  /** Records a run (replacing a run with the same id) in one transaction; returns its id. */
  async recordRun(results: RunResults, options: RecordOptions = {}): Promise<string> {
    const git = options.git ?? gitInfo();
    const now = new Date().toISOString();
    const { jobs, ...runPart } = plain(results);
    const insertRun = this.db.prepare(
      `INSERT INTO runs (run_id, suite_name, suite_path, suite_sha256, git_commit, git_branch, started_at, ended_at, host, status, recorded_at, run_json)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const insertJob = this.db.prepare(
      `INSERT INTO jobs (run_pk, ord, job_key, model_name, model_sha256, engine_name, engine_version, engine_options_json, precision, device_hash, device_json, status, reason, job_json)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const hasP = this.appliedSync().includes(2);
    const insertMeasurement = this.db.prepare(
      hasP
        ? 'INSERT INTO measurements (job_pk, repeats, sample_count, samples, summary_json, p50_ms, p99_ms) VALUES (?, ?, ?, ?, ?, ?, ?)'
        : 'INSERT INTO measurements (job_pk, repeats, sample_count, samples, summary_json) VALUES (?, ?, ?, ?, ?)',
    );
    const insertAlignment = this.db.prepare('INSERT INTO alignment (job_pk, ord, output_name, passed, metrics_json) VALUES (?, ?, ?, ?, ?)');
    const write = this.db.transaction(() => {
      this.db.prepare('DELETE FROM runs WHERE run_id = ?').run(results.run.id);
      const runPk = Number(
        insertRun.run(
          results.run.id,
          results.suite.name,
          results.suite.path,
          results.suite.sha256,
          git.commit,
          git.branch,
          results.run.startedAt,
          results.run.endedAt ?? null,
          results.device?.hostname ?? hostname(),
          results.run.status,
          now,
          toJson(runPart),
        ).lastInsertRowid,
      );
      jobs.forEach((job, ord) => {
        const { latency, samplesNs, alignment, ...rest } = job;
        const jobPk = Number(
          insertJob.run(
            runPk,
            ord,
            job.key,
            job.model.name,
            job.model.sha256,
            job.engine.name,
            job.engine.version ?? null,
            toJson(job.engine.options),
            job.engine.precision,
            job.device?.hash ?? null,
            job.device ? toJson(job.device) : null,
            job.status,
            job.reason ?? null,
            toJson(rest),
          ).lastInsertRowid,
        );
        if (latency !== undefined || samplesNs !== undefined) {
          const blob = samplesNs !== undefined ? Buffer.from(encodeSamples(samplesNs)) : null;
          const args: unknown[] = [
            jobPk,
            samplesNs?.length ?? latency?.repeats ?? 0,
            samplesNs ? samplesNs.reduce((a, r) => a + r.length, 0) : (latency?.count ?? 0),
            blob,
            latency !== undefined ? toJson(latency) : null,
          ];
          if (hasP) args.push(latency?.percentiles.p50.value ?? null, latency?.percentiles.p99.value ?? null);
          insertMeasurement.run(...args);
        }
        alignment?.forEach((o, i) => insertAlignment.run(jobPk, i, o.name, o.passed ? 1 : 0, toJson(o)));
      });
      const tag = this.db.prepare('INSERT OR IGNORE INTO run_tags (run_pk, tag, tagged_at) VALUES (?, ?, ?)');
      for (const t of options.tags ?? []) tag.run(runPk, t, now);
    });
    write.immediate();
    return results.run.id;
  }

  /** Adds a tag to a recorded run. */
  async tagRun(runId: string, tag: string): Promise<void> {
    const row = this.db.prepare('SELECT pk FROM runs WHERE run_id = ?').get(runId) as { pk: number } | undefined;
    if (!row) throw new BenchalignError('E_USAGE', `no run ${runId} in the store ${this.path}`);
    this.db.prepare('INSERT OR IGNORE INTO run_tags (run_pk, tag, tagged_at) VALUES (?, ?, ?)').run(row.pk, tag, new Date().toISOString());
  }

  /** The run id for a run id, or for a tag its most recent run; undefined when neither. */
  async resolveRunId(idOrTag: string): Promise<string | undefined> {
    return this.resolveSync(idOrTag);
  }

  private resolveSync(idOrTag: string): string | undefined {
    const byId = this.db.prepare('SELECT run_id FROM runs WHERE run_id = ?').get(idOrTag) as { run_id: string } | undefined;
    if (byId) return byId.run_id;
    const byTag = this.db
      .prepare('SELECT r.run_id FROM runs r JOIN run_tags t ON t.run_pk = r.pk WHERE t.tag = ? ORDER BY r.started_at DESC, r.pk DESC LIMIT 1')
      .get(idOrTag) as { run_id: string } | undefined;
    return byTag?.run_id;
  }

  /** A recorded run by id or tag (the most recent run with that tag), whole; undefined if none. */
  async getRun(idOrTag: string): Promise<RunResults | undefined> {
    const id = this.resolveSync(idOrTag);
    if (id === undefined) return undefined;
    const read = this.db.transaction((): RunResults | undefined => {
      const run = this.db.prepare('SELECT * FROM runs WHERE run_id = ?').get(id) as RunRow | undefined;
      if (!run) return undefined;
      const rows = this.db
        .prepare('SELECT j.pk, j.job_json, m.samples, m.summary_json FROM jobs j LEFT JOIN measurements m ON m.job_pk = j.pk WHERE j.run_pk = ? ORDER BY j.ord')
        .all(run.pk) as JobRow[];
      const alignStmt = this.db.prepare('SELECT metrics_json FROM alignment WHERE job_pk = ? ORDER BY ord');
      const jobs: JobResult[] = rows.map((r) => {
        const job = JSON.parse(r.job_json) as JobResult;
        if (r.summary_json !== null) job.latency = JSON.parse(r.summary_json) as LatencyStats;
        if (r.samples !== null) job.samplesNs = decodeSamples(new Uint8Array(r.samples.buffer, r.samples.byteOffset, r.samples.byteLength));
        const al = alignStmt.all(r.pk) as Array<{ metrics_json: string }>;
        if (al.length > 0) job.alignment = al.map((a) => JSON.parse(a.metrics_json) as OutputAlignment);
        return job;
      });
      const head = JSON.parse(run.run_json) as Omit<RunResults, 'jobs'>;
      return { ...head, jobs };
    });
    return read();
  }

  private tagsOf(runPk: number): string[] {
    return (this.db.prepare('SELECT tag FROM run_tags WHERE run_pk = ? ORDER BY tagged_at, tag').all(runPk) as Array<{ tag: string }>).map((t) => t.tag);
  }

  /** Recorded runs, most recent first. */
  async listRuns(filter: RunFilter = {}): Promise<RunSummary[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.tag !== undefined) {
      where.push('EXISTS (SELECT 1 FROM run_tags t WHERE t.run_pk = r.pk AND t.tag = ?)');
      args.push(filter.tag);
    }
    if (filter.suite !== undefined) {
      where.push('r.suite_name = ?');
      args.push(filter.suite);
    }
    const sql = `SELECT r.*, (SELECT COUNT(*) FROM jobs j WHERE j.run_pk = r.pk) AS njobs FROM runs r
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY r.started_at DESC, r.pk DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...args, filter.limit ?? 100) as Array<RunRow & { njobs: number }>;
    return rows.map((r) => ({
      id: r.run_id,
      suiteName: r.suite_name,
      suiteSha256: r.suite_sha256,
      startedAt: r.started_at,
      endedAt: r.ended_at,
      status: r.status,
      host: r.host,
      gitCommit: r.git_commit,
      gitBranch: r.git_branch,
      tags: this.tagsOf(r.pk),
      jobs: r.njobs,
    }));
  }

  /** Every recorded job matching the filter, oldest run first, with its latency summary. */
  async jobHistory(filter: HistoryFilter = {}): Promise<HistoryPoint[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const eq = (col: string, v: string | undefined): void => {
      if (v === undefined) return;
      where.push(`${col} = ?`);
      args.push(v);
    };
    eq('j.model_name', filter.model);
    eq('j.engine_name', filter.engine);
    eq('j.job_key', filter.key);
    if (filter.deviceHash !== undefined) {
      where.push("j.device_hash LIKE ? ESCAPE '\\'");
      args.push(`${filter.deviceHash.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    }
    if (filter.before !== undefined) {
      where.push('r.started_at < ?');
      args.push(filter.before);
    }
    if (filter.excludeRunId !== undefined) {
      where.push('r.run_id <> ?');
      args.push(filter.excludeRunId);
    }
    const sql = `SELECT r.pk AS run_pk, r.run_id, r.started_at, r.git_commit, j.job_key, j.model_name, j.engine_name, j.engine_version, j.device_hash, j.status, m.summary_json
      FROM jobs j JOIN runs r ON r.pk = j.run_pk LEFT JOIN measurements m ON m.job_pk = j.pk
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY r.started_at, r.pk, j.ord`;
    const rows = this.db.prepare(sql).all(...args) as Array<{
      run_pk: number;
      run_id: string;
      started_at: string;
      git_commit: string | null;
      job_key: string;
      model_name: string;
      engine_name: string;
      engine_version: string | null;
      device_hash: string | null;
      status: JobStatus;
      summary_json: string | null;
    }>;
    const tagCache = new Map<number, string[]>();
    return rows.map((r) => {
      let tags = tagCache.get(r.run_pk);
      if (!tags) {
        tags = this.tagsOf(r.run_pk);
        tagCache.set(r.run_pk, tags);
      }
      const p: HistoryPoint = {
        runId: r.run_id,
        startedAt: r.started_at,
        tags,
        gitCommit: r.git_commit,
        key: r.job_key,
        model: r.model_name,
        engine: r.engine_name,
        engineVersion: r.engine_version,
        deviceHash: r.device_hash,
        status: r.status,
      };
      if (r.summary_json !== null) p.latency = JSON.parse(r.summary_json) as LatencyStats;
      return p;
    });
  }

  /** The device fingerprint of a job as recorded (for explanations). */
  async deviceOf(runId: string, key: string): Promise<DeviceFingerprint | undefined> {
    const row = this.db
      .prepare('SELECT j.device_json FROM jobs j JOIN runs r ON r.pk = j.run_pk WHERE r.run_id = ? AND j.job_key = ?')
      .get(runId, key) as { device_json: string | null } | undefined;
    return row?.device_json ? (JSON.parse(row.device_json) as DeviceFingerprint) : undefined;
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

/** Applies the migrations not yet applied, each in its own transaction. */
export function applyMigrations(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): number[] {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
  const applied = new Set((db.prepare('SELECT version FROM schema_migrations').all() as Array<{ version: number }>).map((r) => r.version));
  const known = new Set(migrations.map((m) => m.version));
  const unknown = [...applied].filter((v) => !known.has(v));
  if (unknown.length > 0) {
    throw new BenchalignError('E_INFRA', `the store has schema version(s) ${unknown.join(', ')} that this benchalign does not know`, {
      expected: 'a store written by this or an older benchalign version',
    });
  }
  const done: number[] = [];
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, new Date().toISOString());
    }).immediate();
    done.push(m.version);
  }
  return done;
}

export interface OpenStoreOptions {
  /** Refuse to create a missing file. */
  mustExist?: boolean;
  /** For tests: the migration set (default all). */
  migrations?: readonly Migration[];
}

/**
 * Opens (creating when allowed) the store at `path` (a SQLite file, or a `postgres://` URL)
 * and brings its schema up to date.
 * Anything that makes it unusable is an `E_INFRA` error (exit 3).
 */
export async function openStore(path: string, options: OpenStoreOptions = {}): Promise<ResultsStore> {
  if (isPostgresUrl(path)) {
    throw new BenchalignError('E_USAGE', 'a PostgreSQL results store is not supported by this build', { expected: 'a SQLite store path' });
  }
  return openSqliteStore(path, options);
}

/** Opens the SQLite store at `path` (see {@link openStore}). */
export function openSqliteStore(path: string, options: OpenStoreOptions = {}): SqliteResultsStore {
  const abs = resolve(path);
  let db: Database.Database | undefined;
  try {
    if (!options.mustExist) mkdirSync(dirname(abs), { recursive: true });
    db = new Database(abs, { fileMustExist: options.mustExist === true, timeout: 10_000 });
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    applyMigrations(db, options.migrations ?? MIGRATIONS);
    return new SqliteResultsStore(abs, db);
  } catch (e) {
    db?.close();
    if (e instanceof BenchalignError) throw new BenchalignError(e.code, `${abs}: ${e.message}`, { cause: e });
    throw new BenchalignError('E_INFRA', `cannot open the results store: ${describeError(e)}`, { file: abs, expected: 'a benchalign SQLite store', cause: e });
  }
}
