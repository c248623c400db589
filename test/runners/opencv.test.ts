/**
 * OpenCV-DNN for real (pip opencv-python-headless in the project venv), on the bundled models
 * through the whole pipeline, aligned against their PyTorch references.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OpenCvRunner } from '../../src/runners/opencv/runner.js';
import { MODELS, cnnModel } from '../agents/helpers.js';
import { engineAvailability, misaligned, runEngineOnBundled, expectBundledAligned } from './engine-suite.js';
import { FIXTURES, REPO, activate } from './helpers.js';

const availability = await engineAvailability('opencv');

describe.skipIf(!availability.available)('OpenCV-DNN runner (real cv2.dnn in a Python worker)', () => {
  const runner = new OpenCvRunner({ requestTimeoutMs: 60_000 });
  afterAll(() => runner.dispose());

  it('reports the version of pip opencv', () => {
    expect(availability).toMatchObject({ available: true, version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
  });

  it('fp32: both bundled models align with the PyTorch references, backend and target set explicitly, both transformer outputs by name', async () => {
    const results = await runEngineOnBundled('opencv', { options: { threads: 1 } });
    expectBundledAligned(results);
    for (const job of results.jobs) {
      expect(job.engine.effectivePrecision).toBe('fp32');
      expect(job.engine.appliedOptions).toMatchObject({ backend: 'DNN_BACKEND_OPENCV', target: 'DNN_TARGET_CPU', threads: 1 });
      expect(job.latency?.percentiles.p50.value).toBeGreaterThan(0);
    }
    expect(results.jobs[1]?.alignment?.map((a) => a.name).sort()).toEqual(['hidden', 'pooled']);
    expect(results.jobs[0]?.alignment?.find((a) => a.name === 'logits')?.topk?.top1Agreement).toBe(1);
  });

  it('fp16: asks for DNN_TARGET_CPU_FP16 and records that the graph engine computed fp32', async () => {
    const results = await runEngineOnBundled('opencv', { precision: 'fp16', models: [cnnModel()] });
    const job = results.jobs[0]!;
    expect(job.status).toBe('ok');
    expect(job.engine.appliedOptions).toMatchObject({ target: 'DNN_TARGET_CPU_FP16' });
    expect(['fp16', 'fp32']).toContain(job.engine.effectivePrecision);
    if (job.engine.effectivePrecision === 'fp32') expect(job.engine.notes?.join(' ')).toMatch(/asked for fp16 .* computes in fp32/);
    expect(misaligned(results)).toEqual([]);
  });

  it('an operation OpenCV lacks (Col2Im) skips that job (E_UNSUPPORTED) with a reason naming it; the next job still runs', async () => {
    const results = await runEngineOnBundled('opencv', {
      models: [{ name: 'col2im', path: join(REPO, 'test/fixtures/generated/onnx_node_tests/test_col2im/model.onnx'), inputs: { source: 'random', seed: 1 } }, cnnModel()],
    });
    const [bad, cnn] = results.jobs;
    expect(bad?.status).toBe('skipped');
    expect(bad?.reason).toMatch(/does not support the operation\(s\) Col2Im/);
    expect(cnn?.status).toBe('ok');
  });

  it('refuses int8, a backend this build lacks, and reports every bad option at once', async () => {
    await expect(activate(runner, join(MODELS, 'cnn/model.onnx'), {}, 'int8')).rejects.toMatchObject({ code: 'E_UNSUPPORTED' });
    await expect(activate(runner, join(MODELS, 'cnn/model.onnx'), { backend: 'openvino' })).rejects.toMatchObject({
      code: 'E_UNSUPPORTED',
      message: expect.stringMatching(/DNN_BACKEND_INFERENCE_ENGINE/),
    });
    await expect(activate(runner, join(MODELS, 'cnn/model.onnx'), { threads: 0, backend: 'cuda', fast: true })).rejects.toMatchObject({
      code: 'E_CONFIG',
      message: expect.stringMatching(/options\.threads: expected an integer >= 1.*options\.backend: expected one of opencv\|openvino.*options\.fast: unknown option/),
    });
    await expect(activate(runner, `${FIXTURES}not_a_model.onnx`)).rejects.toMatchObject({ message: expect.stringMatching(/not_a_model\.onnx/) });
  });
});
