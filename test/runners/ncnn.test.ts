/**
 * ncnn for real (pip ncnn and pnnx in the project venv): the bundled models converted from
 * ONNX with pnnx and run through the whole pipeline, aligned against their PyTorch references.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NcnnRunner } from '../../src/runners/ncnn/runner.js';
import { pythonPath } from '../../src/runners/python/env.js';
import { makeTensor, toFloat64Array } from '../../src/tensors/tensor.js';
import type { JobResult } from '../../src/model/record.js';
import { MODELS, cnnModel, tempDir, transformerModel } from '../agents/helpers.js';
import { engineAvailability, misaligned, runEngineOnBundled, expectBundledAligned } from './engine-suite.js';
import { FIXTURES, REPO } from './helpers.js';

const availability = await engineAvailability('ncnn');
/** Each run converts and measures real models; a loaded 2-core machine needs more than the default 60 s. */
const PIPELINE_TIMEOUT_MS = 240_000;

function mapping(job: JobResult | undefined): Record<string, unknown> {
  return Object.fromEntries((job?.alignment ?? []).map((a) => [a.name, a.mapping]));
}

describe.skipIf(!availability.available)('ncnn runner (real ncnn + pnnx in a Python worker)', () => {
  const cache = tempDir('ncnn-cache');
  const env = { BENCHALIGN_CACHE_DIR: cache };
  const runner = new NcnnRunner({ requestTimeoutMs: 60_000 });
  // test/fixtures/make_ncnn.py: setup-test-env.sh generates them; older fixture folders get them here
  const generated = `${FIXTURES}../ncnn/`;
  let fixtures: string | undefined;
  const ncnnFixtures = (): string => {
    if (fixtures === undefined) {
      fixtures = existsSync(`${generated}custom_op.onnx`) ? generated : tempDir('ncnn-fixtures');
      if (fixtures !== generated) execFileSync(pythonPath(), [join(REPO, 'test/fixtures/make_ncnn.py'), fixtures]);
    }
    return fixtures;
  };
  afterAll(async () => {
    await runner.dispose();
    rmSync(cache, { recursive: true, force: true });
    if (fixtures !== undefined && fixtures !== generated) rmSync(fixtures, { recursive: true, force: true });
  });

  it('reports its pip version and the CPU (and Vulkan devices only where a loader and GPU exist)', () => {
    expect(availability).toMatchObject({ available: true, version: expect.stringMatching(/^1\.0\.\d{8}$/) });
    const devices = availability.available ? availability.devices : [];
    expect(devices[0]).toBe('cpu');
    for (const d of devices.slice(1)) expect(d).toMatch(/^vulkan:\d+$/);
  });

  it('fp32: both bundled models align within the fp32 defaults, with every fp16 switch off and the name/batch mapping reported', async () => {
    const results = await runEngineOnBundled('ncnn', { options: { threads: 1 }, env });
    expectBundledAligned(results);
    for (const job of results.jobs) {
      expect(job.engine.effectivePrecision).toBe('fp32');
      expect(job.engine.appliedOptions).toMatchObject({
        threads: 1,
        'opt.num_threads': 1,
        'opt.use_fp16_storage': false,
        'opt.use_fp16_arithmetic': false,
        'opt.use_fp16_packed': false,
        'opt.use_bf16_storage': false,
        'opt.use_vulkan_compute': false,
        'pnnx.fp16': 0,
      });
      expect(job.latency?.count).toBeGreaterThanOrEqual(20);
      expect(job.latency?.percentiles.p50.value).toBeGreaterThan(0);
      // a fresh cache: the conversion ran now and counts in cold start
      expect(job.coldStart?.cacheHit).toBe(false);
      expect(job.coldStart?.convertMs).toBeGreaterThan(0);
      expect(job.coldStart?.totalMs).toBeGreaterThanOrEqual((job.coldStart?.convertMs ?? 0) + (job.coldStart?.loadMs ?? 0) - 1e-6);
    }
    const [cnn, transformer] = results.jobs;
    expect(cnn?.alignment?.find((a) => a.name === 'logits')?.topk?.top1Agreement).toBe(1);
    expect(mapping(cnn)).toEqual({
      logits: { name: { reference: 'logits', actual: 'out0', by: 'engine' }, layout: ['added batch dim (ncnn Mat [10] -> [1, 10])'] },
    });
    expect(mapping(transformer)).toEqual({
      hidden: { name: { reference: 'hidden', actual: 'out0', by: 'engine' }, layout: ['added batch dim (ncnn Mat [16, 64] -> [1, 16, 64])'] },
      pooled: { name: { reference: 'pooled', actual: 'out1', by: 'engine' }, layout: ['added batch dim (ncnn Mat [64] -> [1, 64])'] },
    });
    expect(transformer?.engine.notes).toContain('inputs: input_ids -> in0 (batch dim removed: ncnn Mat [16]), int64 fed as int32');
  }, PIPELINE_TIMEOUT_MS);

  it('the second run hits the conversion cache (no conversion time in cold start)', async () => {
    await runEngineOnBundled('ncnn', { models: [cnnModel()], env }); // converts it, unless the fp32 test did
    const results = await runEngineOnBundled('ncnn', { models: [cnnModel()], env });
    const job = results.jobs[0];
    expect(job?.status).toBe('ok');
    expect(job?.coldStart).toMatchObject({ cacheHit: true, convertMs: 0 });
    expect(job?.coldStart?.totalMs).toBe(job?.coldStart?.loadMs);
  }, PIPELINE_TIMEOUT_MS);

  it('fp16: converts fp16 weights, turns fp16 storage on, records what the CPU really does, and aligns within the fp16 defaults', async () => {
    const results = await runEngineOnBundled('ncnn', { precision: 'fp16', env });
    expectBundledAligned(results);
    for (const job of results.jobs) {
      expect(job.engine.precision).toBe('fp16');
      // a different cache entry from the fp32 one
      expect(job.coldStart?.cacheHit).toBe(false);
      expect(job.engine.appliedOptions).toMatchObject({
        'opt.use_fp16_storage': true,
        'opt.use_fp16_arithmetic': true,
        'opt.use_fp16_packed': true,
        'pnnx.fp16': 1,
      });
      const notes = job.engine.notes?.join('\n') ?? '';
      expect(notes).toMatch(/weights converted to fp16 by pnnx \(fp16=1\)/);
      expect(notes).toContain(`asked for fp16, runs ${job.engine.effectivePrecision}: `);
      if (process.arch === 'x64') {
        // x86: ncnn keeps activations and arithmetic in fp32; only the weights are fp16
        expect(job.engine.effectivePrecision).toBe('fp16-weights');
        expect(notes).toMatch(/x86: ncnn keeps activations and arithmetic in fp32/);
      } else {
        expect(['fp16', 'fp16-storage']).toContain(job.engine.effectivePrecision);
      }
    }
  }, PIPELINE_TIMEOUT_MS);

  it('names what a fp16 job really runs on each kind of CPU (the CPU features are stand-ins passed to the pure function)', () => {
    const cases = [
      // machine, vulkan, storage, arithmetic, asimdhp, f16c, fp16 weights
      ['aarch64', false, true, true, true, false, true],
      ['aarch64', false, true, true, false, false, true],
      ['aarch64', false, true, false, true, false, true],
      ['aarch64', false, false, false, true, false, true],
      ['x86_64', false, true, true, false, true, true],
      ['x86_64', false, true, true, false, false, false],
      ['x86_64', true, true, true, false, true, true],
    ];
    const script = `import json, sys\nfrom benchalign_worker.ncnn_worker import fp16_effect\nprint(json.dumps([fp16_effect(*c) for c in json.loads(sys.argv[1])]))`;
    const out = execFileSync(pythonPath(), ['-c', script, JSON.stringify(cases)], { env: { ...process.env, PYTHONPATH: join(REPO, 'runner-agents/python') } });
    const got = (JSON.parse(out.toString()) as Array<[string, string]>).map(([p, why]) => `${p}: ${why}`);
    expect(got).toEqual([
      'fp16: ARM: fp16 storage and fp16 arithmetic (asimdhp)',
      'fp16-storage: ARM: blobs stored in fp16, fp16 arithmetic unsupported (no asimdhp: fp16 arithmetic needs ARMv8.2 FP16), so layers compute in fp32',
      'fp16-storage: ARM: blobs stored in fp16, fp16 arithmetic off, so layers compute in fp32',
      'fp16-weights: ARM with fp16Storage off: blobs and arithmetic stay fp32; the weights were rounded to fp16 by pnnx (fp16=1)',
      "fp16-weights: x86: ncnn keeps activations and arithmetic in fp32 (fp16 storage keeps some layers' weights in fp16, with F16C); the weights were rounded to fp16 by pnnx (fp16=1)",
      'fp32: x86: ncnn keeps activations and arithmetic in fp32',
      'fp16: Vulkan: fp16 storage and arithmetic where the device supports them',
    ]);
  });

  it('refuses a conversion whose blob order does not match the graph (crafted pnnx files standing in for a pnnx that reorders)', () => {
    const dir = tempDir('ncnn-order');
    try {
      // graph order: hidden [1,16,64], pooled [1,64]; the crafted pnnx output lists them swapped
      writeFileSync(join(dir, 'model.pnnx.param'), '7767517\n3 2\npnnx.Input in0 0 1 0 #0=(1,16)i64\npnnx.Output out0 1 0 1 #1=(1,64)f32\npnnx.Output out1 1 0 2 #2=(1,16,64)f32\n');
      writeFileSync(join(dir, 'model.ncnn.param'), '7767517\n2 3\nInput in0 0 1 in0\nSplit s 1 2 in0 out0 out1\n');
      const script = [
        'import json, sys',
        'from benchalign_worker.ncnn_convert import ConvertError, check_mapping',
        'ins = [{"name": "input_ids", "dtype": "int64", "dims": [1, 16], "shape": [1, 16]}]',
        'outs = [{"name": "hidden", "dtype": "float32", "dims": [1, 16, 64]}, {"name": "pooled", "dtype": "float32", "dims": [1, 64]}]',
        'try:',
        '    check_mapping(ins, outs, sys.argv[1]); print("accepted")',
        'except ConvertError as e:',
        '    print(e)',
      ].join('\n');
      const out = execFileSync(pythonPath(), ['-c', script, dir], { env: { ...process.env, PYTHONPATH: join(REPO, 'runner-agents/python') } }).toString();
      expect(out.trim()).toBe(
        "pnnx output 0 is float32 [1, 64], but ONNX output 0 ('hidden') is float32 [1, 16, 64]: the order pnnx wrote does not match the graph",
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('maps several inputs and outputs back to their ONNX names by position (not alphabetically), and says which order shapes cannot check', async () => {
    const dir = ncnnFixtures();
    const results = await runEngineOnBundled('ncnn', {
      env,
      models: [{ name: 'multi_io', path: join(dir, 'multi_io.onnx'), inputs: { source: 'reference', file: join(dir, 'inputs.npz') }, reference: join(dir, 'outputs.npz') }],
    });
    const job = results.jobs[0];
    expect([job?.status, job?.reason]).toEqual(['ok', undefined]);
    expect(misaligned(results)).toEqual([]);
    const actual = Object.fromEntries((job?.alignment ?? []).map((a) => [a.name, a.mapping?.name.actual]));
    expect(actual).toEqual({ q: 'out0', p: 'out1', r: 'out2' });
    for (const a of job?.alignment ?? []) expect(a.maxAbsError).toBeLessThan(1e-6);
    expect(job?.engine.notes).toEqual(
      expect.arrayContaining([
        'inputs: b -> in0 (batch dim removed: ncnn Mat [4]); a -> in1 (batch dim removed: ncnn Mat [2, 3])',
        "outputs q, r have the same shape: their blob order is pnnx's graph order, not checked by shape",
      ]),
    );
  }, PIPELINE_TIMEOUT_MS);

  it('converts a model with external weights (inlined for pnnx) and converts again when the weights file changes', async () => {
    const dir = tempDir('ncnn-external');
    try {
      cpSync(join(ncnnFixtures(), 'cnn_external'), dir, { recursive: true });
      const model = cnnModel({ name: 'cnn_external', path: join(dir, 'model.onnx') });
      const first = (await runEngineOnBundled('ncnn', { env, models: [model] })).jobs[0];
      expect([first?.status, first?.reason]).toEqual(['ok', undefined]);
      expect(first?.coldStart?.cacheHit).toBe(false);
      expect(first?.alignment?.[0]?.maxAbsError).toBeLessThan(1e-6);
      expect(readdirSync(dir).sort()).toEqual(['model.onnx', 'weights.bin']); // nothing written next to the model
      // same .onnx bytes, other weights: the cached conversion must not be reused
      copyFileSync(join(ncnnFixtures(), 'weights_changed.bin'), join(dir, 'weights.bin'));
      const second = (await runEngineOnBundled('ncnn', { env, models: [model] })).jobs[0];
      expect(second?.coldStart?.cacheHit).toBe(false);
      expect(second?.status).toBe('failed'); // the fc bias moved by 1: the new weights ran
      expect(second?.alignment?.[0]?.maxAbsError).toBeCloseTo(1, 4);
      const third = (await runEngineOnBundled('ncnn', { env, models: [model] })).jobs[0];
      expect(third?.coldStart?.cacheHit).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, PIPELINE_TIMEOUT_MS);

  it('batch 4 of a CNN (and a graph that declares batch 3) runs as emulated batching (item by item, stacked) and aligns with its reference; a graph that mixes items is refused naming the op', async () => {
    const dir = tempDir('ncnn-batch');
    try {
      // the reference: the TorchScript CNN on 4 random images, computed here by PyTorch
      execFileSync(pythonPath(), ['-c', [
        'import sys, numpy as np, torch',
        'm = torch.jit.load(sys.argv[1]).eval()',
        'x = torch.from_numpy(np.random.default_rng(7).standard_normal((4, 3, 32, 32)).astype(np.float32))',
        'with torch.inference_mode(): y = m(x)',
        'np.savez(sys.argv[2] + "/inputs.npz", input=x.numpy()); np.savez(sys.argv[2] + "/outputs.npz", logits=y.numpy())',
        // a graph with a dynamic batch that mixes items: x - mean over the batch (ReduceMean axis 0)
        'import onnx; from onnx import helper as h, TensorProto as T',
        'g = h.make_graph([h.make_node("ReduceMean", ["x", "axes"], ["m"], name="batch_mean", keepdims=1), h.make_node("Sub", ["x", "m"], ["y"])], "mixes",',
        '  [h.make_tensor_value_info("x", T.FLOAT, ["batch", 4])], [h.make_tensor_value_info("y", T.FLOAT, ["batch", 4])], [h.make_tensor("axes", T.INT64, [1], [0])])',
        'onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 18)]), sys.argv[2] + "/mixes.onnx")',
        // a graph that declares a static batch of 3 and keeps items apart: y = tanh(x) * 2, reference by NumPy
        'g = h.make_graph([h.make_node("Tanh", ["x"], ["t"]), h.make_node("Add", ["t", "t"], ["y"])], "static3",',
        '  [h.make_tensor_value_info("x", T.FLOAT, [3, 4, 5])], [h.make_tensor_value_info("y", T.FLOAT, [3, 4, 5])])',
        'onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 18)], ir_version=9), sys.argv[2] + "/static3.onnx")',
        'x3 = np.random.default_rng(5).standard_normal((3, 4, 5)).astype(np.float32)',
        'np.savez(sys.argv[2] + "/in3.npz", x=x3); np.savez(sys.argv[2] + "/out3.npz", y=np.tanh(x3) * 2)',
      ].join('\n'), join(MODELS, 'cnn/model.torchscript.pt'), dir]);
      const results = await runEngineOnBundled('ncnn', {
        env,
        models: [
          cnnModel({ name: 'cnn-b4', shapes: { input: [4, 3, 32, 32] }, inputs: { source: 'reference', file: join(dir, 'inputs.npz') }, reference: join(dir, 'outputs.npz') }),
          { name: 'mixes-b2', path: join(dir, 'mixes.onnx'), shapes: { x: [2, 4] }, inputs: { source: 'random', seed: 1 } },
          { name: 'static-b3', path: join(dir, 'static3.onnx'), inputs: { source: 'reference', file: join(dir, 'in3.npz') }, reference: join(dir, 'out3.npz') },
        ],
      });
      const [cnn, mixes, static3] = results.jobs;
      // a graph that declares batch 3: pnnx converts a copy whose batch dim is free
      expect([static3?.status, static3?.reason]).toEqual(['ok', undefined]);
      expect(static3?.engine.appliedOptions).toMatchObject({ emulatedBatch: 3 });
      expect([cnn?.status, cnn?.reason]).toEqual(['ok', undefined]);
      expect(misaligned(results)).toEqual([]);
      expect(cnn?.engine.appliedOptions).toMatchObject({ emulatedBatch: 4 });
      expect(cnn?.engine.notes?.join(' ')).toMatch(/emulated batching: .* runs the 4 items of the batch one after another/);
      expect(mapping(cnn)).toEqual({ logits: { name: { reference: 'logits', actual: 'out0', by: 'engine' }, layout: ['stacked 4 items (ncnn Mat [10] each -> [4, 10])'] } });
      expect(mixes?.status).toBe('errored');
      expect(mixes?.reason).toMatch(/batch 2: ncnn Mats have no batch dimension, and this graph works across the items of a batch.*ReduceMean batch_mean \(along axis 0\)/s);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, PIPELINE_TIMEOUT_MS);

  it('refuses dynamic dims without shapes, a broken model and one pnnx cannot convert, each with a clear reason, and the run goes on', async () => {
    const results = await runEngineOnBundled('ncnn', {
      env,
      models: [
        cnnModel({ name: 'dynamic', shapes: undefined }),
        { name: 'broken', path: `${FIXTURES}not_a_model.onnx`, inputs: { source: 'random', seed: 1 } },
        { name: 'custom_op', path: join(ncnnFixtures(), 'custom_op.onnx'), inputs: { source: 'random', seed: 1 } },
        transformerModel(),
      ],
    });
    const byName = Object.fromEntries(results.jobs.map((j) => [j.model.name, j]));
    expect(byName.dynamic?.status).toBe('errored');
    expect(byName.dynamic?.reason).toMatch(/input 'input' has dynamic dims \['batch', 3, 32, 32\].*pin them in the suite/);
    expect(byName.broken?.status).toBe('errored');
    expect(byName.broken?.reason).toMatch(/not_a_model\.onnx: ncnn: converting with pnnx \d+ failed: the converter exited with code 2/);
    expect(byName.broken?.reason).toMatch(/cannot read ONNX model .*not_a_model\.onnx/);
    // pnnx itself fails on an op it does not know: the reason carries its own log
    expect(byName.custom_op?.status).toBe('errored');
    expect(byName.custom_op?.reason).toMatch(/custom_op\.onnx: ncnn: converting with pnnx \d+ failed/);
    expect(byName.custom_op?.reason).toMatch(/Frobnicate/);
    expect(byName.custom_op?.reason).toMatch(/benchalign: pnnx (was killed by signal \d+|exited with status \d+|wrote no)/);
    expect(byName.transformer?.status).toBe('ok');
    // nothing half-converted was cached: only the complete entries of the jobs that converted
    const entries = readdirSync(join(cache, 'convert', 'ncnn'));
    expect(entries.filter((e) => e.startsWith('.tmp'))).toEqual([]);
    for (const e of entries) expect(existsSync(join(cache, 'convert', 'ncnn', e, '.complete'))).toBe(true);
  }, PIPELINE_TIMEOUT_MS);

  it('refuses int8/bf16, contradictory or unknown options (all at once), Vulkan without a device, and batch-2 feeds; serves concurrent requests', async () => {
    const cnn = { name: 'cnn', path: join(MODELS, 'cnn/model.onnx'), sha256: 'x', shapes: { input: [1, 3, 32, 32] } };
    await expect(runner.prepare(cnn, { precision: 'int8', options: {} })).rejects.toMatchObject({ code: 'E_UNSUPPORTED', message: expect.stringMatching(/precision int8/) });
    await expect(runner.prepare(cnn, { precision: 'bf16', options: {} })).rejects.toMatchObject({ code: 'E_UNSUPPORTED' });
    const saved = process.env.BENCHALIGN_CACHE_DIR;
    process.env.BENCHALIGN_CACHE_DIR = cache;
    try {
      const prepared = await runner.prepare(cnn, { precision: 'fp32', options: {} });
      await expect(runner.activate(prepared, cnn, { precision: 'fp32', options: { threads: 0, fp16Storage: true, powersave: 'turbo', fast: 1 } })).rejects.toMatchObject({
        code: 'E_CONFIG',
        message: expect.stringMatching(
          /options\.threads: expected an integer >= 1.*options\.powersave: expected one of all\|little\|big.*options\.fp16Storage: true contradicts precision fp32.*options\.fast: unknown option/,
        ),
      });
      const devices = availability.available ? availability.devices : [];
      if (!devices.some((d) => d.startsWith('vulkan'))) {
        await expect(runner.activate(prepared, cnn, { precision: 'fp32', options: { vulkan: true } })).rejects.toMatchObject({
          code: 'E_UNSUPPORTED',
          message: expect.stringMatching(/vulkan requested, but (no Vulkan loader|Vulkan device 0 does not exist)/),
        });
      } else {
        console.log('skipped: the no-Vulkan refusal (this machine has Vulkan devices)');
      }
      const info = await runner.activate(prepared, cnn, { precision: 'fp32', options: { powersave: 'big' } });
      expect(info.appliedOptions).toMatchObject({ powersave: 'big', set_cpu_powersave: 2 });
      expect(info.inputs).toEqual([{ name: 'input', dtype: 'float32', dims: [1, 3, 32, 32] }]);
      const batch2 = new Map([['input', makeTensor('float32', [2, 3, 32, 32], new Float32Array(2 * 3 * 32 * 32))]]);
      await expect(runner.infer(batch2)).rejects.toMatchObject({
        code: 'E_UNSUPPORTED',
        message: expect.stringMatching(/input 'input' has batch 2 .*ncnn Mats have no batch dimension and this model was converted to run batch 1/),
      });
      const one = new Map([['input', makeTensor('float32', [1, 3, 32, 32], new Float32Array(3 * 32 * 32).fill(0.5))]]);
      const out = await runner.infer(one);
      expect(out.get('logits')?.dims).toEqual([1, 10]);
      // two concurrent requests, each with its own extractor on the shared Net
      const concurrent = await runner.measure(one, { iterations: 40, maxDurationMs: 10_000, concurrency: 2 });
      expect(concurrent.samplesNs).toHaveLength(40);
      expect(Math.min(...concurrent.samplesNs)).toBeGreaterThan(0);
      expect(concurrent.wallNs).toBeGreaterThan(0);
      const again = await runner.infer(one);
      expect(toFloat64Array(again.get('logits')!)).toEqual(toFloat64Array(out.get('logits')!));
      // the conversion's mapping file is what the worker read
      const sidecar = JSON.parse(readFileSync(join(prepared.path, '../benchalign-ncnn.json'), 'utf8')) as { inputs: Array<{ blob: string }> };
      expect(sidecar.inputs[0]?.blob).toBe('in0');
    } finally {
      if (saved === undefined) delete process.env.BENCHALIGN_CACHE_DIR;
      else process.env.BENCHALIGN_CACHE_DIR = saved;
      await runner.deactivate();
    }
  }, PIPELINE_TIMEOUT_MS);
});
