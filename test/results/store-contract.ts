/**
 * The results store's contract, run against each backend (SQLite in store.test.ts,
 * PostgreSQL in store-postgres.test.ts): lossless round trip, tags and history, one
 * transaction per run (a failure midway and concurrent readers), concurrent writers,
 * migrations applied to an older database, and a newer schema refused.
 */
import { describe, expect, it } from 'vitest';
import { BenchalignError } from '../../src/errors.js';
import { summarizeLatency } from '../../src/metrics/latency.js';
import { samplesNsToMs } from '../../src/metrics/percentile.js';
import type { JobResult, RunResults } from '../../src/model/record.js';
import type { Migration } from '../../src/results/store/migrations.js';
import { openStore } from '../../src/results/store/store.js';

/** A synthetic run record shaped like run-suite's, with two jobs (one errored), plus `extraJobs` copies of the first. */
export function syntheticRun(id: string, startedAt: string, scale = 1, deviceHash = 'dev-aaaa', extraJobs = 0): RunResults {
  const device = { hostname: 'h', cpuModel: 'cpu', cpuCores: 2, arch: 'x64', memoryBytes: 1, os: 'linux', kernel: '6', gpus: [], engineVersions: { onnxruntime: '1.23.0' }, hash: deviceHash };
  const samplesNs = [0, 1, 2].map((r) => Array.from({ length: 300 }, (_, i) => Math.round(scale * (1_000_000 + 1000 * r + ((i * 7919) % 50_000)))));
  const ok: JobResult = {
    key: 'cnn/onnxruntime/fp32',
    model: { name: 'cnn', path: '/m/cnn.onnx', sha256: 'abc' },
    engine: { name: 'onnxruntime', version: '1.23.0', options: { intraOpThreads: 1 }, precision: 'fp32', notes: ['n'] },
    device,
    status: 'ok',
    latency: summarizeLatency(samplesNs.map(samplesNsToMs), { bootstrapResamples: 100 }),
    samplesNs,
    alignment: [
      {
        name: 'logits', passed: true, reasons: [], actualDType: 'float32', referenceDType: 'float32', actualDims: [1, 10], referenceDims: [1, 10],
        tolerance: { atol: 1e-4, rtol: 1e-3 }, count: 10, maxAbsError: 1e-6, meanAbsError: 1e-7, maxRelError: 1e-5, rmse: 1e-7, cosine: 1, snrDb: 120,
        mismatchCount: 0, mismatchPct: 0, nan: { actual: 0, reference: 0 }, inf: { actual: 0, reference: 0 }, worst: [], minPassingAtol: 0, minPassingRtol: 0,
      },
      {
        name: 'aux', passed: false, reasons: ['cosine below floor'], actualDType: 'float32', referenceDType: 'float32', actualDims: [2], referenceDims: [2],
        tolerance: { atol: 1e-4, rtol: 1e-3 }, count: 2, maxAbsError: 0.5, meanAbsError: 0.25, maxRelError: 1, rmse: 0.3, cosine: 0.1, snrDb: -3,
        mismatchCount: 1, mismatchPct: 50, nan: { actual: 0, reference: 0 }, inf: { actual: 0, reference: 0 }, worst: [], minPassingAtol: 0.5, minPassingRtol: 1,
      },
    ],
    startedAt,
    endedAt: startedAt,
  };
  const bad: JobResult = {
    key: 'cnn/broken/fp32',
    model: { name: 'cnn', path: '/m/cnn.onnx', sha256: 'abc' },
    engine: { name: 'broken', options: {}, precision: 'fp32' },
    status: 'errored',
    // a NUL byte (PostgreSQL text cannot hold one) and non-ASCII text must survive the round trip
    reason: 'worker died: \u0000 naïve ✓ \ud83d\ude80',
    stderrTail: 'boom\u0000\n',
    startedAt,
    endedAt: startedAt,
  };
  const extra = Array.from({ length: extraJobs }, (_, i): JobResult => ({ ...ok, key: `cnn/onnxruntime/fp32/${i}` }));
  return {
    schemaVersion: 1,
    tool: { name: 'benchalign', version: '0.1.0' },
    suite: { name: 's', path: '/s.yaml', sha256: 'ff' },
    run: { id, startedAt, endedAt: startedAt, status: 'complete', argv: ['run'], mode: 'benchmark' },
    device,
    jobs: [ok, bad, ...extra],
  };
}

