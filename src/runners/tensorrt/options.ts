/**
 * TensorRT engine options, the precision mapping and the optimization profiles. Pure; shared
 * by the runner (plan cache key, build spec) and the trtexec backend (argv). The Python
 * worker applies the same precision table (runner-agents/python/benchalign_worker/tensorrt_worker.py).
 */
import { BenchalignError } from '../../errors.js';
import type { Precision } from '../../model/record.js';
import type { ModelValueInfo } from '../../tensors/inspect.js';

export const TRT_BACKENDS = ['auto', 'python', 'trtexec'] as const;
export type TrtBackend = (typeof TRT_BACKENDS)[number];

/** One optimization profile entry: the shapes TensorRT builds an input for. */
export interface ShapeProfile {
  min: number[];
  opt: number[];
  max: number[];
}

/** TensorRT options, all optional in a suite. */
export interface TrtOptions {
  /**
   * `python`: the TensorRT Python API (pip tensorrt + cuda-python) in a Python worker;
   * `trtexec`: drive the trtexec program; `auto` (default): python when importable, else trtexec.
   */
  backend: TrtBackend;
  /** CUDA device index. Default 0. */
  device: number;
  /**
   * Allow TF32 for fp32 layers (TensorRT allows it by default). Default false: a fp32 job
   * builds with TF32 cleared, so it compares as fp32.
   */
  tf32: boolean;
  /** Builder workspace pool limit, MiB. Default: TensorRT's (the device memory). */
  workspaceMiB?: number;
  /** Builder optimization level 0..5. Default 3 (TensorRT's default). */
  builderOptimizationLevel: number;
  /** Largest batch the profile of a dynamic batch dim allows (min 1). Default: the pinned batch. */
  maxBatchSize?: number;
  /** Explicit profiles by input name, for inputs with dynamic dims. */
  profiles?: Record<string, ShapeProfile>;
  /** The trtexec program. Default: TRTEXEC, else `trtexec` on PATH. */
  trtexecPath?: string;
  /**
   * python backend: what a latency sample is. `host` (default): perf_counter_ns around H2D +
   * execute + D2H + synchronize; `events`: the CUDA-event time of H2D + compute + D2H, like
   * trtexec's latencyMs. The trtexec backend always reports trtexec's.
   */
  timing: 'host' | 'events';
}

export const TRT_DEFAULTS: TrtOptions = { backend: 'auto', device: 0, tf32: false, builderOptimizationLevel: 3, timing: 'host' };

const KEYS = ['backend', 'device', 'tf32', 'workspaceMiB', 'builderOptimizationLevel', 'maxBatchSize', 'profiles', 'trtexecPath', 'timing'];

function isDims(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 0);
}

