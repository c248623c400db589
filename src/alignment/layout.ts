/**
 * Explicit reconciliation of names and layouts before comparing: which actual tensor answers
 * which reference tensor, a leading batch dimension of size 1, and NHWC -> NCHW. Every step
 * applied is recorded in the output's AppliedMapping; nothing is changed silently.
 */
import { BenchalignError } from '../errors.js';
import { DTYPE_CTOR, type DTypeDataMap } from '../tensors/dtype.js';
import { makeTensor, type NamedTensors, type Tensor } from '../tensors/tensor.js';
import { compare, type CompareOptions } from './compare.js';
import type { AppliedMapping, OutputAlignment, Tolerance } from '../model/alignment.js';

/**
 * Layout of the actual tensors relative to the reference (PyTorch, NCHW):
 * `nchw` = as is (default); `nhwc` = transpose every rank-4 actual NHWC -> NCHW;
 * `auto` = transpose only where the shapes as they are differ and NHWC -> NCHW makes them equal.
 */
export type LayoutMode = 'nchw' | 'nhwc' | 'auto';

export interface AlignTensorsOptions extends Omit<CompareOptions, 'name'> {
  /** Tolerance for each output (by reference name), or one for all. */
  tolerance: Tolerance | ((referenceName: string) => Tolerance);
  /** Actual name -> reference name (`--map actual=reference`). */
  map?: Record<string, string>;
  /**
   * `name` (default): by name and `map`; when exactly one reference and one actual tensor
   * are left unmatched, they are paired by index (recorded). `index`: i-th with i-th.
   */
  matchBy?: 'name' | 'index';
  /** Default `nchw`. */
  layout?: LayoutMode;
  /** Add/drop a leading batch dimension of size 1 when that makes the shapes equal. Default true. */
  batch?: boolean;
}

export interface AlignTensorsResult {
  /** One per matched reference tensor, in reference order. */
  outputs: OutputAlignment[];
  /** Actual tensors no reference asked for (listed, ignored). */
  extraActual: string[];
  /** Reference tensors with no actual tensor (failures). */
  missing: string[];
  /** Names on the actual side, for the "missing" message. */
  availableActual: string[];
}

function sameDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** NHWC -> NCHW copy of a rank-4 tensor. */
export function nhwcToNchw(t: Tensor): Tensor {
  const [n, h, w, c] = t.dims as [number, number, number, number];
  const src = t.data as unknown as { [i: number]: number | bigint; length: number };
  const out = new DTYPE_CTOR[t.dtype](src.length) as unknown as { [i: number]: number | bigint };
  let o = 0;
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      for (let y = 0; y < h; y++) {
        let s = ((b * h + y) * w) * c + ch;
        for (let x = 0; x < w; x++, s += c) out[o++] = src[s] as number | bigint;
      }
    }
  }
  return makeTensor(t.dtype, [n, c, h, w], out as unknown as DTypeDataMap[typeof t.dtype]);
}

function nchwDimsOf(dims: readonly number[]): number[] {
  const [n, h, w, c] = dims as [number, number, number, number];
  return [n, c, h, w];
}

/**
 * Reconciles the layout of one actual tensor with its reference; returns the tensor to
 * compare and the steps applied.
 */
