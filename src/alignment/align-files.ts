/**
 * `benchalign align`'s core: read both sides, reconcile, compare every reference tensor.
 */
import { readTensors } from '../tensors/read.js';
import { alignTensors, type LayoutMode } from './layout.js';
import { resolveTolerance, type AlignPrecision, type ToleranceOverrides } from './tolerances.js';
import type { OutputAlignment } from '../model/alignment.js';

export interface AlignFilesOptions {
  /** Default fp32. */
  precision?: AlignPrecision;
  /** Per-output overrides (`'*'` for all), applied over the precision defaults. */
  overrides?: ToleranceOverrides;
  /** Actual name -> reference name. */
  map?: Record<string, string>;
  matchBy?: 'name' | 'index';
  /** Default `nchw` (actual as is). */
  layout?: LayoutMode;
  /** Worst elements to keep per output. Default 10. */
  worstK?: number;
}

/** The whole result of one `align` run. */
export interface AlignReport {
  actual: { path: string; format: string; names: string[] };
  reference: { path: string; format: string; names: string[] };
  precision: AlignPrecision;
  outputs: OutputAlignment[];
  /** Actual tensors not compared. */
  extraActual: string[];
  /** Reference tensors with no actual partner: each one a failure. */
  missing: string[];
  /** True when every output passed and none is missing. */
  passed: boolean;
}

export async function alignFiles(actualPath: string, referencePath: string, options: AlignFilesOptions = {}): Promise<AlignReport> {
  const [act, ref] = await Promise.all([readTensors(actualPath), readTensors(referencePath)]);
  const precision = options.precision ?? 'fp32';
  const r = alignTensors(act.tensors, ref.tensors, {
    tolerance: (name) => resolveTolerance(precision, name, options.overrides ?? {}),
    ...(options.map ? { map: options.map } : {}),
    ...(options.matchBy ? { matchBy: options.matchBy } : {}),
    ...(options.layout ? { layout: options.layout } : {}),
    ...(options.worstK !== undefined ? { worstK: options.worstK } : {}),
  });
  return {
    actual: { path: actualPath, format: act.format, names: [...act.tensors.keys()] },
    reference: { path: referencePath, format: ref.format, names: [...ref.tensors.keys()] },
    precision,
    outputs: r.outputs,
    extraActual: r.extraActual,
    missing: r.missing,
    passed: r.missing.length === 0 && r.outputs.every((o) => o.passed),
  };
}
