/**
 * The store's logic, once, over a small SQL driver: the SQLite and PostgreSQL backends only
 * run statements (written with `?` placeholders, in the SQL both dialects share), open
 * transactions and take locks. The row <-> record mapping is in records.ts.
 */
import { BenchalignError, describeError } from '../../errors.js';
import type { DeviceFingerprint, RunResults } from '../../model/record.js';
import type { Migration } from './migrations.js';
import {
  ALIGNMENT_COLUMNS,
  JOB_COLUMNS,
  MEASUREMENT_COLUMNS,
  RUN_COLUMNS,
  fromRows,
  toHistoryPoint,
  toRows,
  toRunSummary,
  type AlignmentReadRow,
  type HistoryRow,
  type JobReadRow,
  type Pk,
  type RunRow,
} from './records.js';
import type { HistoryFilter, HistoryPoint, RecordOptions, ResultsStore, RunFilter, RunSummary } from './types.js';

/** Runs statements with `?` placeholders; rows come back as objects keyed by column name. */
export interface SqlExecutor {
  all<T>(sql: string, args?: readonly unknown[]): Promise<T[]>;
  /** Runs a script of statements without parameters (a migration). */
  exec(sql: string): Promise<void>;
}

/** What a backend provides. */
export interface StoreDriver extends SqlExecutor {
  /** Runs `fn` in one write transaction, serialised with other writers (and, with `lockKey`, with writers of that key). */
  write<T>(fn: (tx: SqlExecutor) => Promise<T>, lockKey?: string): Promise<T>;
  /** Runs `fn` in one read-only transaction: one consistent snapshot. */
  read<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Runs `fn` holding the store-wide migration lock (across processes), outside a transaction. */
  exclusive<T>(fn: (db: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

function insertSql(table: string, columns: readonly string[], returning = ''): string {
  return `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})${returning}`;
}

const INSERT_RUN = insertSql('runs', RUN_COLUMNS, ' RETURNING pk');
const INSERT_JOB = insertSql('jobs', JOB_COLUMNS, ' RETURNING pk');
const INSERT_MEASUREMENT = insertSql('measurements', MEASUREMENT_COLUMNS);
const INSERT_MEASUREMENT_V1 = insertSql('measurements', MEASUREMENT_COLUMNS.slice(0, 5));
const INSERT_ALIGNMENT = insertSql('alignment', ALIGNMENT_COLUMNS);
const INSERT_TAG = 'INSERT INTO run_tags (run_pk, tag, tagged_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING';

async function appliedVersions(db: SqlExecutor): Promise<number[]> {
  return (await db.all<{ version: number | string }>('SELECT version FROM schema_migrations ORDER BY version')).map((r) => Number(r.version));
}

/**
 * Applies the migrations not yet applied, in order, each in its own transaction with its
 * `schema_migrations` row, under the backend's migration lock (so two coordinators opening one
 * store at once do not race). A version this list does not know (a newer benchalign wrote the
 * store) is refused. Returns the versions applied now.
 */
export async function migrate(driver: StoreDriver, migrations: readonly Migration[]): Promise<number[]> {
  return driver.exclusive(async (db) => {
    await db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    const applied = new Set(await appliedVersions(db));
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
      const now = await driver.write(async (tx) => {
        // checked again inside the transaction: a backend without a cross-process lock may race here
        if ((await appliedVersions(tx)).includes(m.version)) return false;
        await tx.exec(m.sql);
        await tx.all('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [m.version, m.name, new Date().toISOString()]);
        return true;
      });
      if (now) done.push(m.version);
    }
    return done;
  });
}

/** A results store over a driver: every method behaves the same whatever the backend. */
export class SqlResultsStore implements ResultsStore {
  readonly path: string;
  private readonly driver: StoreDriver;

  constructor(path: string, driver: StoreDriver) {
    this.path = path;
    this.driver = driver;
  }

  /** Runs `fn`, turning a database failure into an E_INFRA error naming the store. */
  private async guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof BenchalignError) throw e;
      throw new BenchalignError('E_INFRA', `results store ${this.path}: cannot ${what}: ${describeError(e)}`, { cause: e });
    }
  }

  async migrationsApplied(): Promise<number[]> {
    return this.guard('read the schema version', () => appliedVersions(this.driver));
  }

  async recordRun(results: RunResults, options: RecordOptions = {}): Promise<string> {
    const rows = toRows(results, options);
    await this.guard(`record run ${results.run.id}`, () =>
      this.driver.write(async (tx) => {
        const hasP = (await appliedVersions(tx)).includes(2);
        await tx.all('DELETE FROM runs WHERE run_id = ?', [rows.run.run_id]);
        const [run] = await tx.all<{ pk: Pk }>(INSERT_RUN, RUN_COLUMNS.map((c) => rows.run[c]));
        const runPk = (run as { pk: Pk }).pk;
        for (const { job, measurement, alignment } of rows.jobs) {
          const [j] = await tx.all<{ pk: Pk }>(INSERT_JOB, [runPk, ...JOB_COLUMNS.slice(1).map((c) => job[c as keyof typeof job])]);
          const jobPk = (j as { pk: Pk }).pk;
          if (measurement) {
            const values = MEASUREMENT_COLUMNS.slice(1).map((c) => measurement[c as keyof typeof measurement]);
            await tx.all(hasP ? INSERT_MEASUREMENT : INSERT_MEASUREMENT_V1, [jobPk, ...(hasP ? values : values.slice(0, 4))]);
          }
          for (const a of alignment) await tx.all(INSERT_ALIGNMENT, [jobPk, ...ALIGNMENT_COLUMNS.slice(1).map((c) => a[c as keyof typeof a])]);
        }
        for (const t of rows.tags) await tx.all(INSERT_TAG, [runPk, t, rows.now]);
      }, rows.run.run_id as string),
    );
    return results.run.id;
  }

