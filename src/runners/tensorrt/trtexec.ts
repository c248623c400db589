/**
 * Driving trtexec: argv arrays (never a shell) for building a plan and running it, and
 * defensive parsers of its `--exportTimes` and `--exportOutput` JSON.
 *
 * --exportTimes writes one object per iteration (warm-up iterations included), times in
 * milliseconds on one host clock: startEnqMs, endEnqMs, startH2dMs, endH2dMs,
 * startComputeMs, endComputeMs, startD2hMs, endD2hMs, and the intervals h2dMs, computeMs,
 * d2hMs (from CUDA events), latencyMs (= h2dMs + computeMs + d2hMs) and endToEndMs.
 * --exportOutput writes `[{"name": "...", "dimensions": "1x10", "values": [ ... ]}]`, the
 * values printed by a C++ ostream (6 significant digits; NaN and infinities as bare `nan`,
 * `inf`, which is not JSON).
 */
import { BenchalignError } from '../../errors.js';
import { DTYPE_CTOR, type DType, type DTypeDataMap } from '../../tensors/dtype.js';
import { makeTensor, type Tensor } from '../../tensors/tensor.js';
import { trtexecName, trtexecShapeSpec, type ShapeProfile, type TrtOptions, type TrtPrecisionPlan } from './options.js';

export interface TrtexecBuild {
  trtexec: string;
  onnxPath: string;
  planPath: string;
  precision: TrtPrecisionPlan;
  profiles: Record<string, ShapeProfile>;
  options: TrtOptions;
}

/** argv that builds and saves a plan from ONNX, without running inference. */
export function trtexecBuildArgv(b: TrtexecBuild): string[] {
  const argv = [b.trtexec, `--onnx=${b.onnxPath}`, `--saveEngine=${b.planPath}`, '--skipInference', `--device=${b.options.device}`];
  if (b.precision.fp16) argv.push('--fp16');
  if (b.precision.bf16) argv.push('--bf16');
  if (b.precision.int8) argv.push('--int8');
  if (!b.precision.tf32) argv.push('--noTF32');
  argv.push(`--builderOptimizationLevel=${b.options.builderOptimizationLevel}`);
  if (b.options.workspaceMiB !== undefined) argv.push(`--memPoolSize=workspace:${b.options.workspaceMiB}`);
  const names = Object.keys(b.profiles);
  if (names.length > 0) {
    const pick = (k: keyof ShapeProfile) => trtexecShapeSpec(Object.fromEntries(names.map((n) => [n, b.profiles[n]![k]])));
    argv.push(`--minShapes=${pick('min')}`, `--optShapes=${pick('opt')}`, `--maxShapes=${pick('max')}`);
  }
  return argv;
}

export interface TrtexecRun {
  trtexec: string;
  planPath: string;
  device: number;
  /** Shapes of the dynamic inputs for this run. */
  shapes: Record<string, readonly number[]>;
  /** Raw little-endian input files by input name. */
  inputFiles: Record<string, string>;
  iterations: number;
  /** Where trtexec writes the per-iteration times. */
  exportTimes?: string;
  /** Where trtexec writes the outputs of the last iteration. */
  exportOutput?: string;
}

/**
 * argv that runs a saved plan on the given inputs for exactly `iterations` iterations:
 * no warm-up and no minimum duration (benchalign does its own warm-up detection).
 */
