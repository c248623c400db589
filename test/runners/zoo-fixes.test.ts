/**
 * The harness fixes the zoo's real architectures needed, each on a small model exported the way
 * transformers models are (test/fixtures/make_zoo_fixes.py: ids.view, a mask cast to float, tanh
 * GELU), through the real engines:
 * - ncnn: an integer input used only through casts to float is fed as float32 (pnnx leaves the
 *   cast as Tensor.to, which ncnn has no layer for), and the tanh GELU that pnnx fuses into
 *   ncnn's exact GELU gets ncnn's tanh form back (else 4.7e-4 off here);
 * - OpenVINO: ports named by the ONNX graph's names, not whichever name OpenVINO has for a port
 *   whose folded Reshape gave it a second one;
 * - MNN: Winograd convolutions off for fp32 (precisionMode high), recorded; a bad level refused.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO } from '../agents/helpers.js';
import { engineAvailability, misaligned, runEngineOnBundled } from './engine-suite.js';

const DIR = join(REPO, 'test/fixtures/generated/zoo_fixes');
const tokens = {
  name: 'tokens',
  path: join(DIR, 'tokens.onnx'),
  inputs: { source: 'reference', file: join(DIR, 'inputs.npz') },
  reference: join(DIR, 'outputs.npz'),
};
const cache = mkdtempSync(join(tmpdir(), 'benchalign-zoo-fixes-cache-'));
afterAll(() => rmSync(cache, { recursive: true, force: true }));
const env = { BENCHALIGN_CACHE_DIR: cache };

const ncnn = await engineAvailability('ncnn');
const openvino = await engineAvailability('openvino');
const mnn = await engineAvailability('mnn');

describe.skipIf(!ncnn.available)('ncnn on a transformers-style token model', () => {
  it('feeds the mask (cast to float only) as float32, gives GELU its tanh form back, and aligns with the fp32 defaults', async () => {
    const results = await runEngineOnBundled('ncnn', { models: [tokens], env });
    const job = results.jobs[0];
    expect(job?.status, `${job?.reason ?? ''}\n${job?.stderrTail ?? ''}`).toBe('ok');
    expect(misaligned(results)).toEqual([]);
    const notes = job?.engine.notes?.join('\n') ?? '';
    expect(notes).toMatch(/input mask \(int64\) is used only through casts to float32 \(Tensor\.to_\d+; ncnn has no integer-to-float Cast\): fed to ncnn as float32/);
    expect(notes).toMatch(/1 GELU layer\(s\) set to ncnn's tanh form \(0=1\)/);
    expect(notes).toMatch(/mask -> in1 .* int64 fed as float32/);
    expect(job?.alignment?.[0]?.maxAbsError).toBeLessThan(1e-5);
  }, 300_000);
});

describe.skipIf(!openvino.available)('OpenVINO on a model whose input feeds a folded Reshape', () => {
  it('names the inputs and outputs as the ONNX graph does, and aligns', async () => {
    const results = await runEngineOnBundled('openvino', { models: [tokens], env });
    const job = results.jobs[0];
    expect(job?.status, `${job?.reason ?? ''}\n${job?.stderrTail ?? ''}`).toBe('ok');
    expect(misaligned(results)).toEqual([]);
    expect(job?.alignment?.map((a) => a.name)).toEqual(['y']);
  }, 300_000);
});

describe.skipIf(!mnn.available)('MNN Winograd', () => {
  it('fp32 runs with Winograd off (recorded, noted); winogradMemoryLevel 3 is MNN\'s default; 7 is refused', async () => {
    const model = { name: 'cnn', path: join(REPO, 'suites/models/cnn/model.onnx'), inputs: { source: 'reference', file: join(REPO, 'suites/models/cnn/inputs.pt') }, reference: join(REPO, 'suites/models/cnn/outputs.pt'), shapes: { input: [1, 3, 32, 32] } };
    const off = (await runEngineOnBundled('mnn', { models: [model], env })).jobs[0];
    expect(off?.status, off?.reason).toBe('ok');
    expect(off?.engine.appliedOptions).toMatchObject({ winogradMemoryLevel: 0, precisionMode: 'high' });
    expect(off?.engine.notes?.join('\n')).toMatch(/Winograd convolutions off/);
    const on = (await runEngineOnBundled('mnn', { models: [model], env, options: { winogradMemoryLevel: 3 } })).jobs[0];
    expect(on?.engine.appliedOptions).toMatchObject({ winogradMemoryLevel: 3 });
    expect(on?.engine.notes?.join('\n') ?? '').not.toMatch(/Winograd convolutions off/);
    const bad = (await runEngineOnBundled('mnn', { models: [model], env, options: { winogradMemoryLevel: 7 } })).jobs[0];
    expect(bad?.status).not.toBe('ok');
    expect(bad?.reason).toMatch(/winogradMemoryLevel 7/);
  }, 300_000);
});
