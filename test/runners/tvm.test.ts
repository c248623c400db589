/**
 * TVM for real (pip apache-tvm in the project venv): the bundled ONNX models built with the
 * Relax frontend for this host's CPU, run on the Relax VM through the whole pipeline, aligned
 * against their PyTorch references.
 */
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TvmRunner, tvmBuildOptions, tvmVersion } from '../../src/runners/tvm/runner.js';
import { MODELS, cnnModel, tempDir } from '../agents/helpers.js';
import { engineAvailability, misaligned, runEngineOnBundled, expectBundledAligned } from './engine-suite.js';
import { FIXTURES, REPO } from './helpers.js';

const availability = await engineAvailability('tvm');

describe('tvm build options (no TVM needed)', () => {
  it('defaults, and every bad option named at once', () => {
    expect(tvmBuildOptions({})).toEqual({ optLevel: 3, target: null, tuneTrials: 0 });
    expect(tvmBuildOptions({ optLevel: 1, target: { kind: 'llvm', mcpu: 'x86-64' }, tuneTrials: 8 })).toEqual({ optLevel: 1, target: { kind: 'llvm', mcpu: 'x86-64' }, tuneTrials: 8 });
    expect(() => tvmBuildOptions({ optLevel: 4, target: 'llvm -mcpu=znver4' })).toThrow(/options\.optLevel: expected an integer 0\.\.3, got 4; options\.target: expected a TVM target as an object/);
    expect(() => tvmBuildOptions({ tuneTrials: -1 })).toThrow(/options\.tuneTrials: expected an integer >= 0 \(0: no tuning\), got -1/);
    expect(() => tvmBuildOptions({ tuneTrials: 2.5 })).toThrow(/options\.tuneTrials: expected an integer >= 0/);
  });
});

