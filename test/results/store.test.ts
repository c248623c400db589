import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BenchalignError } from '../../src/errors.js';
import { MIGRATIONS, PG_MIGRATIONS } from '../../src/results/store/migrations.js';
import { decodeSamples, encodeSamples } from '../../src/results/store/samples-codec.js';
import { gitInfo, openStore } from '../../src/results/store/store.js';
import { REPO, tempDir } from '../agents/helpers.js';
import { openError, storeContract, type StoreBackend } from './store-contract.js';

describe('samples codec', () => {
  it('round-trips integer ns samples with delta varints, compactly', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.maxSafeNat(), { maxLength: 50 }), { maxLength: 4 }), (reps) => {
        expect(decodeSamples(encodeSamples(reps))).toEqual(reps);
      }),
    );
    const steady = [Array.from({ length: 10_000 }, (_, i) => 1_500_000 + ((i * 31) % 20_000))];
    const blob = encodeSamples(steady);
    expect(blob[0]).toBe(1);
    expect(blob.length).toBeLessThan(steady[0]!.length * 4);
    expect(decodeSamples(blob)).toEqual(steady);
  });

  it('falls back to float64 bytes, bit-exact, for anything else', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.double({ noNaN: false }), { maxLength: 30 }), { maxLength: 3 }), (reps) => {
        const back = decodeSamples(encodeSamples(reps));
        expect(back.map((r) => r.map((x) => (Object.is(x, -0) ? '-0' : x)))).toEqual(reps.map((r) => r.map((x) => (Object.is(x, -0) ? '-0' : x))));
      }),
    );
    expect(encodeSamples([[1.5]])[0]).toBe(2);
    expect(() => decodeSamples(Uint8Array.from([9, 0]))).toThrow(/format/);
    expect(() => decodeSamples(Uint8Array.from([1, 1, 5, 2]))).toThrow(/truncated/);
  });
});

const sqlite: StoreBackend = {
  name: 'SQLite',
  fresh: async (label) => join(tempDir(`store-${label}`), 'sub/b.db'),
  sql: async (location, sql) => {
    const db = new Database(location);
    try {
      const st = db.prepare(sql);
      if (st.reader) return st.all() as Array<Record<string, unknown>>;
      st.run();
      return [];
    } finally {
      db.close();
    }
  },
  failAlignmentInserts: "CREATE TRIGGER boom BEFORE INSERT ON alignment BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
  hasColumn: async (location, table, column) => {
    const db = new Database(location, { readonly: true });
    try {
      return (db.prepare('SELECT COUNT(*) AS n FROM pragma_table_info(?) WHERE name = ?').get(table, column) as { n: number }).n > 0;
    } finally {
      db.close();
    }
  },
  migrations: MIGRATIONS,
};

storeContract(sqlite);

describe('results store (SQLite)', () => {
  it('keeps the SQLite and PostgreSQL migrations aligned: the same versions, names, tables and columns', () => {
    expect(PG_MIGRATIONS.map((m) => [m.version, m.name])).toEqual(MIGRATIONS.map((m) => [m.version, m.name]));
    const columns = (ms: typeof MIGRATIONS): string[] =>
      ms.flatMap((m) => [
        ...[...m.sql.matchAll(/CREATE TABLE (\w+) \(([\s\S]*?)\n\);/g)].flatMap(([, table, body]) =>
          (body ?? '').split('\n').map((l) => l.trim()).filter((l) => /^[a-z_0-9]+ [A-Z]/.test(l)).map((l) => `${table}.${l.split(' ')[0]}`),
        ),
        ...[...m.sql.matchAll(/ALTER TABLE (\w+) ADD COLUMN (\w+)/g)].map(([, t, c]) => `${t}.${c}`),
        ...[...m.sql.matchAll(/CREATE INDEX (\w+) ON (\w+\([^)]*\))/g)].map(([, i, on]) => `${i} ${on}`),
      ]);
    expect(columns(MIGRATIONS)).toContain('runs.run_json');
    expect(columns(MIGRATIONS)).toContain('measurements.p99_ms');
    expect(columns(MIGRATIONS).length).toBeGreaterThan(40);
    expect(columns(PG_MIGRATIONS)).toEqual(columns(MIGRATIONS));
  });

  it('refuses a file that is not a database (E_INFRA, exit 3) and does not create a missing one when it must exist', async () => {
    const dir = tempDir('store-bad');
    const junk = join(dir, 'junk.db');
    writeFileSync(junk, 'this is not sqlite '.repeat(100));
    const e = await openError(junk);
    expect(e.exitCode).toBe(3);
    expect(e.message).toContain(junk);
    await expect(openStore(join(dir, 'absent.db'), { mustExist: true })).rejects.toThrow(BenchalignError);
    expect(existsSync(join(dir, 'absent.db'))).toBe(false);
  });

  it('reads the git commit of a checkout and nulls elsewhere', () => {
    const g = gitInfo(REPO);
    expect(g.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(gitInfo(tempDir('nogit'))).toEqual({ commit: null, branch: null });
  });
});
