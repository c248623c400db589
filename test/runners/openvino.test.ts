/**
 * OpenVINO for real (pip openvino in the project venv), on the bundled models through the
 * whole pipeline, aligned against their PyTorch references.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OpenVinoRunner } from '../../src/runners/openvino/runner.js';
import { MODELS, cnnModel } from '../agents/helpers.js';
import { engineAvailability, misaligned, runEngineOnBundled } from './engine-suite.js';
import { FIXTURES, activate } from './helpers.js';

const availability = await engineAvailability('openvino');

describe.skipIf(!availability.available)('OpenVINO runner (real openvino in a Python worker)', () => {
  const runner = new OpenVinoRunner({ requestTimeoutMs: 60_000 });
  afterAll(() => runner.dispose());

  it('reports its pip version and the CPU device', () => {
    expect(availability).toMatchObject({ available: true, version: expect.stringMatching(/^20\d\d\.\d+\.\d+$/) });
    expect(availability.available && availability.devices).toContain('cpu');
  });

  it('fp32: both bundled models align with the PyTorch references within the fp32 defaults, with f32 set explicitly', async () => {
    const results = await runEngineOnBundled('openvino', { options: { threads: 1 } });
    expect(results.jobs.map((j) => [j.model.name, j.status])).toEqual([
      ['cnn', 'ok'],
      ['transformer', 'ok'],
    ]);
    expect(misaligned(results)).toEqual([]);
    for (const job of results.jobs) {
      expect(job.alignment?.length).toBeGreaterThan(0);
      expect(job.engine.effectivePrecision).toBe('fp32');
      expect(job.engine.appliedOptions).toMatchObject({ INFERENCE_PRECISION_HINT: 'f32', threads: 1, device: 'CPU' });
      expect(job.latency?.count).toBeGreaterThanOrEqual(20);
      expect(job.latency?.percentiles.p50.value).toBeGreaterThan(0);
    }
    // the CNN's top-1 agrees with PyTorch's
    const logits = results.jobs[0]?.alignment?.find((a) => a.name === 'logits');
    expect(logits?.topk?.top1Agreement).toBe(1);
  });

  it('fp16: asks for f16, records what the CPU really ran, and aligns within the fp16 defaults', async () => {
    const results = await runEngineOnBundled('openvino', { precision: 'fp16', models: [cnnModel()] });
    const job = results.jobs[0]!;
    expect(job.status).toBe('ok');
    expect(job.engine.precision).toBe('fp16');
    expect(['fp16', 'bf16', 'fp32']).toContain(job.engine.effectivePrecision);
    if (job.engine.effectivePrecision !== 'fp16') {
      // this CPU has no f16 inference (OpenVINO runs bf16 on a CPU with avx512_bf16/AMX, else
      // f32): the record says so instead of pretending
      const ran = job.engine.effectivePrecision === 'bf16' ? 'bf16' : 'f32';
      expect(job.engine.notes?.join(' ')).toMatch(new RegExp(`asked for fp16 .* but CPU runs ${ran}`));
    }
    console.log(`openvino fp16 on this CPU ran ${job.engine.effectivePrecision}: ${job.engine.notes?.join(' ')}`);
    expect(misaligned(results)).toEqual([]);
  });

  it('refuses int8 (needs an NNCF-quantized model) and reports every bad option at once', async () => {
    await expect(activate(runner, join(MODELS, 'cnn/model.onnx'), {}, 'int8')).rejects.toMatchObject({ code: 'E_UNSUPPORTED' });
    await expect(activate(runner, join(MODELS, 'cnn/model.onnx'), { threads: -2, device: 'TPU', fast: true })).rejects.toMatchObject({
      code: 'E_CONFIG',
      message: expect.stringMatching(/options\.device: expected one of CPU\|GPU\|NPU\|AUTO.*options\.threads: expected an integer >= 0.*options\.fast: unknown option/),
    });
  });

  it('a broken model file errors that job with the engine message and the file, and the run goes on', async () => {
    const results = await runEngineOnBundled('openvino', {
      models: [{ name: 'broken', path: `${FIXTURES}not_a_model.onnx`, inputs: { source: 'random', seed: 1 } }, cnnModel()],
    });
    const [broken, cnn] = results.jobs;
    expect(broken?.status).toBe('errored');
    expect(broken?.reason).toMatch(/not_a_model\.onnx/);
    expect(cnn?.status).toBe('ok');
  });
});

