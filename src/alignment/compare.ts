/**
 * `compare(actual, reference, tolerance)`: the pure per-output comparison. It never throws on
 * data: a shape or dtype-class mismatch is a failed OutputAlignment naming both sides.
 *
 * Definitions (docs/alignment.md has the full text):
 * - error statistics (max/mean abs, max rel, RMSE, cosine, SNR, histogram, minimum passing
 *   tolerances) are over pairs where both sides are finite, accumulated in float64;
 * - max rel error = max |a - r| / max(|r|, relFloor), relFloor = max(atol, machine epsilon of
 *   the less precise dtype);
 * - cosine = sum(a r) / sqrt(sum a^2 sum r^2); 1 when both are all zeros, 0 when only one is;
 * - SNR dB = 10 log10(sum r^2 / sum (a - r)^2); +Infinity when the sides are equal;
 * - NaN/Inf placements must agree (NaN == NaN under equalNan, Inf against the same Inf only),
 *   otherwise the output fails whatever the tolerance.
 */
import type { DType } from '../tensors/dtype.js';
import { isFloatDType } from '../tensors/dtype.js';
import type { Tensor } from '../tensors/tensor.js';
import { formatDims, toFloat32Array, toFloat64Array } from '../tensors/tensor.js';
import { scan, type ScanResult } from './scan.js';
import type { OutputAlignment, Tolerance, WorstElement } from '../model/alignment.js';
import { fmtNum } from './num.js';

export interface CompareOptions {
  /** Output name for the report. Default "output". */
  name?: string;
  /** How many worst elements to keep. Default 10. */
  worstK?: number;
  /** Build the log10-decade error histogram. Default true. */
  histogram?: boolean;
}

type DTypeClass = 'float' | 'integer' | 'bool';

function dtypeClass(d: DType): DTypeClass {
  if (isFloatDType(d)) return 'float';
  return d === 'bool' ? 'bool' : 'integer';
}

/** Machine epsilon (2^-mantissa bits) of a float dtype. */
export function machineEpsilon(d: DType): number {
  switch (d) {
    case 'float64':
      return 2 ** -52;
    case 'float16':
      return 2 ** -10;
    case 'bfloat16':
      return 2 ** -7;
    default:
      return 2 ** -23;
  }
}

/** Multi-dimensional C-order index of a flat index. */
export function unravelIndex(flat: number, dims: readonly number[]): number[] {
  const index = new Array<number>(dims.length).fill(0);
  let rest = flat;
  for (let i = dims.length - 1; i >= 0; i--) {
    const d = dims[i] as number;
    index[i] = rest % d;
    rest = Math.floor(rest / d);
  }
  return index;
}

function sameDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** An alignment with no element compared yet (failed until proven otherwise). */
export function emptyAlignment(
  name: string,
  actual: Pick<Tensor, 'dtype' | 'dims'>,
  reference: Pick<Tensor, 'dtype' | 'dims'>,
  tolerance: Tolerance,
): OutputAlignment {
  return {
    name,
    passed: false,
    reasons: [],
    actualDType: actual.dtype,
    referenceDType: reference.dtype,
    actualDims: [...actual.dims],
    referenceDims: [...reference.dims],
    tolerance,
    count: 0,
    maxAbsError: NaN,
    meanAbsError: NaN,
    maxRelError: NaN,
    rmse: NaN,
    cosine: NaN,
    snrDb: NaN,
    mismatchCount: 0,
    mismatchPct: 0,
    nan: { actual: 0, reference: 0 },
    inf: { actual: 0, reference: 0 },
    worst: [],
    minPassingAtol: Infinity,
    minPassingRtol: Infinity,
  };
}