/** Validates `raw` and fills defaults; throws E_CONFIG listing every problem, each with its key. */
export function parseTrtOptions(raw: Record<string, unknown>): TrtOptions {
  const problems: string[] = [];
  const out: TrtOptions = { ...TRT_DEFAULTS };
  for (const key of Object.keys(raw)) {
    if (!KEYS.includes(key)) problems.push(`options.${key}: unknown option (expected one of ${KEYS.join('|')})`);
  }
  const int = (key: 'device' | 'workspaceMiB' | 'builderOptimizationLevel' | 'maxBatchSize', min: number, max: number): number | undefined => {
    const v = raw[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      problems.push(`options.${key}: expected an integer ${min}..${max}, got ${JSON.stringify(v)}`);
      return undefined;
    }
    return v;
  };
  if (raw.backend !== undefined) {
    if (!(TRT_BACKENDS as readonly unknown[]).includes(raw.backend)) problems.push(`options.backend: expected one of ${TRT_BACKENDS.join('|')}, got ${JSON.stringify(raw.backend)}`);
    else out.backend = raw.backend as TrtBackend;
  }
  out.device = int('device', 0, 63) ?? out.device;
  out.builderOptimizationLevel = int('builderOptimizationLevel', 0, 5) ?? out.builderOptimizationLevel;
  const ws = int('workspaceMiB', 1, 1 << 24);
  if (ws !== undefined) out.workspaceMiB = ws;
  const mb = int('maxBatchSize', 1, 1 << 20);
  if (mb !== undefined) out.maxBatchSize = mb;
  if (raw.tf32 !== undefined) {
    if (typeof raw.tf32 !== 'boolean') problems.push(`options.tf32: expected true or false, got ${JSON.stringify(raw.tf32)}`);
    else out.tf32 = raw.tf32;
  }
  if (raw.timing !== undefined) {
    if (raw.timing !== 'host' && raw.timing !== 'events') problems.push(`options.timing: expected one of host|events, got ${JSON.stringify(raw.timing)}`);
    else out.timing = raw.timing;
  }
  if (raw.trtexecPath !== undefined) {
    if (typeof raw.trtexecPath !== 'string' || raw.trtexecPath === '') problems.push(`options.trtexecPath: expected a program path, got ${JSON.stringify(raw.trtexecPath)}`);
    else out.trtexecPath = raw.trtexecPath;
  }
  if (raw.profiles !== undefined) {
    const p = raw.profiles;
    if (p === null || typeof p !== 'object' || Array.isArray(p)) {
      problems.push('options.profiles: expected {inputName: {min, opt, max}}');
    } else {
      const profiles: Record<string, ShapeProfile> = {};
      for (const [name, spec] of Object.entries(p as Record<string, unknown>)) {
        const s = (spec ?? {}) as Record<string, unknown>;
        if (!isDims(s.min) || !isDims(s.opt) || !isDims(s.max)) {
          problems.push(`options.profiles.${name}: expected {min, opt, max}, each a list of non-negative integers`);
          continue;
        }
        if (s.min.length !== s.opt.length || s.opt.length !== s.max.length) {
          problems.push(`options.profiles.${name}: min, opt and max must have the same rank`);
          continue;
        }
        if (s.min.some((d, i) => d > (s.opt as number[])[i]! || (s.opt as number[])[i]! > (s.max as number[])[i]!)) {
          problems.push(`options.profiles.${name}: expected min <= opt <= max in every dim, got min [${s.min.join(',')}] opt [${s.opt.join(',')}] max [${s.max.join(',')}]`);
          continue;
        }
        profiles[name] = { min: [...s.min], opt: [...s.opt], max: [...s.max] };
      }
      out.profiles = profiles;
    }
  }
  if (problems.length > 0) throw new BenchalignError('E_CONFIG', `invalid tensorrt options:\n  ${problems.join('\n  ')}`);
  return out;
}

/** The builder flags for a job, and the precision it is recorded as. */
export interface TrtPrecisionPlan {
  fp16: boolean;
  bf16: boolean;
  int8: boolean;
  /** Whether TF32 stays allowed (TensorRT's default); false = the TF32 flag is cleared. */
  tf32: boolean;
  effectivePrecision: string;
  notes: string[];
}

/**
 * The precision table. TensorRT builds weakly typed networks: the FP16/BF16/INT8 flags allow
 * (not force) those kernels, and TF32 is allowed unless cleared. `hasQdq`: the model has
 * QuantizeLinear/DequantizeLinear nodes (int8 needs them: no calibrator is used).
 */
export function trtPrecisionPlan(precision: Precision, tf32: boolean, hasQdq: boolean): TrtPrecisionPlan {
  const notes: string[] = [];
  const plan: TrtPrecisionPlan = { fp16: false, bf16: false, int8: false, tf32, effectivePrecision: precision, notes };
  if (precision === 'fp16') plan.fp16 = true;
  if (precision === 'bf16') plan.bf16 = true;
  if (precision === 'int8') {
    plan.int8 = true;
    if (!hasQdq) {
      plan.effectivePrecision = 'fp32';
      notes.push('asked for int8, but the model has no Q/DQ nodes and no calibrator is used: TensorRT has no int8 scales and runs the layers in fp32');
    }
  }
  if (precision !== 'fp32') notes.push(`TensorRT may still pick fp32 kernels for some layers of a ${precision} build where they are faster (weakly typed network)`);
  if (tf32) {
    if (precision === 'fp32') plan.effectivePrecision = 'tf32';
    notes.push('TF32 allowed (options.tf32): fp32 convolutions and matmuls round their inputs to a 10-bit mantissa on Ampere and newer GPUs');
  }
  return plan;
}

function isDynamic(shape: ModelValueInfo['shape']): boolean {
  return shape === null || shape.some((d) => typeof d !== 'number' || d < 0);
}

export interface ProfilePlan {
  /** Profiles of the dynamic inputs (static inputs need none). */
  profiles: Record<string, ShapeProfile>;
  notes: string[];
}

