/**
 * build.json: what a TensorRT plan build applied, written next to the cached plan (by the
 * Python builder, or by the runner for trtexec builds) and read back when the plan is loaded.
 */
import { readFileSync } from 'node:fs';
import { BenchalignError } from '../../errors.js';
import type { TensorMeta } from '../../model/model-ref.js';
import type { ShapeProfile, TrtPrecisionPlan } from './options.js';

/** The availability reason of a machine without TensorRT or without an NVIDIA GPU. */
export const NEEDS_TENSORRT = 'needs tensorrt and an NVIDIA GPU';

export interface BuildInfo {
  backend: 'python' | 'trtexec';
  /** TensorRT version that built the plan. */
  tensorrt: string;
  precision: TrtPrecisionPlan;
  builderFlags: { set: string[]; cleared: string[] };
  profiles: Record<string, ShapeProfile>;
  /** Model inputs and outputs (from the ONNX graph). */
  inputs: TensorMeta[];
  outputs: TensorMeta[];
  notes: string[];
  workspaceMiB?: number;
  builderOptimizationLevel: number;
}

/** Reads a build.json; throws E_IO/E_TENSOR_FORMAT naming the file and the bad field. */
export function readBuildInfo(path: string): BuildInfo {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new BenchalignError('E_IO', `cannot read the plan's build record: ${(e as Error).message}`, { file: path, expected: 'build.json written with the plan' });
  }
  const d = (doc ?? {}) as Record<string, unknown>;
  const bad = (field: string, want: string): never => {
    throw new BenchalignError('E_TENSOR_FORMAT', `build.json ${field}: expected ${want}`, { file: path });
  };
  const p = (d.precision ?? {}) as Record<string, unknown>;
  if (typeof p.effectivePrecision !== 'string') bad('precision.effectivePrecision', 'a string');
  if (!Array.isArray(p.notes)) bad('precision.notes', 'a list');
  if (!Array.isArray(d.inputs) || !Array.isArray(d.outputs)) bad('inputs/outputs', 'lists of {name, dtype, dims}');
  if (d.profiles === null || typeof d.profiles !== 'object') bad('profiles', 'an object');
  return {
    backend: d.backend === 'python' ? 'python' : 'trtexec',
    tensorrt: String(d.tensorrt ?? ''),
    precision: p as unknown as TrtPrecisionPlan,
    builderFlags: (d.builderFlags as BuildInfo['builderFlags']) ?? { set: [], cleared: [] },
    profiles: d.profiles as Record<string, ShapeProfile>,
    inputs: d.inputs as TensorMeta[],
    outputs: d.outputs as TensorMeta[],
    notes: Array.isArray(d.notes) ? (d.notes as string[]) : [],
    ...(typeof d.workspaceMiB === 'number' ? { workspaceMiB: d.workspaceMiB } : {}),
    builderOptimizationLevel: typeof d.builderOptimizationLevel === 'number' ? d.builderOptimizationLevel : 3,
  };
}

/**
 * The TensorRT version in trtexec's banner (`&&&& RUNNING TensorRT.trtexec [TensorRT v100300]`):
 * NV_TENSORRT_VERSION is major*1000 + minor*100 + patch up to TensorRT 9, and
 * major*10000 + minor*100 + patch from TensorRT 10.
 */
export function tensorRtVersionFromBanner(text: string): string | undefined {
  const m = /TensorRT v(\d{4,6})\b/.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  const major = n >= 100000 ? Math.floor(n / 10000) : Math.floor(n / 1000);
  const rest = n >= 100000 ? n % 10000 : n % 1000;
  return `${major}.${Math.floor(rest / 100)}.${rest % 100}`;
}
