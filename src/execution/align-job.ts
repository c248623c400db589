/** Alignment of one job's outputs against its references, with the suite's per-output settings. */
import type { Job } from '../model/job.js';
import { outputSettings } from '../suite/matrix.js';
import type { NamedTensors } from '../tensors/tensor.js';
import { emptyAlignment } from '../alignment/compare.js';
import { alignTensors } from '../alignment/layout.js';
import { resolveTolerance, type AlignPrecision } from '../alignment/tolerances.js';
import type { DType } from '../tensors/dtype.js';
import type { OutputAlignment, Tolerance } from '../model/alignment.js';

const LOOSENESS: readonly AlignPrecision[] = ['fp32', 'bf16', 'fp16', 'int8'];

/**
 * The precision whose defaults apply to one output: the job's, or the reference's own when
 * that is coarser (a float16 reference cannot be held to fp32 tolerances).
 */
export function outputPrecision(jobPrecision: AlignPrecision, referenceDType: DType | undefined): AlignPrecision {
  const own: AlignPrecision | undefined = referenceDType === 'float16' ? 'fp16' : referenceDType === 'bfloat16' ? 'bf16' : undefined;
  if (own === undefined) return jobPrecision;
  return LOOSENESS.indexOf(own) > LOOSENESS.indexOf(jobPrecision) ? own : jobPrecision;
}

function toleranceFor(job: Job, name: string, referenceDType?: DType): Tolerance {
  const { compare: _compare, ...overrides } = outputSettings(job, name);
  return resolveTolerance(outputPrecision(job.engine.precision, referenceDType), name, { [name]: overrides });
}

/** A failed entry for a reference output the engine did not produce. */
function missingOutput(job: Job, name: string, reference: NamedTensors, available: string[]): OutputAlignment {
  const r = reference.get(name);
  const refShape = r ?? { dtype: 'float32' as const, dims: [] };
  const a = emptyAlignment(name, { dtype: refShape.dtype, dims: [] }, refShape, toleranceFor(job, name, r?.dtype));
  a.reasons.push(`the engine produced no output "${name}" (it produced: ${available.join(', ') || 'nothing'})`);
  a.mismatchCount = r ? r.data.length : 0;
  a.mismatchPct = 100;
  return a;
}

/** Compares every reference output (except those with `compare: false`) with the engine's. */
export function alignJobOutputs(job: Job, outputs: NamedTensors, reference: NamedTensors): OutputAlignment[] {
  const wanted: NamedTensors = new Map([...reference].filter(([name]) => outputSettings(job, name).compare !== false));
  const res = alignTensors(outputs, wanted, { tolerance: (name) => toleranceFor(job, name, wanted.get(name)?.dtype) });
  const missing = res.missing.map((name) => missingOutput(job, name, wanted, res.availableActual));
  return [...res.outputs, ...missing];
}

