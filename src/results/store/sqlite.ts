/**
 * The SQLite backend of the results store (better-sqlite3, synchronous): an embedded file in
 * WAL mode. All statements of the process's SQLite stores go through one queue, so an
 * asynchronous caller never runs a statement inside another's open transaction, and a second
 * connection of this process never busy-waits (blocking the thread) on a transaction the first
 * cannot finish. Writes are `BEGIN IMMEDIATE` transactions: other processes' writers wait
 * (busy timeout 10 s); readers see a snapshot (WAL).
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { BenchalignError, describeError } from '../../errors.js';
import { MIGRATIONS } from './migrations.js';
import { SqlResultsStore, migrate, type SqlExecutor, type StoreDriver } from './sql-store.js';
import type { OpenStoreOptions } from './types.js';

/** The process-wide queue of SQLite statements and transactions. */
let queue: Promise<unknown> = Promise.resolve();

class SqliteDriver implements StoreDriver {
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  /** Statements run directly (the caller holds the queue). */
  private readonly direct: SqlExecutor;

  constructor(db: Database.Database) {
    this.db = db;
    this.direct = {
      all: async <T>(sql: string, args: readonly unknown[] = []): Promise<T[]> => this.allSync<T>(sql, args),
      exec: async (sql: string): Promise<void> => {
        this.db.exec(sql);
      },
    };
  }

  private allSync<T>(sql: string, args: readonly unknown[]): T[] {
    let st = this.statements.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
    }
    if (st.reader) return st.all(...args) as T[];
    st.run(...args);
    return [];
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = queue.then(fn, fn);
    queue = next.catch(() => undefined);
    return next;
  }

  all<T>(sql: string, args: readonly unknown[] = []): Promise<T[]> {
    return this.serial(async () => this.allSync<T>(sql, args));
  }

  exec(sql: string): Promise<void> {
    return this.serial(() => this.direct.exec(sql));
  }

  private transaction<T>(begin: string, fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.serial(async () => {
      this.db.exec(begin);
      try {
        const out = await fn(this.direct);
        this.db.exec('COMMIT');
        return out;
      } catch (e) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw e;
      }
    });
  }

  write<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.transaction('BEGIN IMMEDIATE', fn);
  }

  read<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.transaction('BEGIN DEFERRED', fn);
  }

  /** SQLite's own file lock serialises writers; migrate re-checks each version inside its write. */
  exclusive<T>(fn: (db: SqlExecutor) => Promise<T>): Promise<T> {
    return fn(this);
  }

  async close(): Promise<void> {
    await this.serial(async () => this.db.close());
  }
}

/** Opens (creating when allowed) the SQLite store at `path` and brings its schema up to date. */
export async function openSqliteStore(path: string, options: OpenStoreOptions = {}): Promise<SqlResultsStore> {
  const abs = resolve(path);
  let db: Database.Database | undefined;
  try {
    if (!options.mustExist) mkdirSync(dirname(abs), { recursive: true });
    db = new Database(abs, { fileMustExist: options.mustExist === true, timeout: 10_000 });
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    const driver = new SqliteDriver(db);
    await migrate(driver, options.migrations ?? MIGRATIONS);
    return new SqlResultsStore(abs, driver);
  } catch (e) {
    db?.close();
    if (e instanceof BenchalignError) throw new BenchalignError(e.code, `${abs}: ${e.message}`, { cause: e });
    throw new BenchalignError('E_INFRA', `cannot open the results store: ${describeError(e)}`, { file: abs, expected: 'a benchalign SQLite store', cause: e });
  }
}
