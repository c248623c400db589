/**
 * The PostgreSQL results store against a REAL PostgreSQL server from Debian's packages,
 * started on loopback for these tests (postgres-server.ts): the same contract as the SQLite
 * store (store-contract.ts), connection failures (E_INFRA, exit 3, the URL shown without its
 * password), passwords from the URL and PGPASSWORD, coordinators migrating at once, and the
 * real CLI end to end: `benchalign run --store postgres://...` on the bundled CNN, then
 * `regress`, `history` and `compare` against the same URL.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResults } from '../../src/model/record.js';
import type { RegressReport } from '../../src/results/regress/compare-runs.js';
import { PG_MIGRATIONS } from '../../src/results/store/migrations.js';
import { displayStoreLocation, openStore, redactPostgresUrl, redactStoreUrls } from '../../src/results/store/store.js';
import { QUICK, REPO, cnnModel, tempDir, writeSuite } from '../agents/helpers.js';
import { ALICE_PASSWORD, freePort, postgresForTests } from './postgres-server.js';
import { openError, storeContract, syntheticRun } from './store-contract.js';

const { skip, need, server } = await postgresForTests('the PostgreSQL store tests');

let dbCount = 0;
const dbName = (location: string): string => new URL(location).pathname.slice(1);

afterAll(() => server?.stop());

describe('PostgreSQL URLs shown without their password', () => {
  it('drops the password from the user info and a password parameter, keeps the rest', () => {
    expect(redactPostgresUrl('postgres://alice:pa%40ss@db.example:5433/bench?sslmode=require')).toBe('postgres://alice@db.example:5433/bench?sslmode=require');
    expect(redactPostgresUrl('postgresql://bob@h/db?password=x&application_name=a')).toBe('postgresql://bob@h/db?application_name=a');
    expect(redactPostgresUrl('postgres://u@h:5432/db')).toBe('postgres://u@h:5432/db');
    expect(redactPostgresUrl('postgres://u:secret@[bad')).not.toContain('secret');
    expect(redactStoreUrls('--store=postgresql://u:pw@h:1/db')).toBe('--store=postgresql://u@h:1/db');
    expect(displayStoreLocation('POSTGRES://u:pw@h/db')).not.toContain('pw');
    expect(displayStoreLocation('reports/x:y@z.db')).toBe('reports/x:y@z.db');
  });

  it('a server that is not there: E_INFRA (exit 3) naming the URL, not the password', async () => {
    const port = await freePort();
    const e = await openError(`postgres://bob:hunter2-secret@127.0.0.1:${port}/team`);
    expect(e.code).toBe('E_INFRA');
    expect(e.exitCode).toBe(3);
    expect(e.message).toContain(`postgres://bob@127.0.0.1:${port}/team`);
    expect(e.message).toMatch(/ECONNREFUSED/);
    expect(e.message).not.toContain('hunter2');
  });
});

describe.skipIf(skip)('PostgreSQL results store (a real server on loopback)', () => {
  beforeAll(() => {
    need();
  });

  storeContract({
    name: 'PostgreSQL',
    fresh: async (label) => need().createDatabase(`bench_${label}_${++dbCount}`),
    sql: async (location, sql) => need().sql(dbName(location), sql),
    failAlignmentInserts: `
      CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$;
      CREATE TRIGGER boom BEFORE INSERT ON alignment FOR EACH ROW EXECUTE FUNCTION boom();`,
    hasColumn: async (location, table, column) =>
      (await need().sql(dbName(location), `SELECT 1 FROM information_schema.columns WHERE table_name = '${table}' AND column_name = '${column}'`)).length > 0,
    migrations: PG_MIGRATIONS,
  });

  it('takes the password from the URL or PGPASSWORD; a wrong or missing one is E_INFRA without the password', async () => {
    const s = need();
    await s.createDatabase('alice_db', 'alice');
    const base = `127.0.0.1:${s.port}/alice_db`;
    const wrong = await openError(`postgres://alice:not-her-password@${base}`);
    expect(wrong.exitCode).toBe(3);
    expect(wrong.message).toContain(`postgres://alice@${base}`);
    expect(wrong.message).toMatch(/password authentication failed/);
    expect(wrong.message).not.toContain('not-her-password');

    const store = await openStore(`postgresql://alice:${encodeURIComponent(ALICE_PASSWORD)}@${base}`);
    try {
      expect(store.path).toBe(`postgresql://alice@${base}`);
      await store.recordRun(syntheticRun('a1', '2026-04-01T00:00:00.000Z'), { tags: ['team'], git: { commit: null, branch: null } });
    } finally {
      await store.close();
    }
    const saved = process.env.PGPASSWORD;
    process.env.PGPASSWORD = ALICE_PASSWORD;
    try {
      const viaEnv = await openStore(`postgres://alice@${base}`);
      expect((await viaEnv.getRun('team'))?.run.id).toBe('a1');
      await viaEnv.close();
      process.env.PGPASSWORD = 'wrong-env-password';
      const e = await openError(`postgres://alice@${base}`);
      expect(e.message).not.toContain('wrong-env-password');
    } finally {
      if (saved === undefined) delete process.env.PGPASSWORD;
      else process.env.PGPASSWORD = saved;
    }
  });

  it('a database that does not exist: E_INFRA naming it (benchalign creates tables, never databases)', async () => {
    const e = await openError(need().url('no_such_db'));
    expect(e.exitCode).toBe(3);
    expect(e.message).toMatch(/no_such_db/);
    expect(e.message).toMatch(/does not exist/);
  });

  it('coordinators opening one fresh database at once apply each migration exactly once (advisory lock)', async () => {
    const url = await need().createDatabase('race');
    const opened = await Promise.allSettled(Array.from({ length: 6 }, () => openStore(url)));
    const stores = opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    try {
      expect(opened.flatMap((o) => (o.status === 'rejected' ? [String(o.reason)] : []))).toEqual([]);
      for (const st of stores) expect(await st.migrationsApplied()).toEqual([1, 2]);
      const rows = await need().sql('race', 'SELECT version FROM schema_migrations ORDER BY version');
      expect(rows.map((r) => r.version)).toEqual([1, 2]);
    } finally {
      await Promise.all(stores.map((st) => st.close()));
    }
  });
});

describe.skipIf(skip)('benchalign run/regress/history/compare --store postgres:// (the real CLI on the bundled CNN)', () => {
  const BIN = join(REPO, 'bin/benchalign.js');
  const cli = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, CI: '1' }, timeout: 300_000, maxBuffer: 64 * 2 ** 20 });

  it('records two runs into PostgreSQL, then regresses, shows the history and compares them from it', async () => {
    // trust authentication: the server never asks for this password, so it only has to stay out of every output
    const url = (await need().createDatabase('cli')).replace('postgres://postgres@', 'postgres://postgres:cli-secret-pw@');
    const dir = tempDir('pg-cli');
    const suite = writeSuite(dir, {
      name: 'pg-cli',
      models: [cnnModel()],
      engines: [{ name: 'onnxruntime', options: { intraOpThreads: 1, interOpThreads: 1 } }],
      measurement: { ...QUICK, minDurationMs: 200, maxDurationMs: 500 },
    });
    for (const tag of ['base', 'nightly']) {
      const r = cli(['run', suite, '--out', join(dir, tag), '--repeats', '1', '--store', url, '--tag', tag, '--quiet']);
      expect(r.stderr).not.toMatch(/not recorded in the store/);
      expect(r.status).toBe(0);
      expect(readFileSync(join(dir, tag, 'results.json'), 'utf8')).not.toContain('cli-secret-pw');
    }
    expect(JSON.stringify(await need().sql('cli', 'SELECT * FROM runs'))).not.toContain('cli-secret-pw');
    const store = await openStore(url, { mustExist: true });
    let runs;
    try {
      runs = await store.listRuns();
      expect(runs.map((r) => r.tags)).toEqual([['nightly'], ['base']]);
      for (const [tag, run] of [['base', runs[1]], ['nightly', runs[0]]] as const) {
        const file = JSON.parse(readFileSync(join(dir, tag, 'results.json'), 'utf8')) as RunResults;
        expect(file.run.id).toBe(run?.id);
        expect(await store.getRun(tag)).toStrictEqual(file);
      }
    } finally {
      await store.close();
    }

    const reg = cli(['regress', '--baseline', 'base', '--current', 'nightly', '--store', url, '--json']);
    expect([0, 1]).toContain(reg.status);
    const report = JSON.parse(reg.stdout) as RegressReport;
    expect(JSON.stringify(report)).toContain(runs[1]?.id);
    expect(JSON.stringify(report)).toContain('cnn/onnxruntime');
    const self = cli(['regress', '--baseline', 'base', '--current', 'base', '--store', url]);
    expect(self.status).toBe(0);
    const none = cli(['regress', '--baseline', 'release-9', '--store', url]);
    expect(none.status).toBe(4);
    expect(none.stderr).toContain(`in postgres://postgres@127.0.0.1:${need().port}/cli`);
    expect(none.stderr).not.toContain('cli-secret-pw');

    const h = cli(['history', '--store', url, '--model', 'cnn', '--json']);
    expect(h.status).toBe(0);
    const series = JSON.parse(h.stdout) as Array<{ key: string; points: Array<{ runId: string; value: number; tags: string[] }> }>;
    expect(series).toHaveLength(1);
    expect(series[0]?.points.map((p) => [p.runId, p.tags])).toEqual([[runs[1]?.id, ['base']], [runs[0]?.id, ['nightly']]]);
    const nightly = JSON.parse(readFileSync(join(dir, 'nightly', 'results.json'), 'utf8')) as RunResults;
    expect(series[0]?.points[1]?.value).toBe(nightly.jobs[0]?.latency?.percentiles.p50.value);

    const cmp = cli(['compare', 'base', 'nightly', '--store', url, '--out', join(dir, 'cmp')]);
    expect(cmp.status).toBe(0);
    expect(existsSync(join(dir, 'cmp', 'report.md'))).toBe(true);

    const bad = cli(['history', '--store', `postgres://nobody:pw-xyz-123@127.0.0.1:${await freePort()}/cli`]);
    expect(bad.status).toBe(3);
    expect(bad.stderr).toMatch(/E_INFRA|cannot open the results store/);
    expect(bad.stderr).not.toContain('pw-xyz-123');
  });
});