/**
 * The optimization profile (one) for the model's dynamic inputs: `options.profiles` when
 * given, else the suite's pinned shape as min = opt = max (a dynamic batch dim then spans
 * 1..maxBatchSize), else batch 1 when only the batch dim is dynamic. Throws E_SHAPE naming
 * every input it cannot build for.
 */
export function optimizationProfiles(inputs: readonly ModelValueInfo[], pinned: Record<string, number[]> | undefined, options: TrtOptions): ProfilePlan {
  const problems: string[] = [];
  const notes: string[] = [];
  const profiles: Record<string, ShapeProfile> = {};
  const names = new Set(inputs.map((i) => i.name));
  for (const n of Object.keys(pinned ?? {})) if (!names.has(n)) problems.push(`shapes.${n}: the model has no input ${n} (inputs: ${[...names].join(', ')})`);
  for (const n of Object.keys(options.profiles ?? {})) if (!names.has(n)) problems.push(`options.profiles.${n}: the model has no input ${n} (inputs: ${[...names].join(', ')})`);
  for (const input of inputs) {
    const dims = input.shape;
    const shown = `[${(dims ?? ['?']).map((d) => d ?? '?').join(', ')}]`;
    const pin = pinned?.[input.name];
    const given = options.profiles?.[input.name];
    const fits = (s: number[]): boolean => dims === null || (s.length === dims.length && s.every((d, i) => typeof dims[i] !== 'number' || (dims[i] as number) < 0 || dims[i] === d));
    if (!isDynamic(dims)) {
      if (pin && !fits(pin)) problems.push(`shapes.${input.name}: [${pin.join(', ')}] does not match the model's static shape ${shown}`);
      if (given) problems.push(`options.profiles.${input.name}: the input has the static shape ${shown} and needs no profile`);
      continue;
    }
    if (given) {
      for (const [k, s] of Object.entries(given)) if (!fits(s as number[])) problems.push(`options.profiles.${input.name}.${k}: [${(s as number[]).join(', ')}] does not fit the model's shape ${shown}`);
      if (pin && pin.some((d, i) => d < given.min[i]! || d > given.max[i]!)) problems.push(`shapes.${input.name}: [${pin.join(', ')}] is outside options.profiles.${input.name} (min..max)`);
      profiles[input.name] = given;
      continue;
    }
    let opt: number[] | undefined;
    if (pin) {
      if (!fits(pin)) {
        problems.push(`shapes.${input.name}: [${pin.join(', ')}] does not fit the model's shape ${shown}`);
        continue;
      }
      opt = [...pin];
    } else if (dims !== null && dims.slice(1).every((d) => typeof d === 'number' && d >= 0)) {
      opt = [1, ...(dims.slice(1) as number[])];
      notes.push(`input ${input.name} ${shown}: no pinned shape, profile built for batch 1`);
    } else {
      problems.push(`input ${input.name} has dynamic dims ${shown}: pin its shape in the suite (models[].shapes.${input.name}) or give options.profiles.${input.name}`);
      continue;
    }
    const min = [...opt];
    const max = [...opt];
    const batchDynamic = dims !== null && (typeof dims[0] !== 'number' || dims[0] < 0);
    if (batchDynamic && options.maxBatchSize !== undefined && opt.length > 0) {
      min[0] = 1;
      max[0] = Math.max(options.maxBatchSize, opt[0]!);
    }
    profiles[input.name] = { min, opt, max };
  }
  if (problems.length > 0) throw new BenchalignError('E_SHAPE', `tensorrt: cannot build an optimization profile:\n  ${problems.join('\n  ')}`, { expected: 'static inputs, pinned shapes or options.profiles' });
  return { profiles, notes };
}

/** `name:AxBxC` for trtexec's shape specs; names with a colon are single-quoted. */
export function trtexecShapeSpec(shapes: Record<string, readonly number[]>): string {
  return Object.entries(shapes)
    .map(([name, dims]) => `${trtexecName(name)}:${dims.length === 0 ? 'scalar' : dims.join('x')}`)
    .join(',');
}

/** A tensor name as trtexec's specs take it; throws E_UNSUPPORTED for names its spec syntax cannot carry. */
export function trtexecName(name: string): string {
  if (name === '' || /[',]/.test(name)) {
    throw new BenchalignError('E_UNSUPPORTED', `tensorrt (trtexec): tensor name ${JSON.stringify(name)} cannot be written in a trtexec spec`, {
      expected: 'tensor names without quotes or commas (or the python backend)',
    });
  }
  return name.includes(':') ? `'${name}'` : name;
}
