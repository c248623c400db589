import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSuite } from '../../src/suite/load.js';
import { suiteNameProblems } from '../../src/suite/names.js';
import { engineNames } from '../../src/runners/registry.js';
import { readOnnxIoNames } from '../../src/tensors/onnx-io-names.js';
import { MODELS, REPO, cnnModel, tempDir, transformerModel, writeSuite } from '../agents/helpers.js';

const BIN = join(REPO, 'bin/benchalign.js');
const ORT = { name: 'onnxruntime', options: { intraOpThreads: 1 } };

function cli(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, CI: '1' }, timeout: 120_000 });
}

describe('ONNX input/output names, read without decoding the weights', () => {
  it('reads the names the bundled models declare (cross-checked with meta.json written by the generator)', async () => {
    expect(await readOnnxIoNames(join(MODELS, 'cnn/model.onnx'))).toEqual({ inputs: ['input'], outputs: ['logits'] });
    expect(await readOnnxIoNames(join(MODELS, 'transformer/model.onnx'))).toEqual({ inputs: ['input_ids'], outputs: ['hidden', 'pooled'] });
  });

  it('gives undefined for a file that is not an ONNX model', async () => {
    expect(await readOnnxIoNames(join(REPO, 'package.json'))).toBeUndefined();
    expect(await readOnnxIoNames(join(REPO, 'no-such-file.onnx'))).toBeUndefined();
  });
});

describe('names in a suite that match nothing are configuration errors', () => {
  it('a typo in outputs, shapes, inputs.ranges or tolerances is a problem with a did-you-mean', async () => {
    const dir = tempDir('names');
    const file = writeSuite(dir, {
      models: [
        cnnModel({ outputs: { logit: { atol: 1e-9 }, '*': { rtol: 0 } }, shapes: { inpt: [1, 3, 32, 32] } }),
        { name: 'tf', path: join(MODELS, 'transformer/model.onnx'), inputs: { source: 'random', ranges: { input_id: [0, 10] } } },
      ],
      engines: [ORT, { name: 'openvno' }],
      tolerances: { pooledd: { atol: 1 }, '*': { atol: 1e-3 } },
    });
    const problems = await suiteNameProblems(await loadSuite(file), engineNames());
    const text = problems.map((p) => `${p.path}: ${p.message}`);
    expect(text).toEqual([
      expect.stringMatching(/^engines\[1\]\.name: unknown engine "openvno"; did you mean "openvino"\?/),
      expect.stringMatching(/^models\[0\]\.outputs\.logit: no output "logit" in the model; did you mean "logits"\?/),
      expect.stringMatching(/^models\[0\]\.shapes\.inpt: no input "inpt" in the model; did you mean "input"\?/),
      expect.stringMatching(/^models\[1\]\.inputs\.ranges\.input_id: no input "input_id" in the model; did you mean "input_ids"\?/),
      expect.stringMatching(/^tolerances\.pooledd: no model of the suite has an output "pooledd"; did you mean "pooled"\?/),
    ]);
  });

  it('the right names give no problem', async () => {
    const dir = tempDir('names-ok');
    const file = writeSuite(dir, { models: [cnnModel({ outputs: { logits: { atol: 1e-4 } } }), transformerModel()], engines: [ORT], tolerances: { hidden: { atol: 1e-3 } } });
    expect(await suiteNameProblems(await loadSuite(file), engineNames())).toEqual([]);
  });

  it('run: a misspelt output exits 2 before any job runs (no run folder)', () => {
    const dir = tempDir('names-cli');
    const suite = writeSuite(dir, { models: [cnnModel({ outputs: { logit: { atol: 1e-9 } } })], engines: [ORT] });
    const r = cli(['run', suite, '--out', join(dir, 'out'), '--no-store']);
    expect(r.stderr).toMatch(/models\[0\]\.outputs\.logit: no output "logit" in the model; did you mean "logits"\?/);
    expect(r.status).toBe(2);
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });

  it('run: an unknown engine exits 2 at load, with did-you-mean, before the other jobs run', () => {
    const dir = tempDir('names-engine');
    const suite = writeSuite(dir, { models: [cnnModel()], engines: [ORT, { name: 'openvno' }] });
    const r = cli(['run', suite, '--out', join(dir, 'out'), '--no-store']);
    expect(r.stderr).toMatch(/engines\[1\]\.name: unknown engine "openvno"; did you mean "openvino"\?/);
    expect(r.status).toBe(2);
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });
});
