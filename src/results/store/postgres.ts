/**
 * The PostgreSQL backend of the results store (`--store postgres://user@host:port/db`), for a
 * team sharing one database: the same tables and behaviour as the SQLite store (the logic is
 * shared, sql-store.ts), in PostgreSQL's dialect (migrations.ts), through `pg`.
 * - Each recordRun is one transaction (a run id already stored is refused) holding a
 *   transaction-level advisory lock on the run id, so concurrent writers of one run id queue.
 * - Reads of several statements run in one REPEATABLE READ snapshot: never half a run.
 * - Migrations run under a session advisory lock: coordinators starting at once apply each
 *   migration once.
 * - A connection or database failure is an E_INFRA error (exit 3) that names the URL without
 *   its password. The password comes from the URL or PGPASSWORD (pg also reads ~/.pgpass).
 */
import pg from 'pg';
import { BenchalignError, describeError } from '../../errors.js';
import { PG_MIGRATIONS } from './migrations.js';
import { SqlResultsStore, migrate, type SqlExecutor, type StoreDriver } from './sql-store.js';
import type { OpenStoreOptions } from './types.js';
import { redactPostgresUrl } from '../../config/postgres-url.js';

export { redactPostgresUrl };

/** First key of every advisory lock benchalign takes ('benc'); the second says which. */
const LOCK_CLASS = 0x62656e63;
const MIGRATION_LOCK = 1;

function passwordOf(url: string): string | undefined {
  try {
    const u = new URL(url);
    const p = u.password !== '' ? decodeURIComponent(u.password) : (u.searchParams.get('password') ?? undefined);
    return p !== undefined && p.length > 0 ? p : undefined;
  } catch {
    return undefined;
  }
}

/** Turns `?` placeholders into `$1, $2, ...` (the shared SQL has no `?` elsewhere). */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** PostgreSQL text cannot hold NUL; the plain columns get U+FFFD (the JSON columns escape it, so records stay exact). */
function param(v: unknown): unknown {
  return typeof v === 'string' && v.includes('\u0000') ? v.split('\u0000').join('\uFFFD') : v;
}

class PostgresDriver implements StoreDriver {
  private readonly pool: pg.Pool;
  private readonly secrets: string[];

  constructor(pool: pg.Pool, secrets: string[]) {
    this.pool = pool;
    this.secrets = secrets;
    // an idle connection that dies (server restart) must not crash the process; the next query reports it
    this.pool.on('error', () => undefined);
  }

  /** A pg error as an Error whose message has no password in it (and is never empty). */
  private clean(e: unknown): Error {
    let text = describeError(e);
    if (text === '' && e instanceof AggregateError) text = e.errors.map(describeError).join('; ');
    if (text === '') text = String((e as { code?: unknown }).code ?? 'connection failed');
    for (const s of this.secrets) text = text.split(s).join('***');
    return new Error(text);
  }

  private executor(db: pg.Pool | pg.PoolClient): SqlExecutor {
    return {
      all: async <T>(sql: string, args: readonly unknown[] = []): Promise<T[]> => {
        try {
          const res = args.length > 0 ? await db.query(numbered(sql), args.map(param)) : await db.query(sql);
          return res.rows as T[];
        } catch (e) {
          throw this.clean(e);
        }
      },
      exec: async (sql: string): Promise<void> => {
        try {
          await db.query(sql);
        } catch (e) {
          throw this.clean(e);
        }
      },
    };
  }

  all<T>(sql: string, args?: readonly unknown[]): Promise<T[]> {
    return this.executor(this.pool).all<T>(sql, args);
  }

  exec(sql: string): Promise<void> {
    return this.executor(this.pool).exec(sql);
  }

  private async withClient<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (e) {
      throw this.clean(e);
    }
    let broken = false;
    try {
      return await fn(client);
    } catch (e) {
      broken = true;
      throw e;
    } finally {
      // a client that failed is dropped, not reused (its session state is unknown)
      client.release(broken);
    }
  }

  private transaction<T>(begin: string, fn: (tx: SqlExecutor) => Promise<T>, lockKey?: string): Promise<T> {
    return this.withClient(async (client) => {
      const tx = this.executor(client);
      await tx.exec(begin);
      try {
        if (lockKey !== undefined) await tx.all('SELECT pg_advisory_xact_lock(?::int4, hashtext(?))', [LOCK_CLASS, lockKey]);
        const out = await fn(tx);
        await tx.exec('COMMIT');
        return out;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw e;
      }
    });
  }

  write<T>(fn: (tx: SqlExecutor) => Promise<T>, lockKey?: string): Promise<T> {
    return this.transaction('BEGIN', fn, lockKey);
  }

  read<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.transaction('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', fn);
  }

  exclusive<T>(fn: (db: SqlExecutor) => Promise<T>): Promise<T> {
    return this.withClient(async (client) => {
      const db = this.executor(client);
      await db.all('SELECT pg_advisory_lock(?::int4, ?::int4)', [LOCK_CLASS, MIGRATION_LOCK]);
      try {
        return await fn(db);
      } finally {
        await db.all('SELECT pg_advisory_unlock(?::int4, ?::int4)', [LOCK_CLASS, MIGRATION_LOCK]).catch(() => undefined);
      }
    });
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/**
 * Opens the PostgreSQL store at `url` (the database must exist; its tables are created by the
 * migrations) and brings its schema up to date. The store's `path` is the URL without its
 * password. Anything that makes it unusable is an `E_INFRA` error (exit 3).
 */
export async function openPostgresStore(url: string, options: OpenStoreOptions = {}): Promise<SqlResultsStore> {
  const shown = redactPostgresUrl(url);
  const secrets = [passwordOf(url), process.env.PGPASSWORD].filter((s): s is string => s !== undefined && s.length >= 3);
  let driver: PostgresDriver | undefined;
  try {
    const pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 15_000, idleTimeoutMillis: 10_000, application_name: 'benchalign' });
    driver = new PostgresDriver(pool, secrets);
    await migrate(driver, options.migrations ?? PG_MIGRATIONS);
    return new SqlResultsStore(shown, driver);
  } catch (e) {
    await driver?.close().catch(() => undefined);
    if (e instanceof BenchalignError) throw new BenchalignError(e.code, `${shown}: ${e.message}`, { cause: e });
    let text = describeError(e);
    for (const s of secrets) text = text.split(s).join('***');
    throw new BenchalignError('E_INFRA', `cannot open the results store ${shown}: ${text}`, {
      expected: 'a reachable PostgreSQL server and an existing database; the password in the URL or PGPASSWORD',
    });
  }
}
