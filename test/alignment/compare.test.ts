import { describe, expect, it } from 'vitest';
import { compare, unravelIndex } from '../../src/alignment/compare.js';
import { makeTensor } from '../../src/tensors/tensor.js';
import { close, loadCase, loadManifest, num } from './helpers.js';

const cases = loadManifest();

describe('compare() against numpy (test/fixtures/make_alignment.py)', () => {
  it('has the generated cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(20);
  });

  for (const c of cases) {
    it(c.name, () => {
      const { actual, reference } = loadCase(c);
      const out = compare(actual, reference, c.tolerance, { name: c.name, worstK: c.worstK });
      const e = c.expected;
      expect(out.name).toBe(c.name);
      expect(out.passed, out.reasons.join('; ')).toBe(c.passed);
      expect(out.reasons.length > 0).toBe(!c.passed);
      expect(out.count).toBe(e.count);
      expect(out.finiteCount).toBe(e.finiteCount);
      expect(out.mismatchCount).toBe(e.mismatchCount);
      expect(out.nonFiniteMismatchCount).toBe(e.nonFiniteMismatchCount);
      expect(out.nan).toEqual(e.nan);
      expect(out.inf).toEqual(e.inf);
      expect(out.relFloor).toBe(e.relFloor);
      // maxima are exact (same float64 operations); sums are accumulated in a different order
      expect(out.maxAbsError).toBe(num(e.maxAbsError));
      expect(close(out.maxRelError, num(e.maxRelError), 1e-12), `maxRel ${out.maxRelError} vs ${String(e.maxRelError)}`).toBe(true);
      expect(close(out.minPassingAtol, num(e.minPassingAtol), 1e-12), `minAtol ${out.minPassingAtol}`).toBe(true);
      expect(close(out.minPassingRtol, num(e.minPassingRtol), 1e-12), `minRtol ${out.minPassingRtol}`).toBe(true);
      expect(close(out.meanAbsError, num(e.meanAbsError)), `mean ${out.meanAbsError}`).toBe(true);
      expect(close(out.rmse, num(e.rmse)), `rmse ${out.rmse}`).toBe(true);
      expect(close(out.cosine, num(e.cosine)), `cosine ${out.cosine}`).toBe(true);
      expect(close(out.snrDb, num(e.snrDb)), `snr ${out.snrDb}`).toBe(true);
      expect(close(out.mismatchPct, e.mismatchPct, 1e-12)).toBe(true);
      expect(out.worst.map((w) => w.flatIndex)).toEqual(e.worst.map((w) => w.flatIndex));
      expect(out.worst.map((w) => w.index)).toEqual(e.worst.map((w) => w.index));
      expect(out.worst.map((w) => w.actual)).toEqual(e.worst.map((w) => num(w.actual)));
      expect(out.worst.map((w) => w.reference)).toEqual(e.worst.map((w) => num(w.reference)));
      expect(out.histogram?.counts).toEqual(e.histogram.counts);
      expect(out.histogram?.edges).toEqual(e.histogram.edges.map(num));
      if (e.topk) {
        expect(out.topk?.k).toBe(e.topk.k);
        expect(out.topk?.rows).toBe(e.topk.rows);
        expect(close(out.topk?.top1Agreement ?? NaN, e.topk.top1Agreement, 1e-12)).toBe(true);
        expect(close(out.topk?.topkAgreement ?? NaN, e.topk.topkAgreement, 1e-12)).toBe(true);
      }
    });
  }
});

describe('compare() rules', () => {
  const f32 = (dims: number[], v: number[]) => makeTensor('float32', dims, Float32Array.from(v));

  it('reports a shape mismatch as a failure naming both shapes', () => {
    const out = compare(f32([2, 2], [1, 2, 3, 4]), f32([4], [1, 2, 3, 4]), { atol: 1, rtol: 1 });
    expect(out.passed).toBe(false);
    expect(out.reasons[0]).toContain('[2, 2]');
    expect(out.reasons[0]).toContain('[4]');
    expect(out.actualDims).toEqual([2, 2]);
    expect(out.referenceDims).toEqual([4]);
  });

  it('reports a dtype-class mismatch as a failure naming both dtypes', () => {
    const ints = makeTensor('int32', [4], Int32Array.from([1, 2, 3, 4]));
    const out = compare(f32([4], [1, 2, 3, 4]), ints, { atol: 1, rtol: 1 });
    expect(out.passed).toBe(false);
    expect(out.reasons[0]).toMatch(/float32.*int32/);
  });

  it('compares integers exactly, ignoring the tolerance, and says so', () => {
    const a = makeTensor('int64', [3], BigInt64Array.from([1n, 2n ** 60n + 1n, 3n]));
    const r = makeTensor('int64', [3], BigInt64Array.from([1n, 2n ** 60n, 3n]));
    const out = compare(a, r, { atol: 100, rtol: 1 });
    expect(out.exact).toBe(true);
    expect(out.mismatchCount).toBe(1);
    expect(out.passed).toBe(false);
    expect(out.notes?.join(' ')).toContain('tolerance ignored');
  });

  it('skips the elementwise rule when elementwise is false but still fails NaN placement', () => {
    const out = compare(f32([3], [1, NaN, 3]), f32([3], [1, 2, 3]), { atol: 0, rtol: 0, elementwise: false });
    expect(out.passed).toBe(false);
    expect(out.reasons.join(' ')).toContain('NaN/Inf placement');
  });

  it('explains a failed elementwise rule with the minimum passing tolerances', () => {
    const out = compare(f32([2], [1.5, 2]), f32([2], [1, 2]), { atol: 0.1, rtol: 0 });
    expect(out.minPassingAtol).toBe(0.5);
    expect(out.reasons[0]).toContain('1 of 2 elements');
    expect(out.reasons[0]).toContain('atol >= 0.5');
  });

  it('gates top-1 agreement when top1Min is set', () => {
    const a = f32([2, 3], [0, 1, 2, 5, 0, 0]);
    const r = f32([2, 3], [0, 1, 2, 0, 0, 5]);
    const out = compare(a, r, { atol: 10, rtol: 0, topK: 1, top1Min: 0.9 });
    expect(out.topk?.top1Agreement).toBe(0.5);
    expect(out.passed).toBe(false);
  });

  it('unravels C-order indices', () => {
    expect(unravelIndex(23, [2, 3, 4])).toEqual([1, 2, 3]);
    expect(unravelIndex(0, [])).toEqual([]);
  });
});