export function trtexecRunArgv(r: TrtexecRun): string[] {
  if (!Number.isInteger(r.iterations) || r.iterations < 1) throw new BenchalignError('E_USAGE', `trtexec: iterations must be an integer >= 1, got ${r.iterations}`);
  const argv = [r.trtexec, `--loadEngine=${r.planPath}`, `--device=${r.device}`];
  if (Object.keys(r.shapes).length > 0) argv.push(`--shapes=${trtexecShapeSpec(r.shapes)}`);
  const inputs = Object.entries(r.inputFiles);
  if (inputs.length > 0) {
    for (const [, f] of inputs) {
      if (/[,:']/.test(f)) throw new BenchalignError('E_UNSUPPORTED', `trtexec: input file path ${f} cannot be written in a --loadInputs spec`, { expected: 'a path without commas, colons or quotes' });
    }
    argv.push(`--loadInputs=${inputs.map(([n, f]) => `${trtexecName(n)}:${f}`).join(',')}`);
  }
  argv.push('--warmUp=0', '--duration=0', `--iterations=${r.iterations}`, '--useSpinWait');
  if (r.exportTimes !== undefined) argv.push(`--exportTimes=${r.exportTimes}`);
  if (r.exportOutput !== undefined) argv.push(`--exportOutput=${r.exportOutput}`);
  return argv;
}

/** The phases of each iteration, nanoseconds, from trtexec's CUDA events. */
export interface PhaseSamples {
  h2dNs: number[];
  computeNs: number[];
  d2hNs: number[];
}

export interface TrtexecTimes {
  /** latencyMs (H2D + compute + D2H) of each timed iteration, nanoseconds. */
  samplesNs: number[];
  /** From the first timed iteration's H2D start to the last one's D2H end, nanoseconds. */
  wallNs: number;
  phases: PhaseSamples;
  /** Host time spent enqueuing each iteration, nanoseconds. */
  enqueueNs: number[];
  /** Iterations dropped as warm-up (compute started before warmUpMs). */
  warmupCount: number;
}

const TIME_FIELDS = ['startEnqMs', 'endEnqMs', 'startH2dMs', 'endH2dMs', 'startComputeMs', 'endComputeMs', 'startD2hMs', 'endD2hMs', 'h2dMs', 'computeMs', 'd2hMs', 'latencyMs'] as const;

const msToNs = (ms: number): number => Math.round(ms * 1e6);

function parseJson(text: string, file: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new BenchalignError('E_TENSOR_FORMAT', `trtexec ${what} is not valid JSON: ${(e as Error).message}`, { file, expected: `trtexec's ${what} format` });
  }
}

/**
 * Parses `--exportTimes` JSON. Iterations whose compute started before `warmUpMs` are
 * warm-up and dropped, as trtexec's own summary does.
 */
export function parseTrtexecTimes(text: string, file: string, warmUpMs = 0): TrtexecTimes {
  const doc = parseJson(text, file, '--exportTimes');
  if (!Array.isArray(doc)) throw new BenchalignError('E_TENSOR_FORMAT', 'trtexec --exportTimes: expected a JSON array of iterations', { file });
  const rows: Array<Record<(typeof TIME_FIELDS)[number], number>> = [];
  doc.forEach((row: unknown, i) => {
    if (row === null || typeof row !== 'object' || Array.isArray(row)) throw new BenchalignError('E_TENSOR_FORMAT', `trtexec --exportTimes[${i}]: expected an object`, { file });
    const r = row as Record<string, unknown>;
    for (const f of TIME_FIELDS) {
      const v = r[f];
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new BenchalignError('E_TENSOR_FORMAT', `trtexec --exportTimes[${i}].${f}: expected a finite number of milliseconds, got ${JSON.stringify(v)}`, { file });
      }
      if (f.endsWith('Ms') && !f.startsWith('start') && !f.startsWith('end') && v < 0) {
        throw new BenchalignError('E_TENSOR_FORMAT', `trtexec --exportTimes[${i}].${f}: a negative interval (${v})`, { file });
      }
    }
    rows.push(r as Record<(typeof TIME_FIELDS)[number], number>);
  });
  const timed = rows.filter((r) => r.startComputeMs >= warmUpMs);
  if (timed.length === 0) throw new BenchalignError('E_TENSOR_FORMAT', `trtexec --exportTimes: no timed iterations (${rows.length} in the file, all warm-up)`, { file });
  const first = timed[0]!;
  const last = timed[timed.length - 1]!;
  return {
    samplesNs: timed.map((r) => msToNs(r.latencyMs)),
    wallNs: msToNs(last.endD2hMs - first.startH2dMs),
    phases: { h2dNs: timed.map((r) => msToNs(r.h2dMs)), computeNs: timed.map((r) => msToNs(r.computeMs)), d2hNs: timed.map((r) => msToNs(r.d2hMs)) },
    enqueueNs: timed.map((r) => msToNs(r.endEnqMs - r.startEnqMs)),
    warmupCount: rows.length - timed.length,
  };
}

