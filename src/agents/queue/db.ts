/**
 * The fleet queue's database (docs/fleet.md): a PostgreSQL database holding pg-boss's queue
 * (schema `pgboss`, the library's own tables: delivery with SKIP LOCKED, retries, cancel,
 * cron) and benchalign's own tables next to it (`fleet_*`): the runs, every job with its
 * payload, state and result, the agents with their heartbeats, the job queues by the labels
 * and engine they need, and the artifacts by sha256.
 *
 * Credentials: the password comes from the URL, PGPASSWORD or a pgpass file (PGPASSFILE,
 * ~/.pgpass), all read by `pg`; it is never printed (messages show the URL without it) nor
 * written into a table or a result.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import PgBoss from 'pg-boss';
import { BenchalignError, describeError } from '../../errors.js';
import { isPostgresUrl, redactPostgresUrl } from '../../config/postgres-url.js';

/** First key of every advisory lock benchalign takes ('benc'); 3: the fleet tables' setup. */
const LOCK_CLASS = 0x62656e63;
const FLEET_SCHEMA_LOCK = 3;

/** Default largest artifact kept in the queue database (one bytea row each). */
export const DEFAULT_QUEUE_MAX_ARTIFACT_BYTES = 256 * 1024 ** 2;
/** Default agent heartbeat, ms; an agent silent for 3 heartbeats is taken for dead. */
export const DEFAULT_HEARTBEAT_MS = 5000;
/** Missed heartbeats after which an agent's job is given to another agent. */
export const STALE_HEARTBEATS = 3;

const FLEET_SCHEMA = `
CREATE TABLE IF NOT EXISTS fleet_runs (
  run_id text PRIMARY KEY,
  created_at timestamptz NOT NULL DEFAULT now(),
  state text NOT NULL,
  spec jsonb NOT NULL,
  ended_at timestamptz,
  recorded_at timestamptz
);
CREATE TABLE IF NOT EXISTS fleet_queues (
  name text PRIMARY KEY,
  engine text NOT NULL,
  labels jsonb NOT NULL
);
CREATE TABLE IF NOT EXISTS fleet_jobs (
  run_id text NOT NULL REFERENCES fleet_runs (run_id) ON DELETE CASCADE,
  job_key text NOT NULL,
  idx integer NOT NULL,
  queue text NOT NULL,
  boss_id uuid NOT NULL,
  payload jsonb NOT NULL,
  state text NOT NULL,
  attempt integer NOT NULL DEFAULT 0,
  repeats_done integer NOT NULL DEFAULT 0,
  max_attempts integer NOT NULL,
  agent_id text,
  agents jsonb NOT NULL DEFAULT '[]',
  failures jsonb NOT NULL DEFAULT '[]',
  started_at timestamptz,
  taken_at timestamptz,
  ended_at timestamptz,
  exec_ms double precision,
  result jsonb,
  PRIMARY KEY (run_id, job_key)
);
CREATE INDEX IF NOT EXISTS fleet_jobs_running ON fleet_jobs (agent_id) WHERE state = 'running';
CREATE TABLE IF NOT EXISTS fleet_agents (
  agent_id text PRIMARY KEY,
  name text NOT NULL,
  labels jsonb NOT NULL,
  engines jsonb NOT NULL,
  fingerprint jsonb,
  heartbeat_ms integer NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  last_seen timestamptz NOT NULL DEFAULT now(),
  state text NOT NULL,
  jobs_run integer NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS fleet_artifacts (
  sha256 text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  size bigint NOT NULL,
  data bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
`;

/** States of a fleet job; the last three are final. */
export type FleetJobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
/** States of a run: running until every job is final; cancelled by `runs cancel`. */
export type FleetRunState = 'running' | 'finished' | 'cancelled';

/** The queue of jobs that need `engine` and `labels`: one pg-boss queue per distinct need. */
export function queueName(engine: string, labels: Record<string, string>): string {
  const canon = JSON.stringify([engine, Object.keys(labels).sort().map((k) => [k, labels[k]])]);
  return `benchalign.fleet.${createHash('sha256').update(canon).digest('hex').slice(0, 20)}`;
}

/** Checks a queue URL: postgres:// or postgresql://. Throws E_USAGE naming the flag. */
export function checkQueueUrl(url: string, flag = '--queue'): void {
  if (!isPostgresUrl(url)) throw new BenchalignError('E_USAGE', `${flag} ${redactPostgresUrl(url)}`, { expected: 'a postgres://user@host:port/db URL (the password in the URL, PGPASSWORD or a pgpass file)' });
}

