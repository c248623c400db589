import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BenchalignError } from '../../src/errors.js';
import { SuiteConfigError } from '../../src/config/errors.js';
import { loadSuite } from '../../src/suite/load.js';
import { DEFAULT_MEASUREMENT } from '../../src/model/suite.js';
import { tempTree } from './helpers.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

async function problemsOf(file: string): Promise<SuiteConfigError> {
  const e = await loadSuite(file).catch((err: unknown) => err);
  expect(e).toBeInstanceOf(SuiteConfigError);
  return e as SuiteConfigError;
}

const MINIMAL = `
models:
  - name: net
    path: m/model.onnx
engines:
  - name: onnxruntime
`;

describe('loadSuite: valid suites', () => {
  it('applies every default and resolves paths against the suite file', async () => {
    const dir = await tempTree({ 'm/model.onnx': 'onnx bytes', 'suites/my suite.yaml': MINIMAL.replace('m/model.onnx', '../m/model.onnx') });
    const file = path.join(dir, 'suites/my suite.yaml');
    const suite = await loadSuite(file);
    expect(suite.name).toBe('my_suite');
    expect(suite.path).toBe(file);
    expect(suite.dir).toBe(path.join(dir, 'suites'));
    expect(suite.sha256).toBe(sha(readFileSync(file, 'utf8')));
    expect(suite.engines).toEqual([{ name: 'onnxruntime', precision: 'fp32', options: {} }]);
    expect(suite.measurement).toEqual(DEFAULT_MEASUREMENT);
    expect(suite.tolerances).toEqual({});
    expect(suite.models).toHaveLength(1);
    const m = suite.models[0]!;
    expect(m.path).toBe(path.join(dir, 'm/model.onnx'));
    expect(m.sha256).toBe(sha('onnx bytes'));
    expect(m.inputs).toEqual({ source: 'random', seed: 0, ranges: {}, defaultRange: [0, 1] });
    expect(m.reference).toBeUndefined();
    expect(m.shapes).toEqual({});
    expect(m.measurement).toEqual(DEFAULT_MEASUREMENT);
    expect(m.origin).toEqual({ index: 0 });
  });

  it('reads every field of a full suite, model measurement overriding the suite field by field', async () => {
    const dir = await tempTree({
      'cnn/model.onnx': 'cnn',
      'cnn/inputs.pt': 'i',
      'cnn/outputs.pt': 'o',
      'tf.onnx': 'tf',
      's.yaml': `
name: full
description: everything
models:
  - name: cnn
    path: cnn/model.onnx
    sha256: ${sha('cnn').toUpperCase()}
    inputs: { source: reference, file: cnn/inputs.pt }
    reference: cnn/outputs.pt
    shapes: { input: [1, 3, 32, 32] }
    outputs:
      logits: { topK: 5, atol: 1.0e-4, compare: true }
    budgets: { p50MaxMs: 3, peakRssMaxMiB: 512 }
    measurement: { maxDurationMs: 3000, warmup: { maxMs: 100 } }
  - name: tf
    path: tf.onnx
    inputs: { source: random, seed: 7, ranges: { input_ids: [0, 999], "*": [-1, 1] } }
engines:
  - name: onnxruntime
    options: { intraOpThreads: 1 }
  - { name: onnxruntime, precision: fp16, label: half }
measurement:
  warmup: { minIterations: 3 }
  minDurationMs: 500
  concurrency: [1, 4]
tolerances:
  "*": { rtol: 1.0e-3 }
`,
    });
    const suite = await loadSuite(path.join(dir, 's.yaml'));
    expect(suite.name).toBe('full');
    expect(suite.description).toBe('everything');
    expect(suite.engines[1]).toEqual({ name: 'onnxruntime', precision: 'fp16', options: {}, label: 'half' });
    expect(suite.measurement.minDurationMs).toBe(500);
    expect(suite.measurement.concurrency).toEqual([1, 4]);
    expect(suite.measurement.warmup).toEqual({ minIterations: 3, maxIterations: 2000, maxMs: 5000 });
    expect(suite.tolerances).toEqual({ '*': { rtol: 1e-3 } });
    const [cnn, tf] = suite.models;
    expect(cnn!.inputs).toEqual({ source: 'reference', file: path.join(dir, 'cnn/inputs.pt') });
    expect(cnn!.reference).toEqual({ source: 'file', path: path.join(dir, 'cnn/outputs.pt') });
    expect(cnn!.shapes).toEqual({ input: [1, 3, 32, 32] });
    expect(cnn!.outputs).toEqual({ logits: { topK: 5, atol: 1e-4, compare: true } });
    expect(cnn!.budgets).toEqual({ p50MaxMs: 3, peakRssMaxMiB: 512 });
    expect(cnn!.measurement.maxDurationMs).toBe(3000);
    expect(cnn!.measurement.minDurationMs).toBe(500);
    expect(cnn!.measurement.warmup).toEqual({ minIterations: 3, maxIterations: 2000, maxMs: 100 });
    expect(tf!.measurement.maxDurationMs).toBe(10000);
    expect(tf!.inputs).toEqual({ source: 'random', seed: 7, ranges: { input_ids: [0, 999] }, defaultRange: [-1, 1] });
  });

  it('loads JSON suites, tab-indented too', async () => {
    const dir = await tempTree({
      'model.onnx': 'x',
      'suite.json': JSON.stringify({ $schema: './suite.schema.json', models: [{ name: 'a', path: 'model.onnx' }], engines: [{ name: 'ort' }] }, null, '\t'),
    });
    const suite = await loadSuite(path.join(dir, 'suite.json'));
    expect(suite.name).toBe('suite');
    expect(suite.models.map((m) => m.name)).toEqual(['a']);
  });

  it.skipIf(!existsSync('suites/models/cnn/model.onnx'))('loads the bundled smoke suite', async () => {
    const suite = await loadSuite('suites/smoke.yaml');
    expect(suite.name).toBe('smoke');
    expect(suite.models.map((m) => m.name)).toEqual(['cnn', 'transformer']);
    expect(suite.engines).toEqual([{ name: 'onnxruntime', precision: 'fp32', options: { intraOpThreads: 1, interOpThreads: 1 } }]);
    expect(suite.models[0]!.outputs.logits?.topK).toBe(5);
    expect(suite.measurement.maxDurationMs).toBeLessThanOrEqual(8000);
  });
});

