/**
 * `benchalign align`'s core: read both sides, reconcile, compare every reference tensor.
 */
import { BenchalignError } from '../errors.js';
import { readTensors } from '../tensors/read.js';
import type { NamedTensors } from '../tensors/tensor.js';
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
  /** Tensor names left out of the comparison on both sides (`--ignore`), e.g. inputs saved in the reference file. */
  ignore?: string[];
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
  /** Tensor names left out on purpose (`--ignore`). */
  ignored: string[];
  /** True when every output passed and none is missing. */
  passed: boolean;
}

export async function alignFiles(actualPath: string, referencePath: string, options: AlignFilesOptions = {}): Promise<AlignReport> {
  const [act, ref] = await Promise.all([readTensors(actualPath), readTensors(referencePath)]);
  const precision = options.precision ?? 'fp32';
  const ignore = options.ignore ?? [];
  for (const name of ignore) {
    if (!act.tensors.has(name) && !ref.tensors.has(name)) {
      throw new BenchalignError('E_USAGE', `--ignore ${name}: no tensor of that name in either file`, { expected: `one of ${[...new Set([...ref.tensors.keys(), ...act.tensors.keys()])].join(', ')}` });
    }
  }
  const keep = (t: NamedTensors): NamedTensors => new Map([...t].filter(([n]) => !ignore.includes(n)));
  const r = alignTensors(keep(act.tensors), keep(ref.tensors), {
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
    ignored: ignore.filter((n) => act.tensors.has(n) || ref.tensors.has(n)),
    passed: r.missing.length === 0 && r.outputs.every((o) => o.passed),
  };
}