/**
 * Makes trtexec's number tokens JSON: bare nan/-nan/inf/-inf (and the `nan(ind)`-style
 * forms) outside strings become the strings "NaN", "Infinity", "-Infinity".
 */
function jsonifyNonFinite(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    const m = /^([+-]?)(nan(?:\([a-z0-9_]*\))?|inf(?:inity)?)/i.exec(text.slice(i, i + 16));
    if (m && (c === '-' || c === '+' || /[ni]/i.test(c))) {
      const nan = /^nan/i.test(m[2]!);
      out += nan ? '"NaN"' : m[1] === '-' ? '"-Infinity"' : '"Infinity"';
      i += m[0].length;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (v === 'NaN') return Number.NaN;
  if (v === 'Infinity') return Number.POSITIVE_INFINITY;
  if (v === '-Infinity') return Number.NEGATIVE_INFINITY;
  return undefined;
}

/**
 * Parses `--exportOutput` JSON into tensors. `dtypes` gives each output's dtype (from the
 * model); an output not named there is read as float32.
 */
export function parseTrtexecOutput(text: string, file: string, dtypes: Record<string, DType> = {}): Map<string, Tensor> {
  const doc = parseJson(jsonifyNonFinite(text), file, '--exportOutput');
  if (!Array.isArray(doc)) throw new BenchalignError('E_TENSOR_FORMAT', 'trtexec --exportOutput: expected a JSON array of outputs', { file });
  const out = new Map<string, Tensor>();
  doc.forEach((entry: unknown, i) => {
    const e = (entry ?? {}) as Record<string, unknown>;
    if (typeof e.name !== 'string' || e.name === '') throw new BenchalignError('E_TENSOR_FORMAT', `trtexec --exportOutput[${i}].name: expected a tensor name`, { file });
    const where = `trtexec --exportOutput tensor ${JSON.stringify(e.name)}`;
    if (typeof e.dimensions !== 'string' || !/^(\d+(x\d+)*)?$/.test(e.dimensions.trim())) {
      throw new BenchalignError('E_TENSOR_FORMAT', `${where}: dimensions ${JSON.stringify(e.dimensions)}`, { file, expected: 'dims like "1x10"' });
    }
    const dimsText = e.dimensions.trim();
    const dims = dimsText === '' ? [] : dimsText.split('x').map(Number);
    if (!Array.isArray(e.values)) throw new BenchalignError('E_TENSOR_FORMAT', `${where}: values is not a list`, { file });
    const count = dims.reduce((a, d) => a * d, 1);
    if (e.values.length !== count) {
      throw new BenchalignError('E_SHAPE', `${where}: ${e.values.length} values for dimensions ${dimsText || 'scalar'} (${count} elements)`, { file, expected: 'one value per element' });
    }
    if (out.has(e.name)) throw new BenchalignError('E_TENSOR_FORMAT', `${where}: appears twice`, { file });
    const declared = dtypes[e.name] ?? 'float32';
    const dtype: DType = declared === 'float16' || declared === 'bfloat16' ? 'float32' : declared;
    const data = new DTYPE_CTOR[dtype](count) as DTypeDataMap[DType];
    const big = data instanceof BigInt64Array || data instanceof BigUint64Array;
    for (let k = 0; k < count; k++) {
      const v = toNumber(e.values[k]);
      if (v === undefined) throw new BenchalignError('E_TENSOR_FORMAT', `${where}: value ${k} is ${JSON.stringify(e.values[k])}`, { file, expected: 'numbers' });
      if (big) {
        if (!Number.isInteger(v)) throw new BenchalignError('E_TENSOR_FORMAT', `${where}: value ${k} (${v}) is not an integer for ${dtype}`, { file });
        (data as BigInt64Array)[k] = BigInt(v);
      } else (data as Float32Array)[k] = dtype === 'bool' ? (v !== 0 ? 1 : 0) : v;
    }
    out.set(e.name, makeTensor(dtype, dims, data));
  });
  return out;
}
