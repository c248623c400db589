/**
 * A loaded suite: validated, defaults applied, paths absolute, ONNX test-data folders
 * expanded into one model per case. This is what `loadSuite` returns and `expandJobs` reads.
 */
import type { AgentDef } from './agents.js';
import type { Tolerance } from './alignment.js';
import type { ModelRef } from './model-ref.js';
import type { Precision } from './record.js';

/** Tolerance overrides for one output; unset fields keep the precision default (suite schema `ToleranceOverride`). */
export interface ToleranceOverride {
  atol?: number | undefined;
  rtol?: number | undefined;
  cosineMin?: number | undefined;
  snrMinDb?: number | undefined;
  elementwise?: boolean | undefined;
  equalNan?: boolean | undefined;
  topK?: number | undefined;
  top1Min?: number | undefined;
}

/** Settings of one output: tolerance overrides, and whether to compare it (suite schema `OutputSettings`). */
export interface OutputSettings extends ToleranceOverride {
  compare?: boolean | undefined;
}

/** Performance budgets of a model, checked on every engine (suite schema `Budgets`). */
export interface Budgets {
  p50MaxMs?: number | undefined;
  p99MaxMs?: number | undefined;
  throughputMinPerSec?: number | undefined;
  peakRssMaxMiB?: number | undefined;
}

/** How jobs are timed, with every default applied. */
export interface Measurement {
  warmup: {
    /** Warm-up iterations at least. Default 10. */
    minIterations: number;
    /** Warm-up iterations at most; MSER-5 truncation ends warm-up earlier. Default 2000. */
    maxIterations: number;
    /** Warm-up time at most, milliseconds. Default 5000. */
    maxMs: number;
  };
  /** Steady-state timing at least, milliseconds. Default 1000. */
  minDurationMs: number;
  /** Steady-state timing at most, milliseconds; reaching it first marks the repeat's stopping not stable. Default 10000. */
  maxDurationMs: number;
  /** Timed iterations at least. Default 50. */
  minIterations: number;
  /** Timed iterations at most; reaching it first marks the repeat's stopping not stable. Default 10000.. */
  maxIterations: number;
  /** Target 95% CI half-width of p50, percent of p50. Default 1. */
  targetCiHalfWidthPct: number;
  /** Target 95% CI half-width of p99, percent of p99, once p99 can be bounded. Default 5. */
  targetCiHalfWidthPctP99: number;
  /** Independent worker processes per job. Default 1. */
  repeats: number;
  /** Adaptive repeats: most repeats per job, added one at a time after `repeats` while the combined p50 interval is wider than `targetCiHalfWidthPct`. Absent: `repeats` (off). */
  maxRepeats?: number;
  /** Adaptive repeats: no repeat is added once the job's repeats took this long together (or one more of their mean length would pass it), ms. Absent: no budget. */
  repeatsBudgetMs?: number;
  /** Concurrency levels for throughput; single-stream is always measured too. Default [1]. */
  concurrency: number[];
  /** Batch sizes to sweep. Default [1]. */
  batchSizes: number[];
  /** Per-job time limit, milliseconds. Default 120000. */
  timeoutMs: number;
  /** Profile each job with the engine's own profiler after the timed loop (`run --profile`). Default false. */
  profile?: boolean;
}

export const DEFAULT_MEASUREMENT: Readonly<Measurement> = Object.freeze({
  warmup: Object.freeze({ minIterations: 10, maxIterations: 2000, maxMs: 5000 }),
  minDurationMs: 1000,
  maxDurationMs: 10000,
  minIterations: 50,
  maxIterations: 100000,
  targetCiHalfWidthPct: 1,
  targetCiHalfWidthPctP99: 5,
  repeats: 1,
  concurrency: Object.freeze([1]) as number[],
  batchSizes: Object.freeze([1]) as number[],
  timeoutMs: 120000,
});

/** Random range used for inputs that `ranges` does not name. */
export const DEFAULT_RANDOM_RANGE: readonly [number, number] = [0, 1];

/**
 * Where a model's inputs come from.
 * - `reference`: tensors by input name from `file` (absolute).
 * - `random`: seeded; floats uniform in [low, high), integers uniform in [low, high]
 *   inclusive, bools 0/1. `ranges` by input name; `defaultRange` for every other input.
 * - `onnx-test-data`: `input_K.pb` in each data set folder, K in the model's input order.
 */
export type InputsSpec =
  | { source: 'reference'; file: string }
  | { source: 'random'; seed: number; ranges: Record<string, [number, number]>; defaultRange: [number, number] }
  | { source: 'onnx-test-data'; dataSets: string[] };

/**
 * Where the reference outputs are.
 * - `file`: tensors by output name (absolute path).
 * - `onnx-test-data`: `output_K.pb` in each data set folder, K in the model's output order.
 */
export type ReferenceSpec = { source: 'file'; path: string } | { source: 'onnx-test-data'; dataSets: string[] };

/** One model of a loaded suite. */
export interface SuiteModel extends ModelRef {
  /** Absolute path of the model file. */
  path: string;
  /** sha256 of the model file, computed at load (and checked against the suite's when given). */
  sha256: string;
  /** Pinned input shapes by input name; empty when none. */
  shapes: Record<string, number[]>;
  inputs: InputsSpec;
  /** Absent: no alignment, timing only. */
  reference?: ReferenceSpec;
  /** The model's own per-output settings, by output name or "*" (suite-wide tolerances not merged). */
  outputs: Record<string, OutputSettings>;
  budgets?: Budgets;
  /** The suite's measurement with this model's overrides applied. */
  measurement: Measurement;
  /** Where the model came from: `models[i]` of the suite, and the ONNX test case name when expanded. */
  origin: { index: number; onnxTestCase?: string };
  /** Labels a runner agent needs to run this model (e.g. arch=arm64). */
  agentLabels?: Record<string, string>;
}

export interface SuiteEngine {
  name: string;
  /** Default fp32. */
  precision: Precision;
  /** Engine-specific options, as given. Default {}. */
  options: Record<string, unknown>;
  label?: string;
  /** Labels a runner agent needs to run this engine configuration, on top of the engine's own needs. */
  agentLabels?: Record<string, string>;
}

/** The suite's runner agents (docs/agents-client.md). */
export interface SuiteAgents {
  /** Agents defined in the suite, resolved. */
  list?: AgentDef[];
  /** An agents file (absolute). */
  file?: string;
  /** Labels every agent running this suite must have. */
  labels?: Record<string, string>;
  maxAttempts?: number;
}

export interface Suite {
  name: string;
  description?: string;
  /** The suite file (absolute), or the ONNX test-data folder for a suite made without a file. */
  path: string;
  /** Directory relative paths were resolved against. */
  dir: string;
  /** sha256 of the suite file's bytes; for a suite made without a file, of its canonical JSON. */
  sha256: string;
  models: SuiteModel[];
  engines: SuiteEngine[];
  /** Suite-level measurement with defaults applied (models carry their own resolved copy). */
  measurement: Measurement;
  /** Suite-wide tolerance overrides by output name or "*". */
  tolerances: Record<string, ToleranceOverride>;
  /** Runner agents; absent: the local agent. */
  agents?: SuiteAgents;
}

/** The tolerance fields an override may set. */
export type PartialTolerance = Partial<Tolerance>;
