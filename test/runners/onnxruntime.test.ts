import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BenchalignError } from '../../src/errors.js';
import { OnnxRuntimeRunner } from '../../src/runners/onnxruntime/runner.js';
import { makeTensor } from '../../src/tensors/tensor.js';
import { FIXTURES, REPO, activate, maxAbsDiff, model, readDir, requireFixtures } from './helpers.js';

const threadCount = (pid: number): number => readdirSync(`/proc/${pid}/task`).length;

describe('OnnxRuntimeRunner (real onnxruntime-node in a worker)', () => {
  const runner = new OnnxRuntimeRunner({ requestTimeoutMs: 30_000 });
  beforeAll(requireFixtures);
  afterAll(() => runner.dispose());

  it('is available with the installed onnxruntime-node version and lists cpu', async () => {
    const a = await runner.available();
    expect(a).toMatchObject({ available: true, version: '1.30.0' });
    expect(a.available && a.devices).toContain('cpu');
  });

  it('reads input and output metadata, symbolic dims kept as names', async () => {
    const info = await activate(runner, `${FIXTURES}mlp.onnx`);
    expect(info.inputs).toEqual([{ name: 'x', dtype: 'float32', dims: ['batch', 4] }]);
    expect(info.outputs).toEqual([{ name: 'y', dtype: 'float32', dims: ['batch', 3] }]);
    expect(info.effectivePrecision).toBe('fp32');
    expect(info.pid).toBe(runner.workerPid);
    expect(info.loadMs).toBeGreaterThan(0);
    expect(await runner.inputMetadata()).toEqual(info.inputs);
    expect(runner.appliedOptions()).toEqual({
      executionProviders: ['cpu'],
      intraOpThreads: 1,
      interOpThreads: 1,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
    });
  });

  it('infers the numpy-computed result within 1e-4 (float32 and int64 inputs, two outputs)', async () => {
    await activate(runner, `${FIXTURES}mlp.onnx`);
    const y = (await runner.infer(await readDir(`${FIXTURES}mlp.inputs`, ['x']))).get('y');
    const want = (await readDir(`${FIXTURES}mlp.expected`, ['y'])).get('y');
    expect(y?.dims).toEqual([5, 3]);
    expect(maxAbsDiff(y!, want!)).toBeLessThanOrEqual(1e-4);

    await activate(runner, `${FIXTURES}two_io.onnx`);
    const out = await runner.infer(await readDir(`${FIXTURES}two_io.inputs`, ['a', 'ids']));
    expect([...out.keys()]).toEqual(['sum', 'scaled']);
    const expected = await readDir(`${FIXTURES}two_io.expected`, ['sum', 'scaled']);
    for (const k of ['sum', 'scaled']) expect(maxAbsDiff(out.get(k)!, expected.get(k)!)).toBeLessThanOrEqual(1e-4);
  });

  for (const [name, inputs, outputs] of [
    ['cnn', ['input'], ['logits']],
    ['transformer', ['input_ids'], ['hidden', 'pooled']],
  ] as const) {
    const dir = `${FIXTURES}bundled/${name}`;
    it.skipIf(!existsSync(`${REPO}suites/models/${name}/model.onnx`) || !existsSync(dir))(
      `bundled ${name}: outputs match the PyTorch references within 1e-4`,
      async () => {
        await activate(runner, `${REPO}suites/models/${name}/model.onnx`);
        const got = await runner.infer(await readDir(`${dir}/inputs`, [...inputs]));
        const present = outputs.filter((o) => existsSync(`${dir}/outputs/${o}.npy`));
        const want = await readDir(`${dir}/outputs`, present);
        expect(present.length).toBeGreaterThan(0);
        for (const o of present) expect(maxAbsDiff(got.get(o)!, want.get(o)!)).toBeLessThanOrEqual(1e-4);
      },
    );
  }

  it('measure returns `iterations` positive samples, single stream and with 4 in flight', async () => {
    await activate(runner, `${FIXTURES}mlp.onnx`);
    const feeds = await readDir(`${FIXTURES}mlp.inputs`, ['x']);
    const one = await runner.measure(feeds, { iterations: 200, maxDurationMs: 10_000 });
    expect(one.samplesNs).toHaveLength(200);
    expect(one.samplesNs.every((s) => Number.isInteger(s) && s > 0)).toBe(true);
    const sum = one.samplesNs.reduce((a, b) => a + b, 0);
    expect(one.wallNs).toBeGreaterThanOrEqual(sum);
    expect(one.startedAtNs).toBeGreaterThan(0);
    expect(one.startedAtNs!).toBeLessThan(Number(process.hrtime.bigint()));

    const four = await runner.measure(feeds, { iterations: 200, maxDurationMs: 10_000, concurrency: 4 });
    expect(four.samplesNs).toHaveLength(200);
    expect(four.samplesNs.every((s) => s > 0)).toBe(true);
    // Requests overlap: summed latency exceeds the wall time. Measured over 300 ms, so the lanes'
    // start-up messages (milliseconds on a loaded machine, against microseconds per mlp request)
    // do not decide it; serialised requests would give a ratio of at most 1.
    const long = await runner.measure(feeds, { iterations: 10_000_000, maxDurationMs: 300, concurrency: 4 });
    const sum4 = long.samplesNs.reduce((a, b) => a + b, 0);
    expect(sum4).toBeGreaterThan(long.wallNs);
  });

  it('measure stops at maxDurationMs', async () => {
    await activate(runner, `${FIXTURES}mlp.onnx`);
    const feeds = await readDir(`${FIXTURES}mlp.inputs`, ['x']);
    const r = await runner.measure(feeds, { iterations: 10_000_000, maxDurationMs: 50 });
    expect(r.samplesNs.length).toBeGreaterThan(0);
    expect(r.samplesNs.length).toBeLessThan(10_000_000);
    expect(r.wallNs).toBeGreaterThanOrEqual(50e6);
    expect(r.wallNs).toBeLessThan(1000e6);
  });

  it('honours intraOpThreads: the worker gains intraOpThreads - 1 pool threads', async () => {
    const info = await activate(runner, `${REPO}suites/models/cnn/model.onnx`, { intraOpThreads: 3 });
    const withPool = threadCount(info.pid);
    await runner.deactivate();
    const base = threadCount(info.pid);
    expect(withPool - base).toBe(2);
    await activate(runner, `${REPO}suites/models/cnn/model.onnx`, { intraOpThreads: 1 });
    expect(threadCount(info.pid)).toBe(base);
  });

  it('keeps one worker across models (same pid)', async () => {
    const a = await activate(runner, `${FIXTURES}mlp.onnx`);
    const b = await activate(runner, `${FIXTURES}two_io.onnx`);
    expect(b.pid).toBe(a.pid);
    expect(b.inputs.map((i) => i.name)).toEqual(['a', 'ids']);
  });

  it('cleans its scratch directory; dispose() ends the worker and the next activate starts a fresh one', async () => {
    const workDir = mkdtempSync(join(tmpdir(), 'benchalign-ort-test-'));
    const r = new OnnxRuntimeRunner({ workDir });
    try {
      const first = await activate(r, `${FIXTURES}mlp.onnx`);
      await activate(r, `${FIXTURES}mlp.onnx`);
      await r.infer(await readDir(`${FIXTURES}mlp.inputs`, ['x']));
      expect(readdirSync(workDir)).toHaveLength(1);
      await r.deactivate();
      expect(readdirSync(workDir)).toEqual([]);
      await r.dispose();
      expect(() => process.kill(first.pid, 0)).toThrow();
      const second = await activate(r, `${FIXTURES}mlp.onnx`);
      expect(second.pid).not.toBe(first.pid);
    } finally {
      await r.dispose();
      rmSync(workDir, { recursive: true, force: true });
    }
  });

  it('rejects bad options at once, each with its key', async () => {
    const err = await activate(runner, `${FIXTURES}mlp.onnx`, {
      intraOpThreads: -1,
      graphOptimizationLevel: 'max',
      executionProviders: ['cpu', 'npu'],
      threads: 2,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BenchalignError);
    expect((err as BenchalignError).code).toBe('E_CONFIG');
    const msg = (err as Error).message;
    for (const s of ['options.intraOpThreads', 'options.graphOptimizationLevel: expected one of disabled|basic|extended|all', 'options.executionProviders[1]', 'options.threads: unknown option']) {
      expect(msg).toContain(s);
    }
  });

  it('reports fp16 on an fp32 model as unsupported, naming the stored precision', async () => {
    const err = await activate(runner, `${FIXTURES}mlp.onnx`, {}, 'fp16').catch((e: unknown) => e);
    expect((err as BenchalignError).code).toBe('E_UNSUPPORTED');
    expect((err as Error).message).toMatch(/stored precision \(fp32\)/);
  });

  it.skipIf(existsSync('/dev/nvidia0'))('reports a missing cuda provider as unsupported', async () => {
    const err = await activate(runner, `${FIXTURES}mlp.onnx`, { executionProviders: ['cuda'] }).catch((e: unknown) => e);
    expect((err as BenchalignError).code).toBe('E_UNSUPPORTED');
    expect((err as Error).message).toMatch(/cuda is not available here/);
  });

  it('a file that is not a model fails the load with E_ENGINE; the worker keeps serving', async () => {
    const before = runner.workerPid;
    const err = await activate(runner, `${FIXTURES}not_a_model.onnx`).catch((e: unknown) => e);
    expect((err as BenchalignError).code).toBe('E_ENGINE');
    expect((err as Error).message).toContain('not_a_model.onnx');
    const info = await activate(runner, `${FIXTURES}mlp.onnx`);
    expect(info.pid).toBe(before);
  });

  it('checks pinned shapes against the model', async () => {
    const ok = model(`${FIXTURES}mlp.onnx`, { x: [5, 4] });
    const info = await runner.activate(ok.prepared, ok.ref, { precision: 'fp32', options: {} });
    expect(info.notes).toContain('x: batch pinned to 5');
    const bad = model(`${FIXTURES}mlp.onnx`, { x: [5, 7], z: [1] });
    const err = await runner.activate(bad.prepared, bad.ref, { precision: 'fp32', options: {} }).catch((e: unknown) => e);
    expect((err as BenchalignError).code).toBe('E_SHAPE');
    expect((err as Error).message).toContain('shapes.x[1]: 7, but the model fixes it to 4');
    expect((err as Error).message).toContain('shapes.z: no such input');
  });

  it('a wrong input name is an E_SHAPE error naming the inputs', async () => {
    await activate(runner, `${FIXTURES}mlp.onnx`);
    const t = makeTensor('float32', [1, 4], new Float32Array(4));
    const err = await runner.infer(new Map([['input', t]])).catch((e: unknown) => e);
    expect((err as BenchalignError).code).toBe('E_SHAPE');
    expect((err as Error).message).toMatch(/unknown input input.*expected inputs x/);
  });
});
