import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BenchalignError } from '../../src/errors.js';
import { inspectModelBytes } from '../../src/tensors/inspect.js';
import { decodeTensorFile, type TensorFileFormat } from '../../src/tensors/read.js';
import { toFloat64Array } from '../../src/tensors/tensor.js';
import { FIXTURES } from './helpers.js';

const CASES: Array<[string, TensorFileFormat | 'onnx-model']> = [
  ['npy/float32.npy', 'npy'],
  ['npy/fortran_be.npy', 'npy'],
  ['npz/deflated.npz', 'npz'],
  ['npz/stored.npz', 'npz'],
  ['safetensors/all.safetensors', 'safetensors'],
  ['pb/raw_float32.pb', 'onnx-pb'],
  ['pb/typed_int64.pb', 'onnx-pb'],
  ['pt/nested.pt', 'pt'],
  ['pt/views.pt', 'pt'],
  ['pt/protocol4.pt', 'pt'],
  ['onnx/inspect.onnx', 'onnx-model'],
];

/** A corruption: byte flips at random offsets, then an optional truncation. */
const corruption = (len: number) =>
  fc.record({
    flips: fc.array(fc.record({ at: fc.nat({ max: len - 1 }), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 0, maxLength: 6 }),
    cut: fc.option(fc.nat({ max: len }), { nil: undefined }),
  });

describe.each(CASES)('corrupting %s', (rel, format) => {
  const good = readFileSync(join(FIXTURES, rel));
  it('gives a BenchalignError or a valid read, never another exception (200 runs)', () => {
    fc.assert(
      fc.property(corruption(good.length), ({ flips, cut }) => {
        const b = new Uint8Array(good);
        for (const f of flips) b[f.at] = f.value;
        const bytes = cut === undefined ? b : b.subarray(0, cut);
        try {
          if (format === 'onnx-model') inspectModelBytes(bytes, rel);
          else for (const t of decodeTensorFile(bytes, rel, { format, zip: { maxEntryBytes: 64 * 2 ** 20 } }).tensors.values()) toFloat64Array(t);
        } catch (e) {
          if (!(e instanceof BenchalignError)) throw new Error(`untyped ${String(e)}`, { cause: e });
        }
      }),
      { numRuns: 200, seed: 42 },
    );
  });
  it('still reads the uncorrupted file (the property is not vacuous)', () => {
    if (format === 'onnx-model') expect(inspectModelBytes(good, rel).nodeCount).toBeGreaterThan(0);
    else expect(decodeTensorFile(good, rel, { format }).tensors.size).toBeGreaterThan(0);
  });
});