describe('loadSuite: problems', () => {
  it('reports every class of problem at once, each with its path and line', async () => {
    const dir = await tempTree({
      'm.onnx': 'model',
      'in.pt': 'inputs',
      's.yaml': `name: demo
models:
  - name: cnn
    path: m.onnx
    sha256: "${'0'.repeat(64)}"
    inputs: { source: reference, file: in.pt }
    reference: missing.pt
    outputs:
      logits: { topk: 5, atol: -1 }
  - name: cnn
    path: nope.onnx
    inputs: { source: randm }
  - onnxTests: nodir
    precision: fp16
engines:
  - name: onnxruntime
    precision: fp8
  - { name: onnxruntime }
  - { name: onnxruntime, precision: fp32 }
measurement:
  minDurationMs: 5000
  maxDurationMs: 100
  concurrency: []
  warmup: { maxMs: "x" }
tolerances:
  "*": { rtol: 1e-4, foo: 1 }
extra: 1
`,
    });
    const err = await problemsOf(path.join(dir, 's.yaml'));
    expect(err.code).toBe('E_CONFIG');
    expect(err.exitCode).toBe(2);
    const lines = err.problems.map((p) => `${p.path}: ${p.message} @${p.line}`);
    expect(lines).toEqual([
      `models[0].sha256: mismatch: ${path.join(dir, 'm.onnx')} has sha256 ${sha('model')} @5`,
      `models[0].reference: file not found: ${path.join(dir, 'missing.pt')} @7`,
      'models[0].outputs.logits.topk: unknown key; did you mean "topK"? @9',
      'models[0].outputs.logits.atol: expected a number >= 0, got -1 @9',
      'models[1].name: duplicate model name "cnn" (also models[0].name) @10',
      `models[1].path: file not found: ${path.join(dir, 'nope.onnx')} @11`,
      'models[1].inputs.source: expected one of reference|random, got "randm" @12',
      `models[2].onnxTests: folder not found: ${path.join(dir, 'nodir')} @13`,
      'models[2].precision: unknown key (expected one of: onnxTests, name, outputs, measurement, agents) @14',
      'engines[0].precision: expected one of fp32|fp16|bf16|int8, got "fp8" @17',
      'engines[2]: same engine, precision and options as engines[1] @19',
      'measurement.maxDurationMs: expected maxDurationMs >= minDurationMs, got 100 < 5000 @22',
      'measurement.concurrency: expected at least 1 item, got 0 @23',
      'measurement.warmup.maxMs: expected a number, got "x" @24',
      'tolerances["*"].foo: unknown key (expected one of: atol, rtol, cosineMin, snrMinDb, elementwise, equalNan, topK, top1Min) @26',
      'extra: unknown key (expected one of: $schema, name, description, models, engines, measurement, tolerances, agents) @27',
    ]);
    const message = err.message.split('\n');
    expect(message[0]).toBe(`${path.join(dir, 's.yaml')}: 16 problems in suite:`);
    expect(message[2]).toBe(`  models[0].reference: file not found: ${path.join(dir, 'missing.pt')} (line 7, col 5)`);
  });

  it('reports missing required fields and wrong types with what was expected', async () => {
    const dir = await tempTree({ 's.yaml': 'models:\n  - path: 3\n  - {}\n  - { name: a, pth: m.onnx }\nengines: onnxruntime\n' });
    const err = await problemsOf(path.join(dir, 's.yaml'));
    expect(err.problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
      'models[0].name: required: expected a string',
      'models[0].path: expected a string, got 3',
      'models[1]: expected path (a model file) or onnxTests (a folder of ONNX test cases)',
      'models[2].path: required: expected a string',
      'models[2].pth: unknown key; did you mean "path"?',
      'engines: expected a list, got "onnxruntime"',
    ]);
  });

  it('reports a YAML syntax error with its line and column', async () => {
    const dir = await tempTree({ 's.yaml': 'models:\n  - name: a\n    path: [unclosed\nengines: []\n' });
    const err = await problemsOf(path.join(dir, 's.yaml'));
    expect(err.problems.length).toBeGreaterThan(0);
    expect(err.problems[0]!.message).toMatch(/^syntax error: /);
    expect(err.problems[0]!.line).toBeGreaterThanOrEqual(3);
    expect(err.message).toContain(`${path.join(dir, 's.yaml')}: `);
    expect(err.message).toMatch(/\(line \d+, col \d+\)/);
  });

  it('rejects duplicate keys, which JSON.parse would silently accept', async () => {
    const dir = await tempTree({ 's.json': '{"models": [], "engines": [], "models": []}' });
    const err = await problemsOf(path.join(dir, 's.json'));
    expect(err.problems[0]!.message).toMatch(/syntax error: .*unique/i);
    expect(err.problems[0]!.line).toBe(1);
  });

  it('rejects a document that is not a mapping', async () => {
    const dir = await tempTree({ 's.yaml': '- a\n- b\n' });
    const err = await problemsOf(path.join(dir, 's.yaml'));
    expect(err.problems).toEqual([{ path: '', message: 'expected a mapping with models and engines, got a list' }]);
  });

  it('accepts a matching sha256 in any case and rejects a malformed one', async () => {
    const dir = await tempTree({
      'm.onnx': 'abc',
      'ok.yaml': `models: [{ name: a, path: m.onnx, sha256: ${sha('abc').toUpperCase()} }]\nengines: [{ name: ort }]\n`,
      'bad.yaml': 'models: [{ name: a, path: m.onnx, sha256: abc }]\nengines: [{ name: ort }]\n',
    });
    await expect(loadSuite(path.join(dir, 'ok.yaml'))).resolves.toMatchObject({ models: [{ sha256: sha('abc') }] });
    const err = await problemsOf(path.join(dir, 'bad.yaml'));
    expect(err.problems.map((p) => `${p.path}: ${p.message}`)).toEqual(['models[0].sha256: expected 64 hex digits, got "abc"']);
  });

  it('requires reference inputs when a reference is set, and ordered random ranges', async () => {
    const dir = await tempTree({
      'm.onnx': 'x',
      'o.pt': 'o',
      's.yaml': `models:
  - { name: a, path: m.onnx, reference: o.pt }
  - { name: b, path: m.onnx, reference: o.pt, inputs: { source: random } }
  - { name: c, path: m.onnx, inputs: { source: random, ranges: { x: [2, 1] } } }
engines: [{ name: ort }]
`,
    });
    const err = await problemsOf(path.join(dir, 's.yaml'));
    expect(err.problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
      'models[0].inputs: required when reference is set: expected { source: reference, file: <the inputs the reference was computed from> }',
      'models[1].inputs: random inputs do not fit when reference is set: expected { source: reference, file: <the inputs the reference was computed from> }',
      'models[2].inputs.ranges.x: expected low <= high, got [2, 1]',
    ]);
  });

  it('checks measurement bounds of a model against the suite', async () => {
    const dir = await tempTree({
      'm.onnx': 'x',
      's.yaml': `models:
  - { name: a, path: m.onnx, measurement: { maxIterations: 10 } }
engines: [{ name: ort }]
measurement: { minIterations: 20, warmup: { minIterations: 9, maxIterations: 3 } }
`,
    });
    const err = await problemsOf(path.join(dir, 's.yaml'));
    expect(err.problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
      'models[0].measurement.maxIterations: expected maxIterations >= minIterations, got 10 < 20',
      'measurement.warmup.maxIterations: expected warmup.maxIterations >= warmup.minIterations, got 3 < 9',
    ]);
  });

  it('rejects duplicate engine labels and names that cannot be used in keys', async () => {
    const dir = await tempTree({
      'm.onnx': 'x',
      's.yaml': `name: "bad name"
models: [{ name: "/a", path: m.onnx }]
engines:
  - { name: ort, label: x, options: { a: 1 } }
  - { name: ort, label: x, options: { a: 2 } }
`,
    });
    const err = await problemsOf(path.join(dir, 's.yaml'));
    expect(err.problems.map((p) => p.path)).toEqual(['name', 'models[0].name', 'engines[1].label']);
    expect(err.problems[2]!.message).toBe('duplicate label "x" for ort (also engines[0])');
  });

  it('says when the suite file itself is missing', async () => {
    const e = await loadSuite('/nonexistent/suite.yaml').catch((err: unknown) => err);
    expect(e).toBeInstanceOf(BenchalignError);
    expect((e as BenchalignError).code).toBe('E_CONFIG');
    expect((e as BenchalignError).message).toBe('/nonexistent/suite.yaml: suite file not found (expected a YAML or JSON suite file)');
  });
});