/** Compares one actual tensor with its reference under `tolerance`. Pure. */
export function compare(
  actual: Tensor,
  reference: Tensor,
  tolerance: Tolerance,
  options: CompareOptions = {},
): OutputAlignment {
  const name = options.name ?? 'output';
  const ac = dtypeClass(actual.dtype);
  const rc = dtypeClass(reference.dtype);
  if (ac !== rc) {
    const out = emptyAlignment(name, actual, reference, tolerance);
    out.reasons.push(
      `dtype mismatch: actual is ${actual.dtype} (${ac}), reference is ${reference.dtype} (${rc}); ` +
        `expected both float, both integer or both bool`,
    );
    return out;
  }
  if (!sameDims(actual.dims, reference.dims)) {
    const out = emptyAlignment(name, actual, reference, tolerance);
    out.reasons.push(
      `shape mismatch: actual is [${actual.dims.join(', ')}] (${formatDims(actual.dims)}), ` +
        `reference is [${reference.dims.join(', ')}] (${formatDims(reference.dims)}); ` +
        `use --layout or the batch-dimension mapping if only the layout differs`,
    );
    return out;
  }

  const exact = ac !== 'float';
  const notes: string[] = [];
  let a: Float32Array | Float64Array;
  let r: Float32Array | Float64Array;
  let relFloor: number;
  if (exact) {
    a = toFloat64Array(actual);
    r = toFloat64Array(reference);
    relFloor = 1;
    notes.push(`${ac} dtypes compared exactly; tolerance ignored`);
  } else if (actual.dtype === 'float64' || reference.dtype === 'float64') {
    a = toFloat64Array(actual);
    r = toFloat64Array(reference);
    const eps = Math.max(machineEpsilon(actual.dtype), machineEpsilon(reference.dtype));
    relFloor = Math.max(tolerance.atol, eps);
  } else {
    a = toFloat32Array(actual);
    r = toFloat32Array(reference);
    const eps = Math.max(machineEpsilon(actual.dtype), machineEpsilon(reference.dtype));
    relFloor = Math.max(tolerance.atol, eps);
  }
  for (const [side, d] of [
    ['actual', actual.dtype],
    ['reference', reference.dtype],
  ] as const) {
    if (d === 'float16' || d === 'bfloat16') notes.push(`${side} ${d} converted to float32 for comparison`);
  }

  const worstK = options.worstK ?? 10;
  const s = scan(a, r, {
    atol: exact ? 0 : tolerance.atol,
    rtol: exact ? 0 : tolerance.rtol,
    relFloor,
    equalNan: tolerance.equalNan ?? true,
    worstK,
    histogram: options.histogram ?? true,
  });
  if (exact && (actual.dtype === 'int64' || actual.dtype === 'uint64') && (reference.dtype === 'int64' || reference.dtype === 'uint64')) {
    s.mismatchCount = exactBigIntMismatches(actual.data as BigInt64Array, reference.data as BigInt64Array);
  }

  const out = emptyAlignment(name, actual, reference, tolerance);
  fillStats(out, s, actual.dims, a, r);
  out.relFloor = relFloor;
  out.finiteCount = s.finiteCount;
  out.nonFiniteMismatchCount = s.nonFiniteMismatchCount;
  if (exact) out.exact = true;
  if (s.histogram) out.histogram = s.histogram;
  if (tolerance.topK !== undefined && tolerance.topK > 0 && actual.dims.length > 0) {
    out.topk = topKAgreement(a, r, actual.dims[actual.dims.length - 1] as number, tolerance.topK);
  }
  if (notes.length > 0) out.notes = notes;
  out.reasons = verdict(out, s, tolerance, exact);
  out.passed = out.reasons.length === 0;
  return out;
}

function exactBigIntMismatches(a: BigInt64Array | BigUint64Array, r: BigInt64Array | BigUint64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== r[i]) m++;
  return m;
}

function fillStats(
  out: OutputAlignment,
  s: ScanResult,
  dims: readonly number[],
  a: Float32Array | Float64Array,
  r: Float32Array | Float64Array,
): void {
  const nf = s.finiteCount;
  out.count = s.count;
  out.maxAbsError = s.maxAbs;
  out.meanAbsError = nf > 0 ? s.sumAbs / nf : 0;
  out.maxRelError = s.maxRel;
  out.rmse = nf > 0 ? Math.sqrt(s.sumSq / nf) : 0;
  out.cosine = cosineOf(s.sumAR, s.sumA2, s.sumR2);
  out.snrDb = s.sumSq === 0 ? Infinity : 10 * Math.log10(s.sumR2 / s.sumSq);
  out.mismatchCount = s.mismatchCount;
  out.mismatchPct = s.count > 0 ? (100 * s.mismatchCount) / s.count : 0;
  out.nan = { actual: s.nanActual, reference: s.nanReference };
  out.inf = { actual: s.infActual, reference: s.infReference };
  out.minPassingAtol = s.minPassingAtol;
  out.minPassingRtol = s.minPassingRtol;
  out.worst = s.worstFlat.map((flat): WorstElement => {
    const x = a[flat] as number;
    const y = r[flat] as number;
    return { flatIndex: flat, index: unravelIndex(flat, dims), actual: x, reference: y, absError: Math.abs(x - y) };
  });
}

function cosineOf(ar: number, a2: number, r2: number): number {
  if (a2 === 0 && r2 === 0) return 1;
  if (a2 === 0 || r2 === 0) return 0;
  return ar / Math.sqrt(a2 * r2);
}

