import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BenchalignError } from '../../src/errors.js';
import { loadSuite } from '../../src/suite/load.js';
import { expandJobs, optionsHash, outputSettings } from '../../src/suite/matrix.js';
import { tempTree } from './helpers.js';

async function suiteOf(yaml: string) {
  const dir = await tempTree({ 'a.onnx': 'a', 'b.onnx': 'b', 'a_in.pt': 'i', 'a_out.pt': 'o', 's.yaml': yaml });
  return loadSuite(path.join(dir, 's.yaml'));
}

const TWO_BY_THREE = `
models:
  - { name: a, path: a.onnx, inputs: { source: reference, file: a_in.pt }, reference: a_out.pt, budgets: { p99MaxMs: 9 } }
  - { name: b, path: b.onnx, measurement: { repeats: 3 } }
engines:
  - { name: onnxruntime, options: { intraOpThreads: 1 } }
  - { name: onnxruntime, options: { intraOpThreads: 2 } }
  - { name: ncnn, precision: fp16, label: arm }
`;

describe('expandJobs', () => {
  it('makes one job per model and engine configuration, model-major, with stable unique keys', async () => {
    const suite = await suiteOf(TWO_BY_THREE);
    const jobs = expandJobs(suite);
    const h1 = optionsHash({ intraOpThreads: 1 });
    const h2 = optionsHash({ intraOpThreads: 2 });
    expect(h1).toMatch(/^[0-9a-f]{8}$/);
    expect(h1).not.toBe(h2);
    expect(jobs.map((j) => j.key)).toEqual([
      `a/onnxruntime/fp32/opt-${h1}`,
      `a/onnxruntime/fp32/opt-${h2}`,
      'a/ncnn/fp16/arm',
      `b/onnxruntime/fp32/opt-${h1}`,
      `b/onnxruntime/fp32/opt-${h2}`,
      'b/ncnn/fp16/arm',
    ]);
    expect(expandJobs(suite).map((j) => j.key)).toEqual(jobs.map((j) => j.key));
    const a = jobs[0]!;
    expect(a.engine).toEqual({ name: 'onnxruntime', precision: 'fp32', options: { intraOpThreads: 1 } });
    expect(a.model.reference).toEqual({ source: 'file', path: path.join(suite.dir, 'a_out.pt') });
    expect(a.model.inputs).toEqual({ source: 'reference', file: path.join(suite.dir, 'a_in.pt') });
    expect(a.model.budgets).toEqual({ p99MaxMs: 9 });
    expect(a.model.sha256).toBe(suite.models[0]!.sha256);
    expect(jobs[2]!.engine.label).toBe('arm');
    expect(a.measurement.repeats).toBe(1);
    expect(jobs[3]!.measurement.repeats).toBe(3);
    expect(jobs[3]!.model.reference).toBeUndefined();
  });

  it('keys a lone engine configuration without options hash, whatever its options', async () => {
    const suite = await suiteOf(`models: [{ name: a, path: a.onnx }]
engines: [{ name: onnxruntime, options: { intraOpThreads: 4 } }, { name: onnxruntime, precision: fp16 }]`);
    expect(expandJobs(suite).map((j) => j.key)).toEqual(['a/onnxruntime/fp32', 'a/onnxruntime/fp16']);
  });

  it('filters by engine name and model name', async () => {
    const suite = await suiteOf(TWO_BY_THREE);
    expect(expandJobs(suite, { engines: ['ncnn'] }).map((j) => j.key)).toEqual(['a/ncnn/fp16/arm', 'b/ncnn/fp16/arm']);
    expect(expandJobs(suite, { engines: ['ncnn'], models: ['b'] }).map((j) => j.key)).toEqual(['b/ncnn/fp16/arm']);
  });

  it('rejects engine and model names that are not in the suite, listing the available ones', async () => {
    const suite = await suiteOf(TWO_BY_THREE);
    const e = (() => {
      try {
        expandJobs(suite, { engines: ['ncnn', 'tensorrt', 'mnn'] });
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(e).toBeInstanceOf(BenchalignError);
    expect((e as BenchalignError).code).toBe('E_USAGE');
    expect((e as BenchalignError).exitCode).toBe(2);
    expect((e as BenchalignError).message).toBe('--engines: engine not in the suite: tensorrt, mnn (expected one of onnxruntime, ncnn)');
    expect(() => expandJobs(suite, { models: ['c'] })).toThrow('--models: model not in the suite: c (expected one of a, b)');
  });

  it('merges tolerances: suite "*" < suite by name < model "*" < model by name', async () => {
    const suite = await suiteOf(`
models:
  - name: a
    path: a.onnx
    outputs:
      "*": { rtol: 0.3, cosineMin: 0.99 }
      logits: { atol: 0.4, topK: 5 }
      mask: { compare: false }
engines: [{ name: onnxruntime }]
tolerances:
  "*": { atol: 0.1, rtol: 0.1, snrMinDb: 40 }
  logits: { atol: 0.2, rtol: 0.2 }
  hidden: { atol: 0.25 }
`);
    const [job] = expandJobs(suite);
    expect(job!.model.outputs).toEqual({
      '*': { atol: 0.1, rtol: 0.3, snrMinDb: 40, cosineMin: 0.99 },
      logits: { atol: 0.4, rtol: 0.3, snrMinDb: 40, cosineMin: 0.99, topK: 5 },
      hidden: { atol: 0.25, rtol: 0.3, snrMinDb: 40, cosineMin: 0.99 },
      mask: { atol: 0.1, rtol: 0.3, snrMinDb: 40, cosineMin: 0.99, compare: false },
    });
    expect(outputSettings(job!, 'logits').atol).toBe(0.4);
    expect(outputSettings(job!, 'other')).toEqual({ atol: 0.1, rtol: 0.3, snrMinDb: 40, cosineMin: 0.99 });
  });
});
