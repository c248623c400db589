/**
 * MNN for real (pip MNN in the project venv: MNNConvert, then an MNN.nn Module), on the
 * bundled models through the whole pipeline, aligned against their PyTorch references; and
 * on a conv fixture converted so that MNN packs its input and output in NC4HW4.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MnnRunner, mnnConversionOptions, mnnConvertArgs } from '../../src/runners/mnn/runner.js';
import { pythonPath } from '../../src/runners/python/env.js';
import { MODELS, cnnModel, tempDir, transformerModel } from '../agents/helpers.js';
import { engineAvailability, misaligned, runEngineOnBundled, expectBundledAligned } from './engine-suite.js';
import { FIXTURES, REPO, activate, maxAbsDiff } from './helpers.js';
import { makeTensor } from '../../src/tensors/tensor.js';

const availability = await engineAvailability('mnn');

describe('mnn conversion options (no engine needed)', () => {
  it('maps the options to MNNConvert arguments and reports every bad option at once', () => {
    expect(mnnConvertArgs('/m/a.onnx', '/c/model.mnn', mnnConversionOptions({}))).toEqual([
      '-f', 'ONNX', '--modelFile', '/m/a.onnx', '--MNNModel', '/c/model.mnn', '--bizCode', 'benchalign', '--useGeluApproximation', '0',
    ]);
    expect(mnnConvertArgs('a.onnx', 'b.mnn', mnnConversionOptions({ fp16Weights: true, keepInputFormat: false, geluApproximation: true })).slice(8)).toEqual([
      '--fp16',
      '--keepInputFormat=0',
      '--useGeluApproximation',
      '1',
    ]);
    expect(() => mnnConversionOptions({ fp16Weights: 'yes', keepInputFormat: 0 })).toThrow(
      /options\.fp16Weights: expected true or false, got "yes"; options\.keepInputFormat: expected true or false, got 0/,
    );
  });
});

describe.skipIf(!availability.available)('MNN runner (real pip MNN in a Python worker)', () => {
  const runner = new MnnRunner({ requestTimeoutMs: 60_000 });
  let cache = '';
  let fixtures = '';
  let ownFixtures = false;
  beforeAll(() => {
    cache = tempDir('mnn-cache');
    // scripts/setup-test-env.sh generates them; a checkout that has not run it yet makes its own
    fixtures = join(REPO, 'test/fixtures/generated/mnn');
    if (!existsSync(join(fixtures, '.stamp'))) {
      fixtures = tempDir('mnn-fixtures');
      ownFixtures = true;
      execFileSync(pythonPath(), [join(REPO, 'test/fixtures/make_mnn.py'), fixtures], { stdio: 'pipe' });
    }
  });
  afterAll(async () => {
    await runner.dispose();
    rmSync(cache, { recursive: true, force: true });
    if (ownFixtures) rmSync(fixtures, { recursive: true, force: true });
  });

  const conv = (extra: Record<string, unknown> = {}) => ({
    name: 'conv',
    path: join(fixtures, 'conv.onnx'),
    inputs: { source: 'reference', file: join(fixtures, 'conv.inputs.npz') },
    reference: join(fixtures, 'conv.outputs.npz'),
    ...extra,
  });

  it('reports its pip version and the CPU device', () => {
    expect(availability).toMatchObject({ available: true, version: expect.stringMatching(/^\d+\.\d+\.\d+$/) });
    expect(availability.available && availability.devices).toEqual(['cpu']);
  });

  it('fp32: converts both bundled models (cold start includes the conversion), runs them with precision high, and aligns within the fp32 defaults', async () => {
    const results = await runEngineOnBundled('mnn', { options: { threads: 1 }, env: { BENCHALIGN_CACHE_DIR: cache } });
    expectBundledAligned(results);
    for (const job of results.jobs) {
      expect(job.engine.effectivePrecision).toBe('fp32');
      expect(job.engine.appliedOptions).toMatchObject({
        backend: 'CPU',
        numThread: 1,
        precisionMode: 'high',
        fp16Weights: false,
        converter: `MNNConvert ${availability.available ? availability.version : ''}`,
      });
      expect(job.coldStart?.cacheHit).toBe(false);
      expect(job.coldStart?.convertMs).toBeGreaterThan(0);
      expect(job.coldStart?.totalMs).toBeCloseTo((job.coldStart?.loadMs ?? 0) + (job.coldStart?.convertMs ?? 0), 6);
      expect(job.latency?.count).toBeGreaterThanOrEqual(20);
      expect(job.latency?.percentiles.p50.value).toBeGreaterThan(0);
    }
    const logits = results.jobs[0]?.alignment?.find((a) => a.name === 'logits');
    expect(logits?.topk?.top1Agreement).toBe(1);
    // MNN has no int64 tensors: the transformer's int64 token ids are narrowed, and the record says so
    expect(results.jobs[1]?.engine.notes?.join(' ')).toMatch(/input input_ids: the model declares int64, MNN takes int32/);

    const again = await runEngineOnBundled('mnn', { options: { threads: 1 }, env: { BENCHALIGN_CACHE_DIR: cache }, models: [cnnModel()] });
    expect(again.jobs[0]?.status).toBe('ok');
    expect(again.jobs[0]?.coldStart).toMatchObject({ cacheHit: true, convertMs: 0 });
  });

  it('fp16: precision low with fp16 weights, aligned within the fp16 defaults; says what the CPU really computed', async () => {
    const results = await runEngineOnBundled('mnn', { precision: 'fp16', options: { fp16Weights: true }, env: { BENCHALIGN_CACHE_DIR: cache } });
    expect(results.jobs.map((j) => j.status)).toEqual(['ok', 'ok']);
    expect(misaligned(results)).toEqual([]);
    for (const job of results.jobs) {
      expect(job.engine.precision).toBe('fp16');
      expect(job.engine.appliedOptions).toMatchObject({ precisionMode: 'low', fp16Weights: true });
      expect(job.coldStart?.cacheHit).toBe(false); // fp16 weights are another conversion
      const notes = job.engine.notes?.join(' ') ?? '';
      expect(notes).toMatch(/weights stored as fp16 by MNNConvert --fp16/);
      if (process.arch !== 'arm64') {
        expect(job.engine.effectivePrecision).toBe('fp32');
        expect(notes).toMatch(/asked for precision low, but this CPU \(\w+\) has no fp16 arithmetic MNN can use/);
      }
    }
    // fp16 weights change the numbers (they are really rounded), unlike a pure fp32 run
    const fp32 = await runEngineOnBundled('mnn', { env: { BENCHALIGN_CACHE_DIR: cache }, models: [cnnModel()] });
    const err16 = results.jobs[0]?.alignment?.[0]?.maxAbsError ?? 0;
    const err32 = fp32.jobs[0]?.alignment?.[0]?.maxAbsError ?? Infinity;
    expect(err16).toBeGreaterThan(err32);
  });

  it('keepInputFormat false: MNN packs the conv output in NC4HW4; it is converted to NCHW and the alignment shows the step', async () => {
    const packed = await runEngineOnBundled('mnn', { options: { keepInputFormat: false }, env: { BENCHALIGN_CACHE_DIR: cache }, models: [conv()] });
    const job = packed.jobs[0]!;
    expect([job.status, job.reason]).toEqual(['ok', undefined]);
    expect(misaligned(packed)).toEqual([]);
    const y = job.alignment?.find((a) => a.name === 'y');
    const idx = job.alignment?.find((a) => a.name === 'idx');
    expect(y?.mapping?.layout).toContain('NC4HW4->NCHW');
    expect(y?.maxAbsError).toBeLessThan(1e-4);
    expect(idx?.mapping?.layout).toContain('int32->int64');
    expect(idx?.mismatchCount).toBe(0);
    expect(job.engine.notes?.join(' ')).toMatch(/input x: MNN takes NC4HW4/);

    // converted with the default (keepInputFormat true), the same model needs no layout step
    const plain = await runEngineOnBundled('mnn', { env: { BENCHALIGN_CACHE_DIR: cache }, models: [conv()] });
    expect(plain.jobs[0]?.status).toBe('ok');
    expect(plain.jobs[0]?.alignment?.find((a) => a.name === 'y')?.mapping?.layout ?? []).not.toContain('NC4HW4->NCHW');
  });

  it('a file MNNConvert rejects errors that job with the converter log tail, and the run goes on', async () => {
    const results = await runEngineOnBundled('mnn', {
      env: { BENCHALIGN_CACHE_DIR: cache },
      models: [
        { name: 'broken', path: `${FIXTURES}not_a_model.onnx`, inputs: { source: 'random', seed: 1 } },
        { name: 'unknown-op', path: join(fixtures, 'unknown_op.onnx'), inputs: { source: 'random', seed: 1 } },
        cnnModel(),
      ],
    });
    const [broken, unknown, cnn] = results.jobs;
    expect(broken?.status).toBe('errored');
    expect(broken?.reason).toMatch(/MNNConvert failed on .*not_a_model\.onnx[\s\S]*Invalid ONNX Model/);
    expect(unknown?.status).toBe('errored');
    expect(unknown?.reason).toMatch(/These Op Not Support: ONNX::Mystery/);
    expect(cnn?.status).toBe('ok');
  });

  it('a pinned batch of 2 runs on the shape-mutable Module: each row equals the batch-1 result of its own input', async () => {
    const onnx = join(MODELS, 'cnn/model.onnx');
    const ref = { name: 'cnn', path: onnx, sha256: '', shapes: { input: [2, 3, 32, 32] } };
    const opts = { precision: 'fp32' as const, options: {} };
    const prepared = await runner.prepare(ref, opts);
    expect(prepared.path).toMatch(/model\.mnn$/);
    const act = await runner.activate(prepared, ref, opts);
    expect(act.inputs).toEqual([{ name: 'input', dtype: 'float32', dims: [2, 3, 32, 32] }]);
    expect(act.notes?.join(' ')).toMatch(/inputs resized to input=\[2, 3, 32, 32\]/);
    const data = new Float32Array(2 * 3 * 32 * 32);
    for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.37) * (i < data.length / 2 ? 1 : -2);
    const both = (await runner.infer(new Map([['input', makeTensor('float32', [2, 3, 32, 32], data)]]))).get('logits')!;
    expect(both.dims).toEqual([2, 10]);
    for (const row of [0, 1]) {
      const half = data.slice(row * 3072, (row + 1) * 3072);
      const one = (await runner.infer(new Map([['input', makeTensor('float32', [1, 3, 32, 32], half)]]))).get('logits')!;
      expect(one.dims).toEqual([1, 10]);
      expect(maxAbsDiff(one, makeTensor('float32', [1, 10], (both.data as Float32Array).slice(row * 10, row * 10 + 10)))).toBeLessThan(1e-5);
    }
    await runner.deactivate();
  });

  it('int64 token ids beyond int32 skip the job (E_UNSUPPORTED) with the input name and range, not wrapped around', async () => {
    const results = await runEngineOnBundled('mnn', {
      env: { BENCHALIGN_CACHE_DIR: cache },
      models: [transformerModel({ inputs: { source: 'random', seed: 3, ranges: { input_ids: [3e9, 4e9] } }, reference: undefined })],
    });
    const job = results.jobs[0]!;
    expect(job.status).toBe('skipped'); // E_UNSUPPORTED: the engine cannot represent these inputs
    expect(job.reason).toMatch(/input input_ids has values in \[3\d{9}, 3\d{9}\], outside int32/);
  });

  it('a suite model that is already .mnn is loaded as it is: no conversion, and the record says so', async () => {
    const converted = await runner.prepare({ name: 'cnn', path: join(MODELS, 'cnn/model.onnx'), sha256: '' }, { precision: 'fp32', options: {} });
    const own = join(tempDir('mnn-given'), 'cnn.mnn');
    copyFileSync(converted.path, own);
    try {
      const results = await runEngineOnBundled('mnn', { env: { BENCHALIGN_CACHE_DIR: cache }, models: [cnnModel({ path: own })] });
      const job = results.jobs[0]!;
      expect([job.status, job.reason]).toEqual(['ok', undefined]);
      expect(misaligned(results)).toEqual([]);
      expect(job.coldStart?.convertMs).toBeUndefined();
      expect(job.engine.appliedOptions?.converter).toBeUndefined();
      expect(job.engine.notes?.join(' ')).toMatch(/this \.mnn file was given as is/);
    } finally {
      rmSync(dirname(own), { recursive: true, force: true });
    }
  });

  it('a malformed sidecar next to the model is refused with its file and what was expected, and nothing in it runs', async () => {
    const converted = await runner.prepare({ name: 'cnn', path: join(MODELS, 'cnn/model.onnx'), sha256: '' }, { precision: 'fp32', options: {} });
    const dir = tempDir('mnn-sidecar');
    const own = join(dir, 'model.mnn');
    copyFileSync(converted.path, own);
    try {
      writeFileSync(`${own}.io.json`, JSON.stringify({ inputs: [{ name: 'input', dtype: 7, dims: '__import__("os")' }], outputs: [] }));
      await expect(activate(runner, own)).rejects.toMatchObject({
        code: 'E_CONFIG',
        message: expect.stringMatching(/model\.mnn\.io\.json: inputs\[0\] is malformed/),
      });
      writeFileSync(`${own}.io.json`, '{"inputs": [');
      await expect(activate(runner, own)).rejects.toMatchObject({ code: 'E_CONFIG', message: expect.stringMatching(/io\.json is not valid JSON/) });
      writeFileSync(`${own}.convert.json`, '[1, 2]');
      await expect(activate(runner, own)).rejects.toMatchObject({ code: 'E_CONFIG', message: expect.stringMatching(/convert\.json is not a JSON object/) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses int8 and bf16, an unconverted model, and reports every bad option at once', async () => {
    const onnx = join(MODELS, 'cnn/model.onnx');
    await expect(activate(runner, onnx, {}, 'int8')).rejects.toMatchObject({ code: 'E_UNSUPPORTED', message: expect.stringMatching(/precision int8/) });
    await expect(activate(runner, onnx, {}, 'bf16')).rejects.toMatchObject({ code: 'E_UNSUPPORTED' });
    await expect(activate(runner, onnx)).rejects.toMatchObject({ code: 'E_CONFIG', message: expect.stringMatching(/is not an \.mnn model/) });
    await expect(activate(runner, onnx, { threads: 0, precisionMode: 'ultra', fast: true })).rejects.toMatchObject({
      code: 'E_CONFIG',
      message: expect.stringMatching(/options\.threads: expected an integer >= 1.*options\.precisionMode: expected one of high\|normal\|low.*options\.fast: unknown option/),
    });
  });

  it('precisionMode normal on a fp32 job is recorded with a note', async () => {
    const results = await runEngineOnBundled('mnn', { options: { precisionMode: 'normal' }, env: { BENCHALIGN_CACHE_DIR: cache }, models: [transformerModel()] });
    const job = results.jobs[0]!;
    expect(job.status).toBe('ok');
    expect(job.engine.appliedOptions).toMatchObject({ precisionMode: 'normal' });
    expect(job.engine.notes?.join(' ')).toMatch(/precisionMode normal/);
  });

  it("geluApproximation true (MNNConvert's own default) puts the transformer outside the fp32 tolerance, and the record says why", async () => {
    const results = await runEngineOnBundled('mnn', { options: { geluApproximation: true }, env: { BENCHALIGN_CACHE_DIR: cache }, models: [transformerModel()] });
    const job = results.jobs[0]!;
    expect(job.status).toBe('failed');
    expect(job.engine.notes?.join(' ')).toMatch(/GELU converted to MNN's tanh approximation/);
    const hidden = job.alignment?.find((a) => a.name === 'hidden');
    expect(hidden?.maxAbsError).toBeGreaterThan(1e-4);
    expect(hidden?.maxAbsError).toBeLessThan(1e-2);
  });
});
