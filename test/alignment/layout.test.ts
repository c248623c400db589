import { describe, expect, it } from 'vitest';
import { alignTensors, nhwcToNchw, reconcileLayout } from '../../src/alignment/layout.js';
import { defaultTolerance, resolveTolerance } from '../../src/alignment/tolerances.js';
import { BenchalignError } from '../../src/errors.js';
import { makeTensor, type Tensor } from '../../src/tensors/tensor.js';

const iota = (dims: number[]): Tensor => {
  const n = dims.reduce((a, b) => a * b, 1);
  return makeTensor('float32', dims, Float32Array.from({ length: n }, (_, i) => i));
};
const tol = { atol: 1e-6, rtol: 0 };

describe('layout reconciliation', () => {
  it('transposes NHWC to NCHW element by element', () => {
    // numpy: np.arange(24).reshape(1,2,3,4).transpose(0,3,1,2).ravel()
    const want = [0, 4, 8, 12, 16, 20, 1, 5, 9, 13, 17, 21, 2, 6, 10, 14, 18, 22, 3, 7, 11, 15, 19, 23];
    const t = nhwcToNchw(iota([1, 2, 3, 4]));
    expect(t.dims).toEqual([1, 4, 2, 3]);
    expect([...(t.data as Float32Array)]).toEqual(want);
  });

  it('adds and drops a batch dimension of size 1 and records it', () => {
    const ref = iota([1, 3, 2]);
    const added = reconcileLayout(iota([3, 2]), ref);
    expect(added.tensor.dims).toEqual([1, 3, 2]);
    expect(added.steps).toEqual(['added leading batch dim of size 1']);
    const dropped = reconcileLayout(iota([1, 3, 2]), iota([3, 2]));
    expect(dropped.tensor.dims).toEqual([3, 2]);
    expect(dropped.steps[0]).toContain('dropped');
    expect(reconcileLayout(iota([3, 2]), ref, 'nchw', false).steps).toEqual([]);
  });

  it('auto applies NHWC->NCHW only when it is the permutation that matches', () => {
    const ref = nhwcToNchw(iota([1, 4, 5, 3]));
    const auto = reconcileLayout(iota([4, 5, 3]), ref, 'auto');
    expect(auto.steps).toHaveLength(2);
    expect(auto.steps[1]).toContain('NHWC->NCHW');
    const same = reconcileLayout(iota([1, 3, 4, 5]), iota([1, 3, 4, 5]), 'auto');
    expect(same.steps).toEqual([]);
    const asIs = reconcileLayout(iota([1, 4, 5, 3]), ref, 'nchw');
    expect(asIs.steps).toEqual([]);
  });

  it('matches by name, by --map, and a single leftover pair by index, recording how', () => {
    const actual = new Map([
      ['logits', iota([2, 3])],
      ['out0', iota([4])],
      ['extra', iota([1])],
    ]);
    const reference = new Map([
      ['logits', iota([2, 3])],
      ['features', iota([4])],
    ]);
    const r = alignTensors(actual, reference, { tolerance: tol, map: { out0: 'features' } });
    expect(r.outputs.map((o) => o.mapping?.name)).toEqual([
      { reference: 'logits', actual: 'logits', by: 'name' },
      { reference: 'features', actual: 'out0', by: 'map' },
    ]);
    expect(r.outputs.every((o) => o.passed)).toBe(true);
    expect(r.extraActual).toEqual(['extra']);
    expect(r.missing).toEqual([]);

    const single = alignTensors(new Map([['a', iota([3])]]), new Map([['ref', iota([3])]]), { tolerance: tol });
    expect(single.outputs[0]?.mapping?.name.by).toBe('index');
  });

  it('reports missing reference tensors and refuses a --map naming nothing', () => {
    const r = alignTensors(new Map([['x', iota([2])], ['y', iota([2])]]), new Map([['a', iota([2])], ['b', iota([2])]]), { tolerance: tol });
    expect(r.missing).toEqual(['a', 'b']);
    expect(r.availableActual).toEqual(['x', 'y']);
    expect(() => alignTensors(new Map([['x', iota([2])]]), new Map([['a', iota([2])]]), { tolerance: tol, map: { nope: 'a' } })).toThrow(
      BenchalignError,
    );
  });

  it('matches by index when asked', () => {
    const r = alignTensors(new Map([['p', iota([2])], ['q', iota([3])]]), new Map([['a', iota([2])], ['b', iota([3])]]), {
      tolerance: tol,
      matchBy: 'index',
    });
    expect(r.outputs.map((o) => [o.name, o.mapping?.name.actual, o.passed])).toEqual([
      ['a', 'p', true],
      ['b', 'q', true],
    ]);
  });
});

describe('tolerances', () => {
  it('has elementwise defaults for floats and floors only for int8', () => {
    expect(defaultTolerance('fp32')).toMatchObject({ atol: 1e-4, rtol: 1e-4 });
    expect(defaultTolerance('fp16')).toMatchObject({ atol: 1e-2, rtol: 1e-2 });
    expect(defaultTolerance('bf16')).toMatchObject({ atol: 5e-2, rtol: 5e-2 });
    expect(defaultTolerance('int8')).toMatchObject({ elementwise: false, cosineMin: 0.99, snrMinDb: 15 });
    expect(() => defaultTolerance('fp8' as never)).toThrow(BenchalignError);
  });

  it('resolves default <- "*" <- per-output overrides', () => {
    const o = { '*': { atol: 1e-3 }, logits: { rtol: 0.5, topK: 5 } };
    expect(resolveTolerance('fp32', 'other', o)).toMatchObject({ atol: 1e-3, rtol: 1e-4 });
    expect(resolveTolerance('fp32', 'logits', o)).toMatchObject({ atol: 1e-3, rtol: 0.5, topK: 5 });
    expect(resolveTolerance('int8', 'x', { x: { atol: 0.1 } })).toMatchObject({ atol: 0.1, elementwise: true, cosineMin: 0.99 });
    expect(resolveTolerance('int8', 'x', {}).elementwise).toBe(false);
  });
});
