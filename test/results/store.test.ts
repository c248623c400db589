import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BenchalignError } from '../../src/errors.js';
import { summarizeLatency } from '../../src/metrics/latency.js';
import { samplesNsToMs } from '../../src/metrics/percentile.js';
import type { JobResult, RunResults } from '../../src/results/record.js';
import { MIGRATIONS } from '../../src/results/store/migrations.js';
import { decodeSamples, encodeSamples } from '../../src/results/store/samples-codec.js';
import { gitInfo, openStore } from '../../src/results/store/store.js';
import { REPO, tempDir } from '../agents/helpers.js';

/** A synthetic run record shaped like run-suite's, with two jobs (one errored). */
export function syntheticRun(id: string, startedAt: string, scale = 1, deviceHash = 'dev-aaaa'): RunResults {
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
    ],
    startedAt,
    endedAt: startedAt,
  };
  const bad: JobResult = {
    key: 'cnn/broken/fp32',
    model: { name: 'cnn', path: '/m/cnn.onnx', sha256: 'abc' },
    engine: { name: 'broken', options: {}, precision: 'fp32' },
    status: 'errored',
    reason: 'worker died',
    stderrTail: 'boom',
    startedAt,
    endedAt: startedAt,
  };
  return {
    schemaVersion: 1,
    tool: { name: 'benchalign', version: '0.1.0' },
    suite: { name: 's', path: '/s.yaml', sha256: 'ff' },
    run: { id, startedAt, endedAt: startedAt, status: 'complete', argv: ['run'], mode: 'benchmark' },
    device,
    jobs: [ok, bad],
  };
}

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

describe('results store', () => {
  it('round-trips a run losslessly (samplesNs, alignment, failed jobs), tags and lists it', () => {
    const dir = tempDir('store');
    const store = openStore(join(dir, 'sub/b.db'));
    const run = syntheticRun('r1', '2026-01-01T00:00:00.000Z');
    store.recordRun(run, { tags: ['nightly'], git: { commit: 'c0ffee', branch: 'main' } });
    const back = store.getRun('r1');
    expect(back).toStrictEqual(JSON.parse(JSON.stringify(run)));
    expect(store.getRun('nightly')?.run.id).toBe('r1');
    store.recordRun(syntheticRun('r2', '2026-01-02T00:00:00.000Z'), { tags: ['nightly'], git: { commit: null, branch: null } });
    expect(store.resolveRunId('nightly')).toBe('r2');
    store.tagRun('r1', 'release-1.4');
    expect(store.getRun('release-1.4')?.run.id).toBe('r1');
    expect(() => store.tagRun('nope', 'x')).toThrow(BenchalignError);
    const runs = store.listRuns();
    expect(runs.map((r) => r.id)).toEqual(['r2', 'r1']);
    expect(runs[1]).toMatchObject({ gitCommit: 'c0ffee', gitBranch: 'main', tags: ['nightly', 'release-1.4'], jobs: 2, status: 'complete' });
    expect(store.listRuns({ tag: 'release-1.4' }).map((r) => r.id)).toEqual(['r1']);
    const hist = store.jobHistory({ model: 'cnn', engine: 'onnxruntime', deviceHash: 'dev-a' });
    expect(hist.map((h) => h.runId)).toEqual(['r1', 'r2']);
    expect(hist[0]?.latency?.percentiles.p50.value).toBe(run.jobs[0]?.latency?.percentiles.p50.value);
    expect(store.jobHistory({ deviceHash: 'other' })).toEqual([]);
    expect(store.getRun('missing')).toBeUndefined();
    // recording the same run id again replaces it
    store.recordRun(run, { tags: [], git: { commit: null, branch: null } });
    expect(store.listRuns().length).toBe(2);
    store.close();
  });

  it('writes a run in one transaction: a failure midway leaves the previous state', () => {
    const dir = tempDir('store-tx');
    const path = join(dir, 'b.db');
    const store = openStore(path);
    store.recordRun(syntheticRun('r1', '2026-01-01T00:00:00.000Z'), { git: { commit: null, branch: null } });
    const raw = new Database(path);
    raw.exec("CREATE TRIGGER boom BEFORE INSERT ON alignment BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
    raw.close();
    expect(() => store.recordRun(syntheticRun('r1', '2026-01-01T00:00:00.000Z', 2), { git: { commit: null, branch: null } })).toThrow(/injected failure/);
    expect(() => store.recordRun(syntheticRun('r9', '2026-01-09T00:00:00.000Z'), { git: { commit: null, branch: null } })).toThrow(/injected failure/);
    expect(store.listRuns().map((r) => r.id)).toEqual(['r1']);
    expect(store.getRun('r1')).toStrictEqual(JSON.parse(JSON.stringify(syntheticRun('r1', '2026-01-01T00:00:00.000Z'))));
    store.close();
  });

  it('applies later migrations to a database written by an earlier migration set', () => {
    const dir = tempDir('store-mig');
    const path = join(dir, 'old.db');
    const v1 = MIGRATIONS.filter((m) => m.version === 1);
    const old = openStore(path, { migrations: v1 });
    expect(old.migrationsApplied()).toEqual([1]);
    const run = syntheticRun('old-run', '2025-12-01T00:00:00.000Z');
    old.recordRun(run, { tags: ['baseline'], git: { commit: null, branch: null } });
    old.close();
    const raw = new Database(path, { readonly: true });
    expect(raw.prepare("SELECT COUNT(*) AS n FROM pragma_table_info('measurements') WHERE name = 'p50_ms'").get()).toEqual({ n: 0 });
    raw.close();

    const store = openStore(path);
    expect(store.migrationsApplied()).toEqual(MIGRATIONS.map((m) => m.version));
    expect(store.getRun('baseline')).toStrictEqual(JSON.parse(JSON.stringify(run)));
    store.close();
    const after = new Database(path, { readonly: true });
    const row = after.prepare('SELECT p50_ms FROM measurements WHERE p50_ms IS NOT NULL').get() as { p50_ms: number };
    expect(row.p50_ms).toBe(run.jobs[0]?.latency?.percentiles.p50.value);
    after.close();
  });

  it('refuses a store from a newer schema and a file that is not a database (E_INFRA, exit 3)', () => {
    const dir = tempDir('store-bad');
    const newer = join(dir, 'newer.db');
    openStore(newer).close();
    const raw = new Database(newer);
    raw.prepare("INSERT INTO schema_migrations VALUES (999, 'future', 'x')").run();
    raw.close();
    expect(() => openStore(newer)).toThrow(/schema version\(s\) 999/);
    const junk = join(dir, 'junk.db');
    writeFileSync(junk, 'this is not sqlite '.repeat(100));
    try {
      openStore(junk);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(BenchalignError);
      expect((e as BenchalignError).exitCode).toBe(3);
    }
    expect(() => openStore(join(dir, 'absent.db'), { mustExist: true })).toThrow(BenchalignError);
    expect(existsSync(join(dir, 'absent.db'))).toBe(false);
  });

  it('reads the git commit of a checkout and nulls elsewhere', () => {
    const g = gitInfo(REPO);
    expect(g.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(gitInfo(tempDir('nogit'))).toEqual({ commit: null, branch: null });
  });
});