function secretsOf(url: string): string[] {
  const out: string[] = [];
  try {
    const u = new URL(url);
    if (u.password !== '') out.push(decodeURIComponent(u.password));
    const p = u.searchParams.get('password');
    if (p) out.push(p);
  } catch {
    // not a URL: nothing to hide but the environment's
  }
  if (process.env.PGPASSWORD) out.push(process.env.PGPASSWORD);
  return out.filter((s) => s.length >= 3);
}

/** A connection to the queue database: a pool for benchalign's tables and a started pg-boss. */
export class FleetDb {
  readonly shown: string;
  private readonly secrets: string[];

  private constructor(
    readonly pool: pg.Pool,
    readonly boss: PgBoss,
    url: string,
  ) {
    this.shown = redactPostgresUrl(url);
    this.secrets = secretsOf(url);
  }

  /**
   * Connects, installs or migrates pg-boss's schema and the fleet tables (each once, under
   * locks, however many processes start together). `worker` processes also run pg-boss's
   * maintenance (expiry of jobs stuck active, archiving) and its cron scheduler.
   */
  static async open(url: string, options: { worker?: boolean; applicationName?: string } = {}): Promise<FleetDb> {
    checkQueueUrl(url);
    const shown = redactPostgresUrl(url);
    const secrets = secretsOf(url);
    const hide = (text: string): string => secrets.reduce((t, s) => t.split(s).join('***'), text);
    const pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 15_000, idleTimeoutMillis: 10_000, application_name: options.applicationName ?? 'benchalign' });
    pool.on('error', () => undefined);
    const boss = new PgBoss({
      connectionString: url,
      max: 3,
      application_name: options.applicationName ?? 'benchalign',
      supervise: options.worker === true,
      schedule: options.worker === true,
      // a fired schedule is sent within seconds of its tick (pg-boss's defaults: 30 s, 5 s)
      cronMonitorIntervalSeconds: 10,
      cronWorkerIntervalSeconds: 2,
      migrate: true,
    });
    boss.on('error', (e: Error) => process.stderr.write(`benchalign: queue ${shown}: ${hide(describeError(e))}\n`));
    try {
      const client = await pool.connect();
      try {
        await client.query('SELECT pg_advisory_lock($1::int4, $2::int4)', [LOCK_CLASS, FLEET_SCHEMA_LOCK]);
        try {
          await client.query(FLEET_SCHEMA);
        } finally {
          await client.query('SELECT pg_advisory_unlock($1::int4, $2::int4)', [LOCK_CLASS, FLEET_SCHEMA_LOCK]).catch(() => undefined);
        }
      } finally {
        client.release();
      }
      await boss.start();
    } catch (e) {
      await boss.stop({ graceful: false, wait: false }).catch(() => undefined);
      await pool.end().catch(() => undefined);
      throw new BenchalignError('E_INFRA', `cannot open the job queue ${shown}: ${hide(describeError(e))}`, {
        expected: 'a reachable PostgreSQL server and an existing database; the password in the URL, PGPASSWORD or a pgpass file',
      });
    }
    return new FleetDb(pool, boss, url);
  }

  /** An error of this database as an E_INFRA error without the password. */
  infra(what: string, e: unknown): BenchalignError {
    if (e instanceof BenchalignError) return e;
    const text = this.secrets.reduce((t, s) => t.split(s).join('***'), describeError(e));
    return new BenchalignError('E_INFRA', `job queue ${this.shown}: ${what}: ${text}`);
  }

  async query<T extends pg.QueryResultRow = Record<string, unknown>>(sql: string, args: unknown[] = []): Promise<T[]> {
    return (await this.pool.query<T>(sql, args)).rows;
  }

  /** Runs `fn` in one transaction; `boss` is a pg-boss `db` option that runs its statements in it too. */
  async transaction<T>(fn: (client: pg.PoolClient, boss: { db: PgBoss.Db }) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      const out = await fn(client, { db: { executeSql: async (text, values) => ({ rows: (await client.query(text, values)).rows }) } });
      await client.query('COMMIT');
      return out;
    } catch (e) {
      broken = true;
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    await this.boss.stop({ graceful: false, wait: true, close: true }).catch(() => undefined);
    await this.pool.end().catch(() => undefined);
  }
}