  async tagRun(runId: string, tag: string): Promise<void> {
    const found = await this.guard(`tag run ${runId}`, () =>
      this.driver.write(async (tx) => {
        const [row] = await tx.all<{ pk: Pk }>('SELECT pk FROM runs WHERE run_id = ?', [runId]);
        if (row) await tx.all(INSERT_TAG, [row.pk, tag, new Date().toISOString()]);
        return row !== undefined;
      }),
    );
    if (!found) throw new BenchalignError('E_USAGE', `no run ${runId} in the store ${this.path}`);
  }

  private async resolveIn(db: SqlExecutor, idOrTag: string): Promise<string | undefined> {
    const [byId] = await db.all<{ run_id: string }>('SELECT run_id FROM runs WHERE run_id = ?', [idOrTag]);
    if (byId) return byId.run_id;
    const [byTag] = await db.all<{ run_id: string }>(
      'SELECT r.run_id FROM runs r JOIN run_tags t ON t.run_pk = r.pk WHERE t.tag = ? ORDER BY r.started_at DESC, r.pk DESC LIMIT 1',
      [idOrTag],
    );
    return byTag?.run_id;
  }

  async resolveRunId(idOrTag: string): Promise<string | undefined> {
    return this.guard(`look up ${idOrTag}`, () => this.resolveIn(this.driver, idOrTag));
  }

  async getRun(idOrTag: string): Promise<RunResults | undefined> {
    return this.guard(`read run ${idOrTag}`, () =>
      this.driver.read(async (tx) => {
        const id = await this.resolveIn(tx, idOrTag);
        if (id === undefined) return undefined;
        const [run] = await tx.all<RunRow>('SELECT * FROM runs WHERE run_id = ?', [id]);
        if (!run) return undefined;
        const jobs = await tx.all<JobReadRow>(
          'SELECT j.pk, j.job_json, m.samples, m.summary_json FROM jobs j LEFT JOIN measurements m ON m.job_pk = j.pk WHERE j.run_pk = ? ORDER BY j.ord',
          [run.pk],
        );
        const alignment = await tx.all<AlignmentReadRow>(
          'SELECT a.job_pk, a.metrics_json FROM alignment a JOIN jobs j ON j.pk = a.job_pk WHERE j.run_pk = ? ORDER BY j.ord, a.ord',
          [run.pk],
        );
        return fromRows(run, jobs, alignment);
      }),
    );
  }

  private async tagsOf(db: SqlExecutor, runPk: Pk): Promise<string[]> {
    return (await db.all<{ tag: string }>('SELECT tag FROM run_tags WHERE run_pk = ? ORDER BY tagged_at, tag', [runPk])).map((t) => t.tag);
  }

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
    return this.guard('list runs', () =>
      this.driver.read(async (tx) => {
        const rows = await tx.all<RunRow & { njobs: number | string }>(sql, [...args, Math.max(0, Math.floor(filter.limit ?? 100))]);
        const out: RunSummary[] = [];
        for (const r of rows) out.push(toRunSummary(r, await this.tagsOf(tx, r.pk)));
        return out;
      }),
    );
  }

  async jobHistory(filter: HistoryFilter = {}): Promise<HistoryPoint[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const cond = (sql: string, v: string | undefined): void => {
      if (v === undefined) return;
      where.push(sql);
      args.push(v);
    };
    cond('j.model_name = ?', filter.model);
    cond('j.engine_name = ?', filter.engine);
    cond('j.job_key = ?', filter.key);
    cond("lower(j.device_hash) LIKE ? ESCAPE '\\'", filter.deviceHash === undefined ? undefined : `${filter.deviceHash.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    cond('r.started_at < ?', filter.before);
    cond('r.run_id <> ?', filter.excludeRunId);
    const sql = `SELECT r.pk AS run_pk, r.run_id, r.started_at, r.git_commit, j.job_key, j.model_name, j.engine_name, j.engine_version, j.device_hash, j.status, m.summary_json
      FROM jobs j JOIN runs r ON r.pk = j.run_pk LEFT JOIN measurements m ON m.job_pk = j.pk
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY r.started_at, r.pk, j.ord`;
    return this.guard('read the job history', () =>
      this.driver.read(async (tx) => {
        const rows = await tx.all<HistoryRow>(sql, args);
        const tagCache = new Map<string, string[]>();
        const out: HistoryPoint[] = [];
        for (const r of rows) {
          let tags = tagCache.get(String(r.run_pk));
          if (!tags) {
            tags = await this.tagsOf(tx, r.run_pk);
            tagCache.set(String(r.run_pk), tags);
          }
          out.push(toHistoryPoint(r, tags));
        }
        return out;
      }),
    );
  }

  async deviceOf(runId: string, key: string): Promise<DeviceFingerprint | undefined> {
    const [row] = await this.guard('read a device fingerprint', () =>
      this.driver.all<{ device_json: string | null }>('SELECT j.device_json FROM jobs j JOIN runs r ON r.pk = j.run_pk WHERE r.run_id = ? AND j.job_key = ?', [runId, key]),
    );
    return row?.device_json ? (JSON.parse(row.device_json) as DeviceFingerprint) : undefined;
  }

  async close(): Promise<void> {
    await this.driver.close();
  }
}
