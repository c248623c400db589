/**
 * What alignment produces for one output. Everything here is a number or a plain value:
 * the verdict carries its evidence.
 */
import type { DType } from '../tensors/dtype.js';

/** Pass rule for one output: `|a - r| <= atol + rtol * |r|`, plus optional floors. */
export interface Tolerance {
  atol: number;
  rtol: number;
  /** Minimum cosine similarity; unset means not checked. */
  cosineMin?: number;
  /** Minimum SNR in dB; unset means not checked. */
  snrMinDb?: number;
  /** Skip the elementwise rule (int8 default: floors only). */
  elementwise?: boolean;
  /** Treat NaN == NaN as equal. Default true. */
  equalNan?: boolean;
  /** Check top-1/top-k agreement along the last axis (logits/probabilities). */
  topK?: number;
  /** Minimum top-1 agreement in [0, 1], when `topK` is set. */
  top1Min?: number;
}

export interface WorstElement {
  /** Flat index in C order. */
  flatIndex: number;
  /** Multi-dimensional index. */
  index: number[];
  actual: number;
  reference: number;
  absError: number;
}

/** Explicit layout/name reconciliation that was applied before comparing. */
export interface AppliedMapping {
  /**
   * Reference name -> actual name, and how it was found: by equal names, by an explicit map,
   * by position, or by the engine's worker (which renames its blobs back, e.g. ncnn's out0).
   */
  name: { reference: string; actual: string; by: 'name' | 'map' | 'index' | 'engine' };
  /** Transformations applied to `actual`, in order, e.g. "added batch dim", "NHWC->NCHW". */
  layout: string[];
}

export interface OutputAlignment {
  name: string;
  passed: boolean;
  /** Why it did not pass; empty when passed. */
  reasons: string[];
  mapping?: AppliedMapping;
  actualDType: DType;
  referenceDType: DType;
  actualDims: number[];
  referenceDims: number[];
  tolerance: Tolerance;
  /** Number of elements compared. */
  count: number;
  maxAbsError: number;
  meanAbsError: number;
  /** max |a - r| / max(|r|, tiny) where tiny keeps it finite near zero. */
  maxRelError: number;
  rmse: number;
  cosine: number;
  snrDb: number;
  mismatchCount: number;
  mismatchPct: number;
  nan: { actual: number; reference: number };
  inf: { actual: number; reference: number };
  worst: WorstElement[];
  /** Smallest atol that would have passed with the given rtol. */
  minPassingAtol: number;
  /** Smallest rtol that would have passed with the given atol (Infinity if none). */
  minPassingRtol: number;
  /** Top-1 / top-k agreement along the last axis, when asked for. */
  topk?: { k: number; top1Agreement: number; topkAgreement: number; rows: number };
  /**
   * Histogram of |a - r| over finite pairs in log10 decades: `counts[i]` counts errors in
   * `[edges[i], edges[i + 1])`. `edges[0]` is 0 and the others are powers of ten from the
   * decade of the smallest non-zero error up, so the first bin holds exactly the zero errors.
   */
  histogram?: { edges: number[]; counts: number[] };
  /** Elements where both sides are finite: the error statistics are computed over these. */
  finiteCount?: number;
  /** NaN/Inf placements that differ between the sides (always a failure). */
  nonFiniteMismatchCount?: number;
  /** The floor of the max-rel-error denominator: `max(|r|, relFloor)`. */
  relFloor?: number;
  /** True for integer/bool outputs: compared exactly, tolerance ignored. */
  exact?: boolean;
  /** Remarks for the report (e.g. "fp16 converted to float32", "tolerance ignored"). */
  notes?: string[];
}
