/**
 * `benchalign refs` through the real CLI process and real PyTorch (the project venv): references
 * from a module:factory fixture (test/fixtures/pytorch/tiny_net.py) and from a TorchScript file,
 * then `benchalign run` on the suite it wrote; bad input specs and unsafe files are refused.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunResults } from '../../src/model/record.js';
import { pythonPath } from '../../src/runners/python/env.js';
import type { RefsManifest } from '../../src/runners/pytorch/refs.js';
import { readTensors } from '../../src/tensors/read.js';
import type { Tensor } from '../../src/tensors/tensor.js';
import { REPO, tempDir } from '../agents/helpers.js';
import { engineAvailability } from '../runners/engine-suite.js';

const BIN = join(REPO, 'bin/benchalign.js');
const TINY = join(REPO, 'test/fixtures/pytorch/tiny_net.py');

function cli(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 300_000, cwd: REPO });
}

function python(code: string): void {
  const r = spawnSync(pythonPath(), ['-c', code], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
}

function values(t: Tensor | undefined): number[] {
  if (!t) throw new Error('missing tensor');
  return Array.from(t.data as Float32Array);
}

const availability = await engineAvailability('pytorch');

describe.skipIf(!availability.available)('benchalign refs (real PyTorch)', () => {
  const dir = tempDir('refs');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const factoryOut = join(dir, 'factory');

  it('from file.py:function with seeded specs: writes .pt, .safetensors, model.onnx, refs.json and a suite that runs and aligns on onnxruntime and pytorch', () => {
    const r = cli(['refs', `${TINY}:build`, '--inputs', 'scale:1x4:float32:0.5,2', '--inputs', 'image:1x3x8x8', '--seed', '11', '--onnx', '--safetensors', '--output-names', 'logits,features', '--out', factoryOut]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/inputs: {2}image float32\[1, 3, 8, 8\], scale float32\[1, 4\]/);
    for (const f of ['inputs.pt', 'outputs.pt', 'inputs.safetensors', 'outputs.safetensors', 'model.onnx', 'refs.json', 'suite.yaml']) {
      expect(existsSync(join(factoryOut, f)), f).toBe(true);
    }
    const manifest = JSON.parse(readFileSync(join(factoryOut, 'refs.json'), 'utf8')) as RefsManifest;
    // forward(image, scale): inputs reordered to the signature, outputs named as asked
    expect(manifest.inputs.map((t) => t.name)).toEqual(['image', 'scale']);
    expect(manifest.outputs).toEqual([
      { name: 'logits', dtype: 'float32', dims: [1, 4] },
      { name: 'features', dtype: 'float32', dims: [1, 8] },
    ]);
    expect(manifest.model).toMatchObject({ kind: 'factory', factory: 'build' });

    const run = cli(['run', join(factoryOut, 'suite.yaml'), '--accuracy-only', '--json', '--no-store', '--out', join(dir, 'run1')]);
    expect(run.status, run.stderr).toBe(0);
    const results = JSON.parse(run.stdout) as RunResults;
    expect(results.jobs.map((j) => [j.engine.name, j.status])).toEqual([
      ['onnxruntime', 'ok'],
      ['pytorch', 'ok'],
    ]);
    for (const job of results.jobs) {
      expect(job.alignment?.map((a) => [a.name, a.passed])).toEqual([
        ['logits', true],
        ['features', true],
      ]);
    }
  });

  it('the files agree: .safetensors = .pt, seeded values lie in their ranges, image default range [0, 1)', async () => {
    const ptIn = (await readTensors(join(factoryOut, 'inputs.pt'))).tensors;
    const stIn = (await readTensors(join(factoryOut, 'inputs.safetensors'))).tensors;
    const ptOut = (await readTensors(join(factoryOut, 'outputs.pt'))).tensors;
    const stOut = (await readTensors(join(factoryOut, 'outputs.safetensors'))).tensors;
    expect(values(stIn.get('image'))).toEqual(values(ptIn.get('image')));
    expect(values(stOut.get('logits'))).toEqual(values(ptOut.get('logits')));
    const scale = values(ptIn.get('scale'));
    expect(Math.min(...scale)).toBeGreaterThanOrEqual(0.5);
    expect(Math.max(...scale)).toBeLessThan(2);
    const image = values(ptIn.get('image'));
    expect(Math.min(...image)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...image)).toBeLessThan(1);
    // ReLU then mean: the features are non-negative, and the image is not constant
    expect(Math.min(...values(ptOut.get('features')))).toBeGreaterThanOrEqual(0);
    expect(new Set(image).size).toBe(image.length);
  });

  it('from a TorchScript file, with the inputs from a .pt file: the same outputs; the suite runs pytorch only', async () => {
    const ts = join(dir, 'tiny.torchscript.pt');
    python(
      [
        'import sys, torch',
        `sys.path.insert(0, ${JSON.stringify(join(REPO, 'test/fixtures/pytorch'))})`,
        'import tiny_net',
        `ins = torch.load(${JSON.stringify(join(factoryOut, 'inputs.pt'))}, weights_only=True)`,
        `torch.jit.save(torch.jit.trace(tiny_net.build(), (ins["image"], ins["scale"])), ${JSON.stringify(ts)})`,
      ].join('\n'),
    );
    const out = join(dir, 'ts');
    const r = cli(['refs', ts, '--inputs', join(factoryOut, 'inputs.pt'), '--output-names', 'logits,features', '--name', 'tiny-ts', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const suite = readFileSync(join(out, 'suite.yaml'), 'utf8');
    expect(suite).toMatch(/torchscript: \.\.\/tiny\.torchscript\.pt/);
    expect(suite).not.toMatch(/onnxruntime/);
    const a = (await readTensors(join(factoryOut, 'outputs.pt'))).tensors;
    const b = (await readTensors(join(out, 'outputs.pt'))).tensors;
    for (const name of ['logits', 'features']) {
      const x = values(a.get(name));
      const y = values(b.get(name));
      expect(Math.max(...x.map((v, i) => Math.abs(v - (y[i] as number))))).toBeLessThan(1e-6);
    }
    const run = cli(['run', join(out, 'suite.yaml'), '--accuracy-only', '--json', '--no-store', '--out', join(dir, 'run2')]);
    expect(run.status, run.stderr).toBe(0);
    const results = JSON.parse(run.stdout) as RunResults;
    expect(results.jobs.map((j) => [j.model.name, j.engine.name, j.status, j.alignment?.every((x) => x.passed)])).toEqual([['tiny-ts', 'pytorch', 'ok', true]]);
  });

  it('from an ExportedProgram (.pt2) with --onnx: the dynamo exporter path; the suite runs and aligns on both engines', () => {
    const pt2 = join(dir, 'tiny.pt2');
    python(
      [
        'import sys, torch',
        `sys.path.insert(0, ${JSON.stringify(join(REPO, 'test/fixtures/pytorch'))})`,
        'import tiny_net',
        `torch.export.save(torch.export.export(tiny_net.build(), (torch.zeros(1, 3, 8, 8), torch.ones(1, 4))), ${JSON.stringify(pt2)})`,
      ].join('\n'),
    );
    const out = join(dir, 'pt2');
    const r = cli(['refs', pt2, '--inputs', 'image:1x3x8x8:float32:-1,1', '--inputs', 'scale:1x4', '--onnx', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const manifest = JSON.parse(readFileSync(join(out, 'refs.json'), 'utf8')) as RefsManifest;
    expect(manifest.model.kind).toBe('exported');
    expect(manifest.onnx?.exporter).toMatch(/dynamo=True/);
    const run = cli(['run', join(out, 'suite.yaml'), '--accuracy-only', '--json', '--no-store', '--out', join(dir, 'run3')]);
    expect(run.status, run.stderr).toBe(0);
    const results = JSON.parse(run.stdout) as RunResults;
    expect(results.jobs.map((j) => [j.engine.name, j.status, j.alignment?.map((a) => [a.name, a.passed])])).toEqual([
      ['onnxruntime', 'ok', [['output_0', true], ['output_1', true]]],
      ['pytorch', 'ok', [['output_0', true], ['output_1', true]]],
    ]);
  });

  it('bad specs and models are usage errors that say what was expected', () => {
    const cases: Array<[string[], RegExp]> = [
      [[`${TINY}:build`, '--inputs', 'image:1x3xfoo'], /\[E_USAGE\] refs: --inputs 'image:1x3xfoo': not an input spec or an existing file \(expected name:shape\[:dtype\[:low,high\]\]/],
      [[`${TINY}:build`, '--inputs', 'image:1x3x8x8:float33'], /unknown dtype 'float33'/],
      [[`${TINY}:build`, '--inputs', 'image:1x3x8x8:float32:2,1'], /range low 2\.0 > high 1\.0/],
      [[TINY, '--inputs', 'image:1x3x8x8'], /is a Python file; which function builds the model\? \(expected --factory <function> or <file\.py>:<function>\)/],
      [[join(dir, 'model.onnx'), '--inputs', 'image:1x3x8x8'], /unknown model type/],
      [[`${TINY}:build`, '--inputs', 'image:1x3x8x8', '--name', 'my model'], /\[E_USAGE\] refs: --name "my model" \(expected letters, digits/],
      [[`${TINY}:build`, '--inputs', 'image:1x3x8x8', '--seed', '-1'], /option '--seed <n>' argument '-1' is invalid\. expected a non-negative integer/],
      [[`${TINY}:build`, '--inputs', 'image:1x3x8x8'], /the model failed on inputs image\[1, 3, 8, 8\]:float32: TypeError/],
      [[`${TINY}:broken`, '--inputs', 'image:1x3x8x8'], /\[E_CONFIG\] refs: cannot load factory model .*tiny_net\.py: RuntimeError: weights for TinyNet are missing/],
    ];
    for (const [args, want] of cases) {
      const r = cli(['refs', ...args, '--out', join(dir, 'bad')]);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(want);
    }
  });

  it('an input .pt that would run code when unpickled is refused, and the code does not run', () => {
    const evil = join(dir, 'evil.pt');
    const marker = join(dir, 'pwned');
    python(
      [
        'import os, torch',
        'class Evil:',
        `    def __reduce__(self): return (os.system, (${JSON.stringify(`touch ${marker}`)},))`,
        `torch.save({"image": Evil()}, ${JSON.stringify(evil)})`,
      ].join('\n'),
    );
    const r = cli(['refs', `${TINY}:build`, '--inputs', evil, '--out', join(dir, 'evil-out')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/\[E_UNSAFE_PICKLE\] refs: --inputs .*evil\.pt: refused to unpickle it/);
    expect(existsSync(marker)).toBe(false);
  });
});
