import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseNpy, readNpySync } from '../../src/tensors/npy.js';
import { readOnnxTestData } from '../../src/tensors/onnx-test-data.js';
import { parseSafetensors } from '../../src/tensors/safetensors.js';
import { decodeTensorFile, readTensors } from '../../src/tensors/read.js';
import { FIXTURES, expectTensorMatches, loadManifest } from './helpers.js';

const manifest = loadManifest();
const byFormat = (fmt: string): string[] => Object.keys(manifest.files).filter((f) => manifest.files[f]?.format === fmt);

describe.each(['npy', 'npz', 'safetensors', 'onnx-pb', 'pt'])('%s reader against the numpy manifest', (fmt) => {
  const files = byFormat(fmt);
  it('has fixtures', () => expect(files.length).toBeGreaterThan(0));
  it.each(files)('%s', async (rel) => {
    const exp = manifest.files[rel];
    if (exp === undefined) throw new Error(rel);
    const r = await readTensors(join(FIXTURES, rel));
    expect(r.format).toBe(fmt);
    expect([...r.tensors.keys()].sort()).toEqual(Object.keys(exp.tensors).sort());
    for (const [name, e] of Object.entries(exp.tensors)) expectTensorMatches(r.tensors.get(name), e, `${rel}:${name}`);
    if (exp.metadata !== undefined) expect(r.metadata).toEqual(exp.metadata);
  });
});

describe('npy specifics', () => {
  it('views the file buffer without copying for aligned little-endian C-order data', () => {
    const bytes = readFileSync(join(FIXTURES, 'npy/float32.npy'));
    const aligned = new Uint8Array(new ArrayBuffer(bytes.length));
    aligned.set(bytes);
    const t = parseNpy(aligned, 'x.npy');
    expect(t.data.buffer).toBe(aligned.buffer);
  });
  it('copies big-endian and Fortran-order data into C order', () => {
    const be = readNpySync(join(FIXTURES, 'npy/be_f4.npy'));
    expect(be.dtype).toBe('float32');
    const f = readNpySync(join(FIXTURES, 'npy/fortran.npy'));
    expect(Array.from(f.data as Float32Array).slice(0, 6)).toEqual([0, 0.5, 1, 1.5, 2, 2.5]);
  });
});

describe('safetensors specifics', () => {
  it('keeps __metadata__ and returns views over the file buffer', () => {
    const bytes = readFileSync(join(FIXTURES, 'safetensors/all.safetensors'));
    const copy = new Uint8Array(new ArrayBuffer(bytes.length));
    copy.set(bytes);
    const c = parseSafetensors(copy, 'all.safetensors');
    expect(c.metadata).toEqual({ format: 'pt', producer: 'make_tensors.py' });
    const views = [...c.tensors.values()].filter((t) => t.data.buffer === copy.buffer).length;
    expect(views).toBeGreaterThan(0);
  });
});

describe('pt specifics', () => {
  it('names state_dict entries in OrderedDict order', async () => {
    const r = await readTensors(join(FIXTURES, 'pt/state_dict.pt'));
    expect([...r.tensors.keys()]).toEqual(Object.keys(manifest.files['pt/state_dict.pt']?.tensors ?? {}));
  });
  it('materializes views of one shared storage independently', async () => {
    const r = await readTensors(join(FIXTURES, 'pt/views.pt'));
    const x = r.tensors.get('x');
    const t = r.tensors.get('t');
    expect(x?.dims).toEqual([4, 6]);
    expect(t?.dims).toEqual([6, 4]);
    expect((t?.data as Float32Array)[1]).toBe((x?.data as Float32Array)[6]);
  });
  it('reads a .pt by magic when the extension is unknown', () => {
    const bytes = readFileSync(join(FIXTURES, 'pt/nested.pt'));
    expect(decodeTensorFile(bytes, 'weights.ckpt').format).toBe('pt');
  });
});

describe('ONNX test-data folders', () => {
  it('reads every set with names from the model (set 0) and from TensorProto names (set 1)', async () => {
    const d = await readOnnxTestData(join(FIXTURES, 'testdata'));
    expect(d.model).toBe(join(FIXTURES, 'testdata', 'model.onnx'));
    expect(d.sets.map((s) => s.name)).toEqual(['test_data_set_0', 'test_data_set_1']);
    d.sets.forEach((s, i) => {
      const exp = manifest.testdata[i];
      if (exp === undefined) throw new Error('manifest');
      expect([...s.inputs.keys()]).toEqual(['x', 'y']);
      expect([...s.outputs.keys()]).toEqual(['z', 's']);
      for (const [n, e] of Object.entries(exp.inputs)) expectTensorMatches(s.inputs.get(n), e, `set${i}:${n}`);
      for (const [n, e] of Object.entries(exp.outputs)) expectTensorMatches(s.outputs.get(n), e, `set${i}:${n}`);
    });
  });
  it('readTensors on the folder gives the chosen set outputs, inputs apart', async () => {
    const r = await readTensors(join(FIXTURES, 'testdata'), { dataSet: 1 });
    expect(r.format).toBe('onnx-test-data');
    expectTensorMatches(r.tensors.get('z'), manifest.testdata[1]?.outputs.z as never, 'z');
    expectTensorMatches(r.inputs?.get('x'), manifest.testdata[1]?.inputs.x as never, 'x');
  });
  it('names an unknown data set in its error', async () => {
    await expect(readTensors(join(FIXTURES, 'testdata'), { dataSet: 7 })).rejects.toMatchObject({ code: 'E_USAGE' });
  });
});