function verdict(out: OutputAlignment, s: ScanResult, t: Tolerance, exact: boolean): string[] {
  const reasons: string[] = [];
  if (s.nonFiniteMismatchCount > 0) {
    reasons.push(
      `${s.nonFiniteMismatchCount} NaN/Inf placement(s) differ (actual: ${s.nanActual} NaN, ${s.infActual} Inf; ` +
        `reference: ${s.nanReference} NaN, ${s.infReference} Inf; equalNan=${t.equalNan ?? true})`,
    );
  }
  const finiteMismatch = s.mismatchCount - s.nonFiniteMismatchCount;
  if (exact) {
    if (finiteMismatch > 0) {
      reasons.push(
        `${finiteMismatch} of ${s.count} elements (${fmtNum(out.mismatchPct)}%) differ; ${out.actualDType}/${out.referenceDType} must match exactly ` +
          `(max abs error ${fmtNum(out.maxAbsError)})`,
      );
    }
    return reasons;
  }
  if (t.elementwise !== false && finiteMismatch > 0) {
    reasons.push(
      `${finiteMismatch} of ${s.count} elements (${fmtNum((100 * finiteMismatch) / s.count)}%) exceed ` +
        `|a - r| <= atol + rtol*|r| with atol=${fmtNum(t.atol)}, rtol=${fmtNum(t.rtol)}; max abs error ${fmtNum(out.maxAbsError)}; ` +
        `would pass with atol >= ${fmtNum(out.minPassingAtol)} (rtol=${fmtNum(t.rtol)}) or rtol >= ${fmtNum(out.minPassingRtol)} (atol=${fmtNum(t.atol)})`,
    );
  }
  if (t.cosineMin !== undefined && !(out.cosine >= t.cosineMin)) {
    reasons.push(`cosine similarity ${fmtNum(out.cosine, 8)} is below the floor ${fmtNum(t.cosineMin, 8)}`);
  }
  if (t.snrMinDb !== undefined && !(out.snrDb >= t.snrMinDb)) {
    reasons.push(`SNR ${fmtNum(out.snrDb)} dB is below the floor ${fmtNum(t.snrMinDb)} dB`);
  }
  if (out.topk && t.top1Min !== undefined && !(out.topk.top1Agreement >= t.top1Min)) {
    reasons.push(
      `top-1 agreement ${fmtNum(out.topk.top1Agreement)} over ${out.topk.rows} rows is below the floor ${fmtNum(t.top1Min)}`,
    );
  }
  return reasons;
}

/** Indices of the k largest values of row [start, start+len), largest first; ties to the lower index, NaN ranks lowest. */
function topIndices(v: Float32Array | Float64Array, start: number, len: number, k: number, idx: Int32Array, val: Float64Array): void {
  let size = 0;
  for (let j = 0; j < len; j++) {
    let x = v[start + j] as number;
    if (x !== x) x = -Infinity;
    if (size === k && !(x > (val[k - 1] as number))) continue;
    let p = size < k ? size++ : k - 1;
    while (p > 0 && x > (val[p - 1] as number)) {
      val[p] = val[p - 1] as number;
      idx[p] = idx[p - 1] as number;
      p--;
    }
    val[p] = x;
    idx[p] = j;
  }
}

/**
 * Top-1 and top-k agreement along the last axis. top1Agreement: fraction of rows whose argmax
 * is the same; topkAgreement: mean over rows of |topk(a) ∩ topk(r)| / k.
 */
export function topKAgreement(
  a: Float32Array | Float64Array,
  r: Float32Array | Float64Array,
  lastDim: number,
  kWanted: number,
): { k: number; top1Agreement: number; topkAgreement: number; rows: number } {
  const k = Math.max(1, Math.min(Math.floor(kWanted), lastDim));
  const rows = lastDim > 0 ? a.length / lastDim : 0;
  const ia = new Int32Array(k);
  const ir = new Int32Array(k);
  const va = new Float64Array(k);
  const vr = new Float64Array(k);
  let top1 = 0;
  let overlap = 0;
  for (let row = 0; row < rows; row++) {
    topIndices(a, row * lastDim, lastDim, k, ia, va);
    topIndices(r, row * lastDim, lastDim, k, ir, vr);
    if (ia[0] === ir[0]) top1++;
    for (let u = 0; u < k; u++) for (let w = 0; w < k; w++) if (ia[u] === ir[w]) overlap++;
  }
  return {
    k,
    rows,
    top1Agreement: rows > 0 ? top1 / rows : 1,
    topkAgreement: rows > 0 ? overlap / (rows * k) : 1,
  };
}