describe.skipIf(!availability.available)('TVM runner (real apache-tvm in a Python worker)', () => {
  const cache = tempDir('tvm-cache');
  afterAll(() => rmSync(cache, { recursive: true, force: true }));

  it('fp32: both bundled models align, built for this host\'s CPU; the build is cached and counted in cold start', async () => {
    const { hostTarget } = await tvmVersion();
    expect(hostTarget).toMatchObject({ kind: 'llvm', mcpu: expect.any(String) });
    const results = await runEngineOnBundled('tvm', { options: { threads: 1 }, env: { BENCHALIGN_CACHE_DIR: cache } });
    expectBundledAligned(results);
    for (const job of results.jobs) {
      expect(job.engine.effectivePrecision).toBe('fp32');
      expect(job.engine.appliedOptions).toMatchObject({ threads: 1, optLevel: 3, target: { kind: 'llvm', mcpu: hostTarget.mcpu } });
      expect(job.coldStart?.cacheHit).toBe(false);
      expect(job.coldStart?.convertMs).toBeGreaterThan(0);
      expect(job.latency?.percentiles.p50.value).toBeGreaterThan(0);
      expect(job.coldStart?.tuneMs).toBeUndefined();
    }
    // the CNN's batch dim is symbolic in the ONNX file; the suite pins it and the job says so
    expect(results.jobs[0]?.engine.notes).toEqual([expect.stringMatching(/^static shapes: input input has dynamic dims \["batch", 3, 32, 32\] in the model; TVM built it for \[1, 3, 32, 32\]/)]);
    expect(results.jobs[1]?.engine.notes ?? []).not.toContainEqual(expect.stringMatching(/static shapes/));
    expect(results.jobs[1]?.alignment?.map((a) => a.name).sort()).toEqual(['hidden', 'pooled']);
    const again = await runEngineOnBundled('tvm', { options: { threads: 1 }, env: { BENCHALIGN_CACHE_DIR: cache }, models: [cnnModel()] });
    expect(again.jobs[0]?.coldStart).toMatchObject({ cacheHit: true, convertMs: 0 });
    // another opt level is another build
    const o1 = await runEngineOnBundled('tvm', { options: { optLevel: 1 }, env: { BENCHALIGN_CACHE_DIR: cache }, models: [cnnModel()] });
    expect(o1.jobs[0]?.coldStart?.cacheHit).toBe(false);
    expect(o1.jobs[0]?.engine.appliedOptions).toMatchObject({ optLevel: 1 });
    expect(misaligned(o1)).toEqual([]);
  });

  it('a target the job names is the one built and recorded', async () => {
    const results = await runEngineOnBundled('tvm', { options: { target: { kind: 'llvm', mcpu: 'x86-64' } }, env: { BENCHALIGN_CACHE_DIR: cache }, models: [cnnModel()] });
    expect(results.jobs[0]?.status).toBe('ok');
    expect(results.jobs[0]?.engine.appliedOptions).toMatchObject({ target: { kind: 'llvm', mcpu: 'x86-64' } });
    expect(misaligned(results)).toEqual([]);
  });

  it('refuses fp16 and a bad model file per job; the run goes on', async () => {
    const fp16 = await runEngineOnBundled('tvm', { precision: 'fp16', env: { BENCHALIGN_CACHE_DIR: cache }, models: [cnnModel()] });
    expect(fp16.jobs[0]).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/tvm: precision fp16 is not supported/) });
    const results = await runEngineOnBundled('tvm', {
      env: { BENCHALIGN_CACHE_DIR: cache },
      models: [{ name: 'broken', path: `${FIXTURES}not_a_model.onnx`, inputs: { source: 'random', seed: 1 } }, cnnModel()],
    });
    expect(results.jobs[0]).toMatchObject({ status: 'errored', reason: expect.stringMatching(/not_a_model\.onnx/) });
    expect(results.jobs[1]?.status).toBe('ok');
  });

  it('an operator the Relax ONNX frontend lacks (GRU) errors that job with TVM\'s one-line message', async () => {
    const results = await runEngineOnBundled('tvm', {
      env: { BENCHALIGN_CACHE_DIR: cache },
      models: [{ name: 'gru', path: join(REPO, 'test/fixtures/generated/onnx_node_tests/test_gru_defaults/model.onnx'), inputs: { source: 'random', seed: 1 } }],
    });
    expect(results.jobs[0]?.status).toBe('errored');
    const reason = results.jobs[0]?.reason ?? '';
    // the engine's own message first, naming the op; one expected clause; no converter exit-code preamble
    expect(reason).toMatch(/^TVM cannot convert op GRU: OpNotImplemented: The following operators are not supported for frontend ONNX: GRU; the Relax ONNX frontend, importing \S+test_gru_defaults\/model\.onnx \(expected a model whose ops the TVM Relax ONNX frontend implements\)$/);
    expect(reason.match(/\(expected /g)).toHaveLength(1);
    expect(reason).not.toMatch(/exited with code|its last output/);
  });

  it('tuneTrials: MetaSchedule tunes the build (tiny budget), cached by budget, its time apart from the cold start', async () => {
    const tuneCache = tempDir('tvm-tune-cache');
    try {
      const env = { BENCHALIGN_CACHE_DIR: tuneCache };
      const results = await runEngineOnBundled('tvm', { options: { threads: 1, tuneTrials: 1 }, env, models: [cnnModel()] });
      const job = results.jobs[0]!;
      expect([job.status, job.reason]).toEqual(['ok', undefined]);
      expect(misaligned(results)).toEqual([]);
      const tuning = (job.engine.appliedOptions as { tuning?: { trials: number; tasks: number; trialsPerTask: number; seconds: number } }).tuning;
      expect(job.engine.appliedOptions).toMatchObject({ tuneTrials: 1, target: { kind: 'llvm', 'num-cores': expect.any(Number) } });
      expect(tuning).toMatchObject({ trials: 1, trialsPerTask: 1 });
      expect(tuning!.tasks).toBeGreaterThan(1);
      const cold = job.coldStart!;
      expect(cold.tuneMs).toBeCloseTo(tuning!.seconds * 1000, 0);
      expect(cold.convertMs).toBeGreaterThan(0);
      // the tuning is not in the cold start
      expect(cold.totalMs).toBeCloseTo(cold.loadMs + cold.convertMs!, 6);
      // MetaSchedule's database is kept with the library: at least one measured candidate
      const dirs = readdirSync(join(tuneCache, 'convert', 'tvm'), { recursive: true, encoding: 'utf8' }).filter((p) => p.endsWith('database_tuning_record.json'));
      expect(dirs).toHaveLength(1);
      const records = readFileSync(join(tuneCache, 'convert', 'tvm', dirs[0]!), 'utf8').split('\n').filter((l) => l.trim() !== '');
      expect(records.length).toBeGreaterThanOrEqual(1);
      // the same budget again: the tuned library from the cache, no tuning
      const again = await runEngineOnBundled('tvm', { options: { threads: 1, tuneTrials: 1 }, env, models: [cnnModel()] });
      expect(again.jobs[0]?.coldStart).toMatchObject({ cacheHit: true, convertMs: 0, tuneMs: 0 });
      expect(again.jobs[0]?.engine.appliedOptions).toMatchObject({ tuneTrials: 1 });
      expect(misaligned(again)).toEqual([]);
    } finally {
      rmSync(tuneCache, { recursive: true, force: true });
    }
  }, 900_000);

  it('a library without its build record is refused with the file named', async () => {
    const runner = new TvmRunner({ requestTimeoutMs: 60_000 });
    try {
      const path = join(MODELS, 'cnn/model.so');
      await expect(runner.activate({ path }, { name: 'x', path, sha256: '' }, { precision: 'fp32', options: {} })).rejects.toMatchObject({
        code: 'E_CONFIG',
        message: expect.stringMatching(/model\.so\.convert\.json is missing/),
      });
    } finally {
      await runner.dispose();
    }
  });
});
