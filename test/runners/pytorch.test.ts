/**
 * PyTorch as an engine for real (torch in the project venv, eager on CPU), on the bundled
 * models through the whole pipeline: the CNN as TorchScript (suites/models/cnn/
 * model.torchscript.pt), the transformer from its factory (suites/models/pytorch_models.py),
 * an ExportedProgram written here, aligned against the committed PyTorch references.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pythonPath } from '../../src/runners/python/env.js';
import { PyTorchRunner } from '../../src/runners/pytorch/runner.js';
import { makeTensor } from '../../src/tensors/tensor.js';
import { MODELS, cnnModel, tempDir, transformerModel } from '../agents/helpers.js';
import { engineAvailability, misaligned, runEngineOnBundled, expectBundledAligned } from './engine-suite.js';
import { activate } from './helpers.js';

const availability = await engineAvailability('pytorch');

const cnnTorchScript = (extra: Record<string, unknown> = {}) =>
  cnnModel({ pytorch: { torchscript: join(MODELS, 'cnn/model.torchscript.pt') }, outputs: { logits: { topK: 5 } }, ...extra });
const transformerFactory = () => transformerModel({ pytorch: { factory: `${join(MODELS, 'pytorch_models.py')}:transformer` } });

describe.skipIf(!availability.available)('PyTorch runner (real torch in a Python worker)', () => {
  const runner = new PyTorchRunner({ requestTimeoutMs: 60_000 });
  const dir = tempDir('pytorch-engine');
  afterAll(async () => {
    await runner.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports its torch version and the CPU device', () => {
    expect(availability).toMatchObject({ available: true, version: expect.stringMatching(/^2\.\d+\.\d+/) });
    expect(availability.available && availability.devices).toContain('cpu');
  });

  it('fp32: TorchScript CNN and factory transformer align with the references within the fp32 defaults', async () => {
    const results = await runEngineOnBundled('pytorch', { models: [cnnTorchScript(), transformerFactory()], options: { threads: 1 } });
    expectBundledAligned(results);
    const [cnn, transformer] = results.jobs;
    const tsSha = createHash('sha256').update(readFileSync(join(MODELS, 'cnn/model.torchscript.pt'))).digest('hex');
    expect(cnn?.engine.appliedOptions).toMatchObject({ device: 'cpu', threads: 1, dtype: 'float32', model: 'torchscript', modelSha256: tsSha });
    expect(transformer?.engine.appliedOptions).toMatchObject({ model: 'factory' });
    for (const job of results.jobs) {
      expect(job.engine.effectivePrecision).toBe('fp32');
      expect(job.latency?.count).toBeGreaterThanOrEqual(20);
      expect(job.latency?.percentiles.p50.value).toBeGreaterThan(0);
      for (const a of job.alignment ?? []) {
        // PyTorch recomputing its own references: far inside the fp32 tolerance
        expect(a.maxAbsError).toBeLessThan(1e-5);
      }
    }
    expect(cnn?.alignment?.find((a) => a.name === 'logits')?.topk?.top1Agreement).toBe(1);
    // tuple outputs are named positionally from the ONNX model; the report says so
    const pooled = transformer?.alignment?.find((a) => a.name === 'pooled');
    expect(pooled?.mapping?.name).toMatchObject({ reference: 'pooled', actual: 'output[1]', by: 'engine' });
  });

  it('an ExportedProgram (.pt2) aligns too; as the model path its inputs come from the program', async () => {
    const pt2 = join(dir, 'cnn.pt2');
    const py = [
      'import sys, torch',
      `sys.path.insert(0, ${JSON.stringify(MODELS)})`,
      'import pytorch_models as pm',
      'ep = torch.export.export(pm.cnn(), (torch.zeros(1, 3, 32, 32),))',
      `torch.export.save(ep, ${JSON.stringify(pt2)})`,
    ].join('\n');
    const r = spawnSync(pythonPath(), ['-c', py], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const results = await runEngineOnBundled('pytorch', {
      models: [
        cnnModel({ pytorch: { exported: pt2 }, measurement: { concurrency: [1, 2] } }),
        { name: 'cnn-pt2', path: pt2, inputs: { source: 'random', seed: 3 } },
      ],
    });
    expect(results.jobs.map((j) => [j.model.name, j.status, j.reason])).toEqual([
      ['cnn', 'ok', undefined],
      ['cnn-pt2', 'ok', undefined],
    ]);
    expect(misaligned(results)).toEqual([]);
    expect(results.jobs[0]?.alignment?.length).toBe(1);
    expect(results.jobs[0]?.engine.appliedOptions).toMatchObject({ model: 'exported', modelFile: pt2 });
    // two requests in flight at once from two threads of the worker
    expect(results.jobs[0]?.throughput?.map((l) => [l.concurrency, l.requests > 0])).toEqual([
      [1, true],
      [2, true],
    ]);
    expect(results.jobs[1]?.inputs?.shapes).toEqual({ x: [1, 3, 32, 32] });
  });

  it('fp16 (autocast, the default) and bf16 run in reduced precision, say so, and align within their defaults', async () => {
    const fp16 = await runEngineOnBundled('pytorch', { precision: 'fp16', models: [cnnTorchScript(), transformerFactory()] });
    expect(fp16.jobs.map((j) => j.status)).toEqual(['ok', 'ok']);
    expect(misaligned(fp16)).toEqual([]);
    for (const job of fp16.jobs) {
      expect(job.engine.effectivePrecision).toBe('fp16');
      expect(job.engine.appliedOptions).toMatchObject({ reducedPrecision: 'autocast', dtype: 'float16' });
      expect(job.engine.notes?.join(' ')).toMatch(/torch\.autocast\(cpu, torch\.float16\)/);
    }
    // really reduced: the error is well above fp32 round-off
    const worst = Math.max(...fp16.jobs.flatMap((j) => (j.alignment ?? []).map((a) => a.maxAbsError)));
    expect(worst).toBeGreaterThan(1e-5);

    const bf16 = await runEngineOnBundled('pytorch', { precision: 'bf16', options: { reducedPrecision: 'cast' }, models: [cnnTorchScript()] });
    expect(bf16.jobs[0]?.status).toBe('ok');
    expect(bf16.jobs[0]?.engine.notes?.join(' ')).toMatch(/cast to torch\.bfloat16/);
    expect(bf16.jobs[0]?.alignment?.[0]?.mapping?.layout).toContain('cast bfloat16 to float32 (NumPy has no bfloat16)');
    expect(misaligned(bf16)).toEqual([]);
  });

  it('fp32 on a module saved in float16: converted to float32, and the activation says so', async () => {
    const half = join(dir, 'cnn_half.pt');
    const py = [
      'import sys, torch',
      `sys.path.insert(0, ${JSON.stringify(MODELS)})`,
      'import pytorch_models as pm',
      `torch.jit.save(torch.jit.trace(pm.cnn().half(), (torch.zeros(1, 3, 32, 32, dtype=torch.float16),)), ${JSON.stringify(half)})`,
    ].join('\n');
    const r = spawnSync(pythonPath(), ['-c', py], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const onnx = join(MODELS, 'cnn/model.onnx');
    const load = (ts: string) =>
      runner.activate({ path: onnx }, { name: 'cnn', path: onnx, sha256: '', pytorch: { kind: 'torchscript', path: ts } }, { precision: 'fp32', options: {} });
    const info = await load(half);
    expect(info.effectivePrecision).toBe('fp32');
    expect(info.inputs).toEqual([{ name: 'input', dtype: 'float32', dims: ['batch', 3, 32, 32] }]);
    expect(info.notes?.join(' ')).toMatch(/the module holds float16 parameters; converted to float32/);
    const fp32 = await load(join(MODELS, 'cnn/model.torchscript.pt'));
    expect(fp32.notes?.join(' ') ?? '').not.toMatch(/converted to float32/);
  });

  it('factories in two folders with a same-named sibling module each get their own sibling', async () => {
    const outputs: number[] = [];
    for (const [sub, value] of [['one', 1], ['two', 2]] as const) {
      mkdirSync(join(dir, sub), { recursive: true });
      writeFileSync(join(dir, sub, 'common.py'), `VALUE = ${value}.0\n`);
      writeFileSync(
        join(dir, sub, 'net.py'),
        'import torch\nimport common\n\nclass Add(torch.nn.Module):\n    def forward(self, x):\n        return x + common.VALUE\n\ndef build():\n    return Add()\n',
      );
      const path = join(dir, sub, 'net.py');
      const ref = { name: sub, path, sha256: '', pytorch: { kind: 'factory' as const, path, factory: 'build', inputs: [{ name: 'x', dtype: 'float32', dims: [2] }], outputs: ['y'] } };
      await runner.activate({ path }, ref, { precision: 'fp32', options: {} });
      const out = await runner.infer(new Map([['x', makeTensor('float32', [2], new Float32Array([10, 20]))]]));
      outputs.push(...(out.get('y')?.data as Float32Array));
    }
    expect(outputs).toEqual([11, 21, 12, 22]);
  });

  it('refuses int8 and CUDA where there is none, and reports every bad option at once', async () => {
    const ts = join(MODELS, 'cnn/model.torchscript.pt');
    await expect(activate(runner, ts, {}, 'int8')).rejects.toMatchObject({ code: 'E_UNSUPPORTED' });
    if (!(availability.available && availability.devices.includes('cuda'))) {
      await expect(activate(runner, ts, { device: 'cuda' })).rejects.toMatchObject({ code: 'E_UNSUPPORTED', message: expect.stringMatching(/sees no CUDA device/) });
    }
    await expect(activate(runner, ts, { threads: -1, device: 'tpu', jit: true })).rejects.toMatchObject({
      code: 'E_CONFIG',
      message: expect.stringMatching(/options\.device: expected one of cpu\|cuda.*options\.threads: expected an integer >= 0.*options\.jit: unknown option/),
    });
  });

  it('a broken model errors that job with the file named; an entry without a PyTorch form is skipped; the run goes on', async () => {
    const broken = join(dir, 'broken.pt');
    writeFileSync(broken, 'not a torchscript archive');
    const badFactory = join(dir, 'bad_factory.py');
    writeFileSync(badFactory, 'def build():\n    raise ValueError("no weights here")\n');
    const results = await runEngineOnBundled('pytorch', {
      models: [
        cnnModel({ name: 'broken', pytorch: { torchscript: broken } }),
        cnnModel({ name: 'bad-factory', pytorch: { factory: `${badFactory}:build` } }),
        transformerModel({ name: 'onnx-only' }),
        cnnTorchScript(),
      ],
    });
    const [b, f, o, cnn] = results.jobs;
    expect(b?.status).toBe('errored');
    expect(b?.reason).toMatch(/cannot load torchscript .*broken\.pt/);
    expect(f?.status).toBe('errored');
    expect(f?.reason).toMatch(/no weights here/);
    expect(o?.status).toBe('skipped');
    expect(o?.reason).toMatch(/has no `pytorch` field/);
    expect(cnn?.status).toBe('ok');
  });
});
