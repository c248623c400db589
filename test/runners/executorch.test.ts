/**
 * ExecuTorch for real (pip executorch in the project venv): the bundled models' PyTorch forms
 * exported to .pte (torch.export -> to_edge_transform_and_lower with XNNPACK -> to_executorch),
 * run through ExecuTorch's Python runtime in the whole pipeline, aligned against their PyTorch
 * references.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { executorchExportOptions } from '../../src/runners/executorch/runner.js';
import { MODELS, cnnModel, tempDir, transformerModel } from '../agents/helpers.js';
import { engineAvailability, misaligned, runEngineOnBundled, expectBundledAligned } from './engine-suite.js';
import { REPO } from './helpers.js';

const availability = await engineAvailability('executorch');

const cnn = (extra: Record<string, unknown> = {}) => cnnModel({ pytorch: { torchscript: join(MODELS, 'cnn/model.torchscript.pt') }, ...extra });
const transformer = () => transformerModel({ pytorch: { factory: `${join(REPO, 'suites/models/pytorch_models.py')}:transformer` } });

describe('executorch export options (no ExecuTorch needed)', () => {
  it('xnnpack defaults to true; a non-boolean is named', () => {
    expect(executorchExportOptions({})).toEqual({ xnnpack: true });
    expect(() => executorchExportOptions({ xnnpack: 'yes' })).toThrow(/options\.xnnpack: expected true or false/);
  });
});

describe.skipIf(!availability.available)('ExecuTorch runner (real executorch in a Python worker)', () => {
  const cache = tempDir('executorch-cache');
  afterAll(() => rmSync(cache, { recursive: true, force: true }));

  it('fp32 with XNNPACK: a TorchScript CNN and a factory transformer align; the delegation and threads are recorded; the export is cached', async () => {
    const results = await runEngineOnBundled('executorch', { options: { threads: 1 }, env: { BENCHALIGN_CACHE_DIR: cache }, models: [cnn({ outputs: { logits: { topK: 5 } } }), transformer()] });
    expectBundledAligned(results);
    for (const job of results.jobs) {
      expect(job.engine.effectivePrecision).toBe('fp32');
      expect(job.engine.appliedOptions).toMatchObject({ threads: 1, xnnpack: true });
      const delegation = job.engine.appliedOptions?.delegation as { delegatedNodes: number; byOperator: Record<string, { delegated: number }> };
      expect(delegation.delegatedNodes).toBeGreaterThan(0);
      expect(job.coldStart?.cacheHit).toBe(false);
      expect(job.coldStart?.convertMs).toBeGreaterThan(0);
    }
    const cnnDelegation = results.jobs[0]?.engine.appliedOptions?.delegation as { byOperator: Record<string, { delegated: number }> };
    expect(cnnDelegation.byOperator['aten_convolution_default']?.delegated).toBeGreaterThan(0);
    expect(results.jobs[0]?.engine.appliedOptions?.exported).toMatch(/TS2EPConverter/);
    expect(results.jobs[1]?.alignment?.map((a) => a.name).sort()).toEqual(['hidden', 'pooled']);
    expect(results.jobs[0]?.alignment?.find((a) => a.name === 'logits')?.topk?.top1Agreement).toBe(1);
    const again = await runEngineOnBundled('executorch', { options: { threads: 1 }, env: { BENCHALIGN_CACHE_DIR: cache }, models: [cnn()] });
    expect(again.jobs[0]?.coldStart).toMatchObject({ cacheHit: true, convertMs: 0 });
  }, 600_000);

  it('xnnpack false: another export, nothing delegated, still aligned', async () => {
    const results = await runEngineOnBundled('executorch', { options: { xnnpack: false }, env: { BENCHALIGN_CACHE_DIR: cache }, models: [cnn()] });
    const job = results.jobs[0]!;
    expect(job.status).toBe('ok');
    expect(job.coldStart?.cacheHit).toBe(false);
    expect(job.engine.appliedOptions).toMatchObject({ xnnpack: false, delegation: { delegatedNodes: 0 } });
    expect(misaligned(results)).toEqual([]);
  }, 600_000);

  it('a model without a PyTorch form, and fp16, are per-job reasons; the run goes on', async () => {
    const results = await runEngineOnBundled('executorch', { env: { BENCHALIGN_CACHE_DIR: cache }, models: [cnnModel({ name: 'onnx-only' }), cnn()] });
    expect(results.jobs[0]).toMatchObject({ status: 'errored', reason: expect.stringMatching(/has no PyTorch form to export/) });
    expect(results.jobs[1]?.status).toBe('ok');
    const fp16 = await runEngineOnBundled('executorch', { precision: 'fp16', env: { BENCHALIGN_CACHE_DIR: cache }, models: [cnn()] });
    expect(fp16.jobs[0]).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/precision fp16 is not supported/) });
  }, 600_000);
});
