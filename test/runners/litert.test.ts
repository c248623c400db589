/**
 * LiteRT for real (pip ai-edge-litert, models converted with pip litert-torch in the project
 * venv): the bundled models' PyTorch forms converted to .tflite, run by the LiteRT Interpreter
 * through the whole pipeline, aligned against their PyTorch references.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MODELS, cnnModel, tempDir, transformerModel } from '../agents/helpers.js';
import { engineAvailability, misaligned, runEngineOnBundled, expectBundledAligned } from './engine-suite.js';
import { REPO } from './helpers.js';

const availability = await engineAvailability('litert');

const cnn = (extra: Record<string, unknown> = {}) => cnnModel({ pytorch: { torchscript: join(MODELS, 'cnn/model.torchscript.pt') }, ...extra });
const transformer = () => transformerModel({ pytorch: { factory: `${join(REPO, 'suites/models/pytorch_models.py')}:transformer` } });

describe.skipIf(!availability.available)('LiteRT runner (real ai-edge-litert in a Python worker, litert-torch conversion)', () => {
  const cache = tempDir('litert-cache');
  afterAll(() => rmSync(cache, { recursive: true, force: true }));

  it('fp32 with XNNPACK: both bundled models align; the delegate, the int64 narrowing and the conversion cache are recorded', async () => {
    const results = await runEngineOnBundled('litert', { options: { threads: 1 }, env: { BENCHALIGN_CACHE_DIR: cache }, models: [cnn({ outputs: { logits: { topK: 5 } } }), transformer()] });
    expectBundledAligned(results);
    for (const job of results.jobs) {
      expect(job.engine.effectivePrecision).toBe('fp32');
      expect(job.engine.appliedOptions).toMatchObject({ threads: 1, xnnpack: true, delegate: 'XNNPACK' });
      expect(job.coldStart).toMatchObject({ cacheHit: false });
      expect(job.coldStart?.convertMs).toBeGreaterThan(0);
    }
    expect(results.jobs[1]?.engine.notes?.join(' ')).toMatch(/input input_ids: the model takes int64, LiteRT takes int32/);
    expect(results.jobs[1]?.alignment?.map((a) => a.name).sort()).toEqual(['hidden', 'pooled']);
    expect(results.jobs[0]?.alignment?.find((a) => a.name === 'logits')?.topk?.top1Agreement).toBe(1);
    const again = await runEngineOnBundled('litert', { env: { BENCHALIGN_CACHE_DIR: cache }, models: [cnn()] });
    expect(again.jobs[0]?.coldStart).toMatchObject({ cacheHit: true, convertMs: 0 });
  }, 600_000);

  it('xnnpack false: the builtin kernels run it (no delegate recorded), still aligned', async () => {
    const results = await runEngineOnBundled('litert', { options: { xnnpack: false }, env: { BENCHALIGN_CACHE_DIR: cache }, models: [cnn()] });
    expect(results.jobs[0]?.status).toBe('ok');
    expect(results.jobs[0]?.engine.appliedOptions).toMatchObject({ xnnpack: false, delegate: 'none', delegatedPartitions: 0 });
    expect(misaligned(results)).toEqual([]);
  }, 600_000);

  it('what litert-torch cannot lower is a per-job error naming the op (the TorchScript transformer: aten._local_scalar_dense); fp16 is refused', async () => {
    const results = await runEngineOnBundled('litert', {
      env: { BENCHALIGN_CACHE_DIR: cache },
      models: [transformerModel({ name: 'ts-transformer', pytorch: { torchscript: join(MODELS, 'transformer/model.torchscript.pt') } }), cnn()],
    });
    expect(results.jobs[0]?.status).toBe('errored');
    expect(results.jobs[0]?.reason).toMatch(/litert-torch could not convert .*_local_scalar_dense/s);
    expect(results.jobs[1]?.status).toBe('ok');
    const fp16 = await runEngineOnBundled('litert', { precision: 'fp16', env: { BENCHALIGN_CACHE_DIR: cache }, models: [cnn()] });
    expect(fp16.jobs[0]).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/precision fp16 is not supported/) });
  }, 600_000);
});
