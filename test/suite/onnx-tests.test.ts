import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BenchalignError } from '../../src/errors.js';
import { SuiteConfigError } from '../../src/config/errors.js';
import { loadSuite } from '../../src/suite/load.js';
import { expandJobs } from '../../src/suite/matrix.js';
import { discoverOnnxTests, suiteFromOnnxTests } from '../../src/suite/onnx-tests.js';
import { ONNX_BACKEND_DATA, onnxCase, tempTree } from './helpers.js';

describe('discoverOnnxTests', () => {
  it('finds cases at any depth, sorted, with data sets in numeric order', async () => {
    const dir = await tempTree({
      ...onnxCase('zeta', [0]),
      ...onnxCase('group/test_add', [10, 2, 0]),
      ...onnxCase('group/Test_B'),
      'group/no_data/model.onnx': 'x',
      'group/no_model/test_data_set_0/input_0.pb': 'x',
      ...onnxCase('.hidden/case'),
      'notes.txt': 'x',
    });
    const cases = await discoverOnnxTests(dir);
    expect(cases.map((c) => c.name)).toEqual(['group/Test_B', 'group/test_add', 'zeta']);
    const add = cases[1]!;
    expect(add.dir).toBe(path.join(dir, 'group/test_add'));
    expect(add.modelPath).toBe(path.join(dir, 'group/test_add/model.onnx'));
    expect(add.dataSets).toEqual([0, 2, 10].map((n) => path.join(dir, `group/test_add/test_data_set_${n}`)));
  });

  it('does not search inside a case folder, and names a root that is itself a case by its folder', async () => {
    const dir = await tempTree({ ...onnxCase('top'), ...onnxCase('top/inner') });
    const cases = await discoverOnnxTests(path.join(dir, 'top'));
    expect(cases.map((c) => c.name)).toEqual(['top']);
  });

  it('says what was expected when a folder holds no case', async () => {
    const dir = await tempTree({ 'empty/': '', 'a/model.onnx': 'x' });
    const e = await discoverOnnxTests(dir).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(BenchalignError);
    expect((e as BenchalignError).code).toBe('E_CONFIG');
    expect((e as BenchalignError).message).toBe(
      `${dir}: no ONNX test cases found (expected subfolders, at any depth, each holding model.onnx and test_data_set_N/ folders with input_K.pb and output_K.pb)`,
    );
  });

  it('rejects a missing folder', async () => {
    await expect(discoverOnnxTests('/nonexistent/onnx-tests')).rejects.toMatchObject({ code: 'E_CONFIG', message: expect.stringMatching(/^\/nonexistent\/onnx-tests: onnx-tests folder not found/) });
  });

  it.skipIf(!existsSync(ONNX_BACKEND_DATA))('discovers the ONNX backend test data shipped with pip onnx (> 100 cases)', async () => {
    const node = path.join(ONNX_BACKEND_DATA, 'node');
    const root = existsSync(node) ? node : ONNX_BACKEND_DATA;
    const cases = await discoverOnnxTests(root);
    expect(cases.length).toBeGreaterThan(100);
    for (const c of cases) {
      expect(existsSync(c.modelPath)).toBe(true);
      expect(c.dataSets.length).toBeGreaterThan(0);
      expect(existsSync(path.join(c.dataSets[0]!, 'input_0.pb')) || existsSync(path.join(c.dataSets[0]!, 'output_0.pb'))).toBe(true);
    }
    const names = cases.map((c) => c.name);
    expect([...names].sort()).toEqual(names);
    expect(new Set(names).size).toBe(names.length);
  });

  it.runIf(!existsSync(ONNX_BACKEND_DATA))('skips the pip onnx backend data check', () => {
    console.log(`skipped: ONNX backend test data not found at ${ONNX_BACKEND_DATA}; run npx benchalign engines setup to create .venv with onnx`);
    expect(existsSync(ONNX_BACKEND_DATA)).toBe(false);
  });
});

describe('ONNX test data in suites', () => {
  it('suiteFromOnnxTests runs every case on every engine, inputs and references from the data sets', async () => {
    const dir = await tempTree({ ...onnxCase('test_a'), ...onnxCase('test_b', [0, 1]) });
    const suite = await suiteFromOnnxTests(dir, ['onnxruntime', 'pytorch', 'onnxruntime']);
    expect(suite.name).toBe(`onnx-tests-${path.basename(dir).replace(/[^A-Za-z0-9._-]/g, '_')}`);
    expect(suite.path).toBe(dir);
    expect(suite.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(suite.engines.map((e) => `${e.name}/${e.precision}`)).toEqual(['onnxruntime/fp32', 'pytorch/fp32']);
    const b = suite.models[1]!;
    const sets = [0, 1].map((n) => path.join(dir, `test_b/test_data_set_${n}`));
    expect(b.inputs).toEqual({ source: 'onnx-test-data', dataSets: sets });
    expect(b.reference).toEqual({ source: 'onnx-test-data', dataSets: sets });
    expect(expandJobs(suite).map((j) => j.key)).toEqual([
      'test_a/onnxruntime/fp32',
      'test_a/pytorch/fp32',
      'test_b/onnxruntime/fp32',
      'test_b/pytorch/fp32',
    ]);
    const again = await suiteFromOnnxTests(dir, ['onnxruntime', 'pytorch']);
    expect(again.sha256).toBe(suite.sha256);
    await expect(suiteFromOnnxTests(dir, [])).rejects.toMatchObject({ code: 'E_USAGE' });
  });

  it('expands an onnxTests entry into one model per case, with its prefix, outputs and measurement', async () => {
    const dir = await tempTree({
      ...onnxCase('cases/x'),
      ...onnxCase('cases/y'),
      'one/model.onnx': 'm',
      's.yaml': `models:
  - { name: solo, path: one/model.onnx }
  - onnxTests: cases
    name: node
    outputs: { "*": { atol: 1.0e-3 } }
    measurement: { minDurationMs: 10, maxDurationMs: 50 }
engines: [{ name: onnxruntime }]
`,
    });
    const suite = await loadSuite(path.join(dir, 's.yaml'));
    expect(suite.models.map((m) => m.name)).toEqual(['solo', 'node/x', 'node/y']);
    const x = suite.models[1]!;
    expect(x.origin).toEqual({ index: 1, onnxTestCase: 'x' });
    expect(x.path).toBe(path.join(dir, 'cases/x/model.onnx'));
    expect(x.outputs).toEqual({ '*': { atol: 1e-3 } });
    expect(x.measurement.maxDurationMs).toBe(50);
    expect(expandJobs(suite, { models: ['node'] }).map((j) => j.key)).toEqual(['node/x/onnxruntime/fp32', 'node/y/onnxruntime/fp32']);
  });

  it('reports an empty onnxTests folder and case names that clash with other models', async () => {
    const dir = await tempTree({
      ...onnxCase('cases/solo'),
      'empty/': '',
      'm.onnx': 'm',
      's.yaml': `models:
  - { name: solo, path: m.onnx }
  - onnxTests: cases
  - onnxTests: empty
engines: [{ name: onnxruntime }]
`,
    });
    const e = await loadSuite(path.join(dir, 's.yaml')).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(SuiteConfigError);
    expect((e as SuiteConfigError).problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
      'models[1].onnxTests: duplicate model name "solo" (also models[0].name)',
      `models[2].onnxTests: no ONNX test cases in ${path.join(dir, 'empty')}; expected subfolders, at any depth, each holding model.onnx and test_data_set_N/ folders with input_K.pb and output_K.pb`,
    ]);
  });
});
