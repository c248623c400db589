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
  it('round-trips a run losslessly (samplesNs, alignment, failed jobs), tags and lists it', async () => {
    const dir = tempDir('store');
    const store = await openStore(join(dir, 'sub/b.db'));
    const run = syntheticRun('r1', '2026-01-01T00:00:00.000Z');
    await store.recordRun(run, { tags: ['nightly'], git: { commit: 'c0ffee', branch: 'main' } });
    const back = await store.getRun('r1');
    expect(back).toStrictEqual(JSON.parse(JSON.stringify(run)));
    expect((await store.getRun('nightly'))?.run.id).toBe('r1');
    await store.recordRun(syntheticRun('r2', '2026-01-02T00:00:00.000Z'), { tags: ['nightly'], git: { commit: null, branch: null } });
    expect(await store.resolveRunId('nightly')).toBe('r2');
    await store.tagRun('r1', 'release-1.4');
    expect((await store.getRun('release-1.4'))?.run.id).toBe('r1');
    await expect(store.tagRun('nope', 'x')).rejects.toThrow(BenchalignError);
    const runs = await store.listRuns();
    expect(runs.map((r) => r.id)).toEqual(['r2', 'r1']);
    expect(runs[1]).toMatchObject({ gitCommit: 'c0ffee', gitBranch: 'main', tags: ['nightly', 'release-1.4'], jobs: 2, status: 'complete' });
    expect((await store.listRuns({ tag: 'release-1.4' })).map((r) => r.id)).toEqual(['r1']);
    const hist = await store.jobHistory({ model: 'cnn', engine: 'onnxruntime', deviceHash: 'dev-a' });
    expect(hist.map((h) => h.runId)).toEqual(['r1', 'r2']);
    expect(hist[0]?.latency?.percentiles.p50.value).toBe(run.jobs[0]?.latency?.percentiles.p50.value);
    expect(await store.jobHistory({ deviceHash: 'other' })).toEqual([]);
    expect(await store.getRun('missing')).toBeUndefined();
    // recording the same run id again replaces it
    await store.recordRun(run, { tags: [], git: { commit: null, branch: null } });
    expect((await store.listRuns()).length).toBe(2);
    await store.close();
  });

  it('writes a run in one transaction: a failure midway leaves the previous state', async () => {
    const dir = tempDir('store-tx');
    const path = join(dir, 'b.db');
    const store = await openStore(path);
    await store.recordRun(syntheticRun('r1', '2026-01-01T00:00:00.000Z'), { git: { commit: null, branch: null } });
    const raw = new Database(path);
    raw.exec("CREATE TRIGGER boom BEFORE INSERT ON alignment BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
    raw.close();
    await expect(store.recordRun(syntheticRun('r1', '2026-01-01T00:00:00.000Z', 2), { git: { commit: null, branch: null } })).rejects.toThrow(/injected failure/);
    await expect(store.recordRun(syntheticRun('r9', '2026-01-09T00:00:00.000Z'), { git: { commit: null, branch: null } })).rejects.toThrow(/injected failure/);
    expect((await store.listRuns()).map((r) => r.id)).toEqual(['r1']);
    expect(await store.getRun('r1')).toStrictEqual(JSON.parse(JSON.stringify(syntheticRun('r1', '2026-01-01T00:00:00.000Z'))));
    await store.close();
  });

  it('applies later migrations to a database written by an earlier migration set', async () => {
    const dir = tempDir('store-mig');
    const path = join(dir, 'old.db');
    const v1 = MIGRATIONS.filter((m) => m.version === 1);
    const old = await openStore(path, { migrations: v1 });
    expect(await old.migrationsApplied()).toEqual([1]);
    const run = syntheticRun('old-run', '2025-12-01T00:00:00.000Z');
    await old.recordRun(run, { tags: ['baseline'], git: { commit: null, branch: null } });
    await old.close();
    const raw = new Database(path, { readonly: true });
    expect(raw.prepare("SELECT COUNT(*) AS n FROM pragma_table_info('measurements') WHERE name = 'p50_ms'").get()).toEqual({ n: 0 });
    raw.close();

    const store = await openStore(path);
    expect(await store.migrationsApplied()).toEqual(MIGRATIONS.map((m) => m.version));
    expect(await store.getRun('baseline')).toStrictEqual(JSON.parse(JSON.stringify(run)));
    await store.close();
    const after = new Database(path, { readonly: true });
    const row = after.prepare('SELECT p50_ms FROM measurements WHERE p50_ms IS NOT NULL').get() as { p50_ms: number };
    expect(row.p50_ms).toBe(run.jobs[0]?.latency?.percentiles.p50.value);
    after.close();
  });

  it('refuses a store from a newer schema and a file that is not a database (E_INFRA, exit 3)', async () => {
    const dir = tempDir('store-bad');
    const newer = join(dir, 'newer.db');
    await (await openStore(newer)).close();
    const raw = new Database(newer);
    raw.prepare("INSERT INTO schema_migrations VALUES (999, 'future', 'x')").run();
    raw.close();
    await expect(openStore(newer)).rejects.toThrow(/schema version\(s\) 999/);
    const junk = join(dir, 'junk.db');
    writeFileSync(junk, 'this is not sqlite '.repeat(100));
    try {
      await openStore(junk);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(BenchalignError);
      expect((e as BenchalignError).exitCode).toBe(3);
    }
    await expect(openStore(join(dir, 'absent.db'), { mustExist: true })).rejects.toThrow(BenchalignError);
    expect(existsSync(join(dir, 'absent.db'))).toBe(false);
  });

  it('reads the git commit of a checkout and nulls elsewhere', () => {
    const g = gitInfo(REPO);
    expect(g.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(gitInfo(tempDir('nogit'))).toEqual({ commit: null, branch: null });
  });
});