export function reconcileLayout(
  actual: Tensor,
  reference: Tensor,
  layout: LayoutMode = 'nchw',
  batch = true,
): { tensor: Tensor; steps: string[] } {
  let t = actual;
  const steps: string[] = [];
  const want = reference.dims;
  const fixBatch = (): void => {
    if (!batch || sameDims(t.dims, want)) return;
    if (t.dims.length === want.length + 1 && t.dims[0] === 1) {
      const dims = t.dims.slice(1);
      if (sameDims(dims, want)) {
        t = makeTensor(t.dtype, dims, t.data);
        steps.push('dropped leading batch dim of size 1');
      }
    } else if (t.dims.length + 1 === want.length && want[0] === 1) {
      t = makeTensor(t.dtype, [1, ...t.dims], t.data);
      steps.push('added leading batch dim of size 1');
    }
  };
  fixBatch();
  if (t.dims.length === 4 && (layout === 'nhwc' || (layout === 'auto' && !sameDims(t.dims, want) && sameDims(nchwDimsOf(t.dims), want)))) {
    const from = t.dims.join('x');
    t = nhwcToNchw(t);
    steps.push(`NHWC->NCHW (${from} -> ${t.dims.join('x')})${layout === 'auto' ? ' [auto: only permutation matching the reference shape]' : ''}`);
  }
  if (batch && steps.length > 0 && !sameDims(t.dims, want)) fixBatch();
  return { tensor: t, steps };
}

/**
 * Pairs every reference tensor with an actual tensor and compares them. Reference tensors
 * without a partner are returned in `missing`; unused actual tensors in `extraActual`.
 */
export function alignTensors(actual: NamedTensors, reference: NamedTensors, options: AlignTensorsOptions): AlignTensorsResult {
  const actualNames = [...actual.keys()];
  const refNames = [...reference.keys()];
  const byRef = new Map<string, { actual: string; by: AppliedMapping['name']['by'] }>();
  const used = new Set<string>();
  if (options.matchBy === 'index') {
    refNames.forEach((rn, i) => {
      const an = actualNames[i];
      if (an !== undefined) {
        byRef.set(rn, { actual: an, by: 'index' });
        used.add(an);
      }
    });
  } else {
    for (const [an, rn] of Object.entries(options.map ?? {})) {
      if (!actual.has(an)) {
        throw new BenchalignError('E_USAGE', `--map ${an}=${rn}: no actual tensor named "${an}"`, {
          expected: `one of ${actualNames.join(', ') || '(none)'}`,
        });
      }
      if (!reference.has(rn)) {
        throw new BenchalignError('E_USAGE', `--map ${an}=${rn}: no reference tensor named "${rn}"`, {
          expected: `one of ${refNames.join(', ') || '(none)'}`,
        });
      }
      byRef.set(rn, { actual: an, by: 'map' });
      used.add(an);
    }
    for (const rn of refNames) {
      if (!byRef.has(rn) && actual.has(rn) && !used.has(rn)) {
        byRef.set(rn, { actual: rn, by: 'name' });
        used.add(rn);
      }
    }
    const leftRef = refNames.filter((rn) => !byRef.has(rn));
    const leftAct = actualNames.filter((an) => !used.has(an));
    const onlyRef = leftRef[0];
    const onlyAct = leftAct[0];
    if (leftRef.length === 1 && leftAct.length === 1 && onlyRef !== undefined && onlyAct !== undefined) {
      byRef.set(onlyRef, { actual: onlyAct, by: 'index' });
      used.add(onlyAct);
    }
  }

  const outputs: OutputAlignment[] = [];
  const missing: string[] = [];
  for (const rn of refNames) {
    const m = byRef.get(rn);
    const ref = reference.get(rn) as Tensor;
    if (m === undefined) {
      missing.push(rn);
      continue;
    }
    const { tensor, steps } = reconcileLayout(actual.get(m.actual) as Tensor, ref, options.layout ?? 'nchw', options.batch ?? true);
    const tol = typeof options.tolerance === 'function' ? options.tolerance(rn) : options.tolerance;
    const cmpOpts: CompareOptions = { name: rn };
    if (options.worstK !== undefined) cmpOpts.worstK = options.worstK;
    if (options.histogram !== undefined) cmpOpts.histogram = options.histogram;
    const out = compare(tensor, ref, tol, cmpOpts);
    out.mapping = { name: { reference: rn, actual: m.actual, by: m.by }, layout: steps };
    outputs.push(out);
  }
  return { outputs, extraActual: actualNames.filter((an) => !used.has(an)), missing, availableActual: actualNames };
}
