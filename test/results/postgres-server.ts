/**
 * A real, throwaway PostgreSQL server for the tests, from Debian's packages
 * (/usr/lib/postgresql/<version>/bin; scripts/setup-test-env.sh installs them as root):
 * initdb in a temporary directory, listening on a free loopback port only (no Unix socket),
 * trust authentication for 127.0.0.1, except the role `alice`, who must give her password
 * (scram-sha-256). PostgreSQL refuses to run as root, so as root it runs as the `postgres`
 * system user (runuser), in a directory owned by it.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export const ALICE_PASSWORD = 's3cret-Pa55w0rd';

export interface PgServer {
  port: number;
  /** postgres://postgres@127.0.0.1:port/<db> (trust). */
  url(db: string): string;
  /** Creates a database (owned by `owner`, default postgres) and returns its URL. */
  createDatabase(name: string, owner?: string): Promise<string>;
  /** Runs SQL as the superuser on a database; the rows of the last statement. */
  sql(db: string, sql: string): Promise<Array<Record<string, unknown>>>;
  stop(): void;
}

/** The newest /usr/lib/postgresql/<v>/bin holding initdb, pg_ctl and postgres. */
export function findPgBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => /^\d+(\.\d+)?$/.test(v)).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) {
    const bin = join(root, v, 'bin');
    if (['initdb', 'pg_ctl', 'postgres'].every((x) => existsSync(join(bin, x)))) return bin;
  }
  return undefined;
}

/** A loopback port nothing listens on (just now). */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolvePort(addr.port) : reject(new Error('no port'))));
    });
  });
}

function idOf(user: string, flag: '-u' | '-g'): number | undefined {
  const r = spawnSync('id', [flag, user], { encoding: 'utf8' });
  return r.status === 0 ? Number(r.stdout.trim()) : undefined;
}

/** Starts the server, or throws saying why it cannot. */
export async function startPostgres(): Promise<PgServer> {
  const bin = findPgBin();
  if (!bin) throw new Error('no PostgreSQL server under /usr/lib/postgresql/*/bin (apt-get install postgresql; scripts/setup-test-env.sh does it as root)');
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'benchalign-pg-'));
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  let prefix: string[] = [];
  const owned: string[] = [];
  if (isRoot) {
    const uid = idOf('postgres', '-u');
    const gid = idOf('postgres', '-g');
    if (uid === undefined || gid === undefined) throw new Error('running as root, but there is no `postgres` system user to run the server as (the Debian postgresql package creates it)');
    chownSync(dir, uid, gid);
    chmodSync(dir, 0o700);
    owned.push(String(uid), String(gid));
    prefix = ['runuser', '-u', 'postgres', '--'];
  }
  const run = (args: string[], timeoutMs = 120_000): void => {
    const cmd = [...prefix, ...args];
    const r = spawnSync(cmd[0] as string, cmd.slice(1), { encoding: 'utf8', timeout: timeoutMs, cwd: dir });
    if (r.status !== 0) {
      const logTail = existsSync(log) ? readFileSync(log, 'utf8').slice(-2000) : '';
      throw new Error(`${args.map((a) => a.replace(dir, '<tmp>')).join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}): ${(r.stderr || r.stdout).slice(-2000)}${logTail}`);
    }
  };
  try {
    run([join(bin, 'initdb'), '-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-instructions']);
    const port = await freePort();
    const asOwner = (path: string): void => {
      if (owned.length) chownSync(path, Number(owned[0]), Number(owned[1]));
    };
    writeFileSync(join(data, 'pg_hba.conf'), ['# benchalign tests: loopback only', 'host all alice 127.0.0.1/32 scram-sha-256', 'host all all 127.0.0.1/32 trust', ''].join('\n'));
    asOwner(join(data, 'pg_hba.conf'));
    appendFileSync(
      join(data, 'postgresql.conf'),
      ["listen_addresses = '127.0.0.1'", `port = ${port}`, "unix_socket_directories = ''", 'fsync = off', 'synchronous_commit = off', 'full_page_writes = off', 'shared_buffers = 16MB', "password_encryption = 'scram-sha-256'", ''].join('\n'),
    );
    run([join(bin, 'pg_ctl'), '-D', data, '-l', log, '-w', '-t', '60', 'start']);
    let stopped = false;
    const stop = (): void => {
      if (stopped) return;
      stopped = true;
      try {
        run([join(bin, 'pg_ctl'), '-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };
    const url = (db: string): string => `postgres://postgres@127.0.0.1:${port}/${db}`;
    const sql = async (db: string, text: string): Promise<Array<Record<string, unknown>>> => {
      const client = new pg.Client({ connectionString: url(db) });
      await client.connect();
      try {
        const res = await client.query(text);
        const last = Array.isArray(res) ? res[res.length - 1] : res;
        return (last?.rows ?? []) as Array<Record<string, unknown>>;
      } finally {
        await client.end();
      }
    };
    try {
      await sql('postgres', `CREATE ROLE alice LOGIN PASSWORD '${ALICE_PASSWORD}'`);
    } catch (e) {
      stop();
      throw e;
    }
    return {
      port,
      url,
      sql,
      stop,
      createDatabase: async (name, owner = 'postgres') => {
        await sql('postgres', `CREATE DATABASE "${name}" OWNER "${owner}"`);
        return url(name);
      },
    };
  } catch (e) {
    if (existsSync(join(data, 'postmaster.pid'))) spawnSync(prefix[0] ?? join(bin, 'pg_ctl'), [...prefix.slice(1), ...(prefix.length ? [join(bin, 'pg_ctl')] : []), '-D', data, '-m', 'immediate', 'stop']);
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/**
 * A PostgreSQL server for one test file: skipped (saying why, for `what`) only where it cannot
 * be started and this is not root; as root it must be there (scripts/setup-test-env.sh installs
 * postgresql), and `need()` fails the tests when it is not.
 */
export async function postgresForTests(what: string): Promise<{ skip: boolean; need: () => PgServer; server: PgServer | undefined }> {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  let server: PgServer | undefined;
  let unavailable: string | undefined;
  try {
    server = await startPostgres();
  } catch (e) {
    unavailable = e instanceof Error ? e.message : String(e);
  }
  const skip = unavailable !== undefined && !isRoot;
  if (skip) console.log(`skipped: ${what} need a PostgreSQL server, which cannot be started here: ${unavailable}`);
  const need = (): PgServer => {
    if (!server) throw new Error(`as root the PostgreSQL server must start: ${unavailable}`);
    return server;
  };
  return { skip, need, server };
}
