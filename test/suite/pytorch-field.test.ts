/** A model entry's `pytorch` field: loaded to absolute paths, carried into jobs, and checked. */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SuiteConfigError } from '../../src/config/errors.js';
import { loadSuite } from '../../src/suite/load.js';
import { expandJobs } from '../../src/suite/matrix.js';
import { tempTree } from './helpers.js';

const suite = (models: string) => `models:\n${models}\nengines:\n  - name: pytorch\n`;

describe('suite model field pytorch', () => {
  it('resolves torchscript, exported and factory paths against the suite file and reaches the jobs', async () => {
    const dir = await tempTree({
      'm.onnx': 'onnx',
      'nets/a.pt': 'ts',
      'nets/b.pt2': 'ep',
      'nets/make.py': 'def build(): ...',
      's.yaml': suite(
        [
          '  - { name: a, path: m.onnx, pytorch: { torchscript: nets/a.pt, outputs: [y] } }',
          '  - { name: b, path: m.onnx, pytorch: { exported: nets/b.pt2 } }',
          '  - name: c',
          '    path: m.onnx',
          '    pytorch: { factory: "nets/make.py:build", inputs: [{ name: x, dims: [1, 3] }] }',
        ].join('\n'),
      ),
    });
    const s = await loadSuite(path.join(dir, 's.yaml'));
    const sha = (text: string) => createHash('sha256').update(text).digest('hex');
    expect(s.models.map((m) => m.pytorch)).toEqual([
      { kind: 'torchscript', path: path.join(dir, 'nets/a.pt'), outputs: ['y'], sha256: sha('ts') },
      { kind: 'exported', path: path.join(dir, 'nets/b.pt2'), sha256: sha('ep') },
      { kind: 'factory', path: path.join(dir, 'nets/make.py'), factory: 'build', inputs: [{ name: 'x', dtype: 'float32', dims: [1, 3] }], sha256: sha('def build(): ...') },
    ]);
    expect(expandJobs(s).map((j) => j.model.pytorch?.kind)).toEqual(['torchscript', 'exported', 'factory']);
  });

  it('reports every problem with its path: none or two forms, a missing file, a malformed factory', async () => {
    const dir = await tempTree({
      'm.onnx': 'onnx',
      'a.pt': 'ts',
      's.yaml': suite(
        [
          '  - { name: a, path: m.onnx, pytorch: {} }',
          '  - { name: b, path: m.onnx, pytorch: { torchscript: a.pt, exported: a.pt } }',
          '  - { name: c, path: m.onnx, pytorch: { torchscript: missing.pt } }',
          '  - { name: d, path: m.onnx, pytorch: { factory: make.py } }',
          '  - { name: e, path: m.onnx, pytorch: { factory: "gone.py:build" } }',
        ].join('\n'),
      ),
    });
    const e = await loadSuite(path.join(dir, 's.yaml')).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SuiteConfigError);
    expect((e as SuiteConfigError).problems.map((p) => `${p.path}: ${p.message}`).sort()).toEqual([
      'models[0].pytorch: expected exactly one of torchscript, exported or factory, got none',
      'models[1].pytorch: expected exactly one of torchscript, exported or factory, got torchscript and exported',
      `models[2].pytorch.torchscript: file not found: ${path.join(dir, 'missing.pt')}`,
      'models[3].pytorch.factory: expected "path/to/file.py:function", got "make.py"',
      `models[4].pytorch.factory: file not found: ${path.join(dir, 'gone.py')}`,
    ]);
  });
});