/** What the contract needs of a backend besides the store itself. */
export interface StoreBackend {
  name: string;
  /** A location (SQLite file path or PostgreSQL URL) of a fresh, empty store. */
  fresh(label: string): Promise<string>;
  /** Runs SQL on the location directly (not through benchalign); the rows of the last statement. */
  sql(location: string, sql: string): Promise<Array<Record<string, unknown>>>;
  /** SQL that makes every later insert into `alignment` fail with "injected failure". */
  failAlignmentInserts: string;
  /** Whether `table` has a column `column` (read from the catalog directly). */
  hasColumn(location: string, table: string, column: string): Promise<boolean>;
  /** The backend's migration set. */
  migrations: readonly Migration[];
}

/** The BenchalignError that opening `location` fails with (the test fails if it opens). */
export async function openError(location: string): Promise<BenchalignError> {
  try {
    const s = await openStore(location);
    await s.close();
  } catch (e) {
    expect(e).toBeInstanceOf(BenchalignError);
    return e as BenchalignError;
  }
  throw new Error(`opening ${location} did not fail`);
}

const NO_GIT = { git: { commit: null, branch: null } };
const asJson = (r: RunResults): RunResults => JSON.parse(JSON.stringify(r)) as RunResults;

export function storeContract(b: StoreBackend): void {
  describe(`results store contract: ${b.name}`, () => {
    it('round-trips a run losslessly (samplesNs, alignment, failed jobs, NUL and non-ASCII text), tags, lists and gives its history', async () => {
      const store = await openStore(await b.fresh('roundtrip'));
      try {
        expect(await store.migrationsApplied()).toEqual(b.migrations.map((m) => m.version));
        const run = syntheticRun('r1', '2026-01-01T00:00:00.000Z');
        await store.recordRun(run, { tags: ['nightly'], git: { commit: 'c0ffee', branch: 'main' } });
        const back = await store.getRun('r1');
        expect(back).toStrictEqual(asJson(run));
        expect(back?.jobs[0]?.samplesNs).toEqual(run.jobs[0]?.samplesNs);
        expect((await store.getRun('nightly'))?.run.id).toBe('r1');
        await store.recordRun(syntheticRun('r2', '2026-01-02T00:00:00.000Z', 1.1), { tags: ['nightly', 'nightly'], git: { commit: null, branch: null } });
        expect(await store.resolveRunId('nightly')).toBe('r2');
        expect(await store.resolveRunId('r1')).toBe('r1');
        expect(await store.resolveRunId('nope')).toBeUndefined();
        await store.tagRun('r1', 'release-1.4');
        await store.tagRun('r1', 'release-1.4');
        expect((await store.getRun('release-1.4'))?.run.id).toBe('r1');
        await expect(store.tagRun('nope', 'x')).rejects.toThrow(BenchalignError);
        const runs = await store.listRuns();
        expect(runs.map((r) => r.id)).toEqual(['r2', 'r1']);
        expect(runs[1]).toStrictEqual({
          id: 'r1', suiteName: 's', suiteSha256: 'ff', startedAt: '2026-01-01T00:00:00.000Z', endedAt: '2026-01-01T00:00:00.000Z', status: 'complete',
          host: 'h', gitCommit: 'c0ffee', gitBranch: 'main', tags: ['nightly', 'release-1.4'], jobs: 2,
        });
        expect(runs[0]?.tags).toEqual(['nightly']);
        expect((await store.listRuns({ tag: 'release-1.4' })).map((r) => r.id)).toEqual(['r1']);
        expect((await store.listRuns({ limit: 1 })).map((r) => r.id)).toEqual(['r2']);
        expect(await store.listRuns({ suite: 'other' })).toEqual([]);
        const hist = await store.jobHistory({ model: 'cnn', engine: 'onnxruntime', deviceHash: 'DEV-A' });
        expect(hist.map((h) => [h.runId, h.key, h.status, h.tags])).toEqual([
          ['r1', 'cnn/onnxruntime/fp32', 'ok', ['nightly', 'release-1.4']],
          ['r2', 'cnn/onnxruntime/fp32', 'ok', ['nightly']],
        ]);
        expect(hist[0]?.latency).toStrictEqual(asJson(run).jobs[0]?.latency);
        expect((await store.jobHistory({ key: 'cnn/broken/fp32' })).map((h) => [h.runId, h.status, h.latency])).toEqual([['r1', 'errored', undefined], ['r2', 'errored', undefined]]);
        expect((await store.jobHistory({ before: '2026-01-02T00:00:00.000Z' })).map((h) => h.runId)).toEqual(['r1', 'r1']);
        expect((await store.jobHistory({ excludeRunId: 'r1' })).map((h) => h.runId)).toEqual(['r2', 'r2']);
        expect(await store.jobHistory({ deviceHash: 'other' })).toEqual([]);
        expect(await store.jobHistory({ deviceHash: 'dev%' })).toEqual([]);
        expect((await store.deviceOf('r1', 'cnn/onnxruntime/fp32'))?.hash).toBe('dev-aaaa');
        expect(await store.deviceOf('r1', 'nope')).toBeUndefined();
        expect(await store.getRun('missing')).toBeUndefined();
        // recording the same run id again replaces it (its tags go with it)
        await store.recordRun(syntheticRun('r1', '2026-01-01T00:00:00.000Z', 2), NO_GIT);
        expect((await store.listRuns()).map((r) => [r.id, r.tags])).toEqual([['r2', ['nightly']], ['r1', []]]);
        expect(await store.getRun('r1')).toStrictEqual(asJson(syntheticRun('r1', '2026-01-01T00:00:00.000Z', 2)));
      } finally {
        await store.close();
      }
    });

    it('writes a run in one transaction: a failure midway leaves the previous state', async () => {
      const location = await b.fresh('tx');
      const store = await openStore(location);
      try {
        await store.recordRun(syntheticRun('r1', '2026-01-01T00:00:00.000Z'), NO_GIT);
        await b.sql(location, b.failAlignmentInserts);
        const failed = store.recordRun(syntheticRun('r1', '2026-01-01T00:00:00.000Z', 2), NO_GIT);
        await expect(failed).rejects.toThrow(/injected failure/);
        await expect(failed).rejects.toMatchObject({ code: 'E_INFRA' });
        await expect(store.recordRun(syntheticRun('r9', '2026-01-09T00:00:00.000Z'), NO_GIT)).rejects.toThrow(/injected failure/);
        expect((await store.listRuns()).map((r) => r.id)).toEqual(['r1']);
        expect(await store.getRun('r1')).toStrictEqual(asJson(syntheticRun('r1', '2026-01-01T00:00:00.000Z')));
        expect(Number((await b.sql(location, 'SELECT COUNT(*) AS n FROM jobs'))[0]?.n)).toBe(2);
      } finally {
        await store.close();
      }
    });

    it('a reader on another connection sees a run whole or not at all, also while it is replaced', async () => {
      const location = await b.fresh('readers');
      const writer = await openStore(location);
      const reader = await openStore(location);
      let writing = true;
      try {
        const n = 60;
        const seen: Array<number | undefined> = [];
        const poll = (async () => {
          while (writing) {
            const r = await reader.getRun('big');
            seen.push(r?.jobs.length);
            const listed = await reader.listRuns();
            seen.push(listed.find((x) => x.id === 'big')?.jobs);
            await new Promise((res) => setImmediate(res));
          }
        })();
        await writer.recordRun(syntheticRun('big', '2026-02-01T00:00:00.000Z', 1, 'dev-aaaa', n), NO_GIT);
        const afterFirst = seen.length;
        for (let i = 0; i < 3; i++) await writer.recordRun(syntheticRun('big', '2026-02-01T00:00:00.000Z', 1 + i / 10, 'dev-aaaa', n), NO_GIT);
        await new Promise((res) => setTimeout(res, 50));
        writing = false;
        await poll;
        // the reader ran before, during and after the writes
        expect(seen).toContain(undefined);
        expect(seen).toContain(n + 2);
        expect(seen.filter((s) => s !== undefined && s !== n + 2)).toEqual([]);
        // once recorded, replacing it never shows a gap
        expect(seen.slice(afterFirst + 2).filter((s) => s === undefined)).toEqual([]);
        expect(await reader.getRun('big')).toStrictEqual(asJson(syntheticRun('big', '2026-02-01T00:00:00.000Z', 1.2, 'dev-aaaa', n)));
      } finally {
        writing = false;
        await writer.close();
        await reader.close();
      }
    });

    it('two writers at once: different runs both land, the same run id ends whole (the later one)', async () => {
      const location = await b.fresh('writers');
      const a = await openStore(location);
      const c = await openStore(location);
      try {
        await Promise.all([
          a.recordRun(syntheticRun('wa', '2026-03-01T00:00:00.000Z', 1, 'dev-aaaa', 20), NO_GIT),
          c.recordRun(syntheticRun('wc', '2026-03-02T00:00:00.000Z', 1, 'dev-aaaa', 20), NO_GIT),
        ]);
        await Promise.all([
          a.recordRun(syntheticRun('same', '2026-03-03T00:00:00.000Z', 1, 'dev-aaaa', 20), NO_GIT),
          c.recordRun(syntheticRun('same', '2026-03-03T00:00:00.000Z', 3, 'dev-aaaa', 20), NO_GIT),
        ]);
        expect((await a.listRuns()).map((r) => [r.id, r.jobs])).toEqual([['same', 22], ['wc', 22], ['wa', 22]]);
        const same = await a.getRun('same');
        expect([asJson(syntheticRun('same', '2026-03-03T00:00:00.000Z', 1, 'dev-aaaa', 20)), asJson(syntheticRun('same', '2026-03-03T00:00:00.000Z', 3, 'dev-aaaa', 20))]).toContainEqual(same);
        expect(Number((await b.sql(location, 'SELECT COUNT(*) AS n FROM jobs'))[0]?.n)).toBe(66);
      } finally {
        await a.close();
        await c.close();
      }
    });

    it('applies later migrations to a database written by an earlier migration set', async () => {
      const location = await b.fresh('migrate');
      const v1 = b.migrations.filter((m) => m.version === 1);
      const old = await openStore(location, { migrations: v1 });
      expect(await old.migrationsApplied()).toEqual([1]);
      const run = syntheticRun('old-run', '2025-12-01T00:00:00.000Z');
      await old.recordRun(run, { tags: ['baseline'], ...NO_GIT });
      await old.close();
      expect(await b.hasColumn(location, 'measurements', 'p50_ms')).toBe(false);

      const store = await openStore(location);
      try {
        expect(await store.migrationsApplied()).toEqual(b.migrations.map((m) => m.version));
        expect(await store.getRun('baseline')).toStrictEqual(asJson(run));
        await store.recordRun(syntheticRun('new-run', '2025-12-02T00:00:00.000Z', 2), NO_GIT);
      } finally {
        await store.close();
      }
      expect(await b.hasColumn(location, 'measurements', 'p50_ms')).toBe(true);
      const rows = await b.sql(location, 'SELECT p50_ms, p99_ms FROM measurements ORDER BY job_pk');
      expect(rows).toEqual([
        { p50_ms: run.jobs[0]?.latency?.percentiles.p50.value, p99_ms: run.jobs[0]?.latency?.percentiles.p99.value },
        { p50_ms: syntheticRun('n', 'x', 2).jobs[0]?.latency?.percentiles.p50.value, p99_ms: syntheticRun('n', 'x', 2).jobs[0]?.latency?.percentiles.p99.value },
      ]);
      const applied = await b.sql(location, 'SELECT version, name FROM schema_migrations ORDER BY version');
      expect(applied.map((r) => [Number(r.version), r.name])).toEqual(b.migrations.map((m) => [m.version, m.name]));
    });

    it('refuses a store from a newer schema (E_INFRA, exit 3)', async () => {
      const location = await b.fresh('newer');
      await (await openStore(location)).close();
      await b.sql(location, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 'x')");
      const e = await openError(location);
      expect(e.exitCode).toBe(3);
      expect(e.message).toMatch(/schema version\(s\) 999/);
    });
  });
}
