/**
 * The Runner contract (DESIGN.md, "Contracts"). A Runner drives one engine through a
 * worker process; the harness never loads an engine in its own process.
 */
import type { NamedTensors } from '../tensors/tensor.js';
import type { ModelRef, OutputReconciliation, Precision, TensorMeta } from '../model/model-ref.js';
import type { RawProfile } from '../model/profile.js';

export type Availability =
  | { available: true; version: string; devices: string[] }
  | { available: false; reason: string };

export interface EngineOptions {
  precision: Precision;
  /** Engine-specific options, validated by the engine. */
  options: Record<string, unknown>;
}

export interface PreparedModel {
  /** The file the engine loads (converted artifact, or the model itself). */
  path: string;
  convertMs?: number;
  /** Time spent tuning the engine's kernels for this machine (TVM MetaSchedule), apart from `convertMs` and the cold start. */
  tuneMs?: number;
  cacheHit?: boolean;
}

export interface ActivationInfo {
  loadMs: number;
  /** Worker process id, for the resource samplers. */
  pid: number;
  effectivePrecision?: string;
  notes?: string[];
  /** Options as the worker applied them (defaults filled in, engine-side precision settings). */
  appliedOptions?: Record<string, unknown>;
  /** How the worker reconciled engine outputs with the model's (names, layouts), by output name. */
  reconciliation?: Record<string, OutputReconciliation>;
  inputs: TensorMeta[];
  outputs: TensorMeta[];
}

/** One measured batch of iterations, timed inside the worker next to the engine. */
export interface MeasureRequest {
  iterations: number;
  /** Stop early once this much time has passed. */
  maxDurationMs: number;
  /** Concurrent in-flight requests (1 = single stream). */
  concurrency?: number;
}

export interface MeasureResult {
  /** Per-inference latency, nanoseconds, in completion order. */
  samplesNs: number[];
  /** Wall time of the whole batch, nanoseconds (throughput = items / wall). */
  wallNs: number;
  /**
   * When the loop started, on the monotonic clock (CLOCK_MONOTONIC nanoseconds, the clock of
   * `process.hrtime.bigint()` in any process on the machine), to line up resource samples.
   */
  startedAtNs?: number;
  /** Per-iteration phases of a GPU engine (TensorRT: CUDA events), nanoseconds, when it reports them. */
  phasesNs?: PhaseSamplesNs;
}

/** Host-to-device copy, compute and device-to-host copy time of each iteration, nanoseconds. */
export interface PhaseSamplesNs {
  h2d: number[];
  compute: number[];
  d2h: number[];
}

export interface Runner {
  readonly name: string;
  available(): Promise<Availability>;
  /** Convert and cache by content hash when the engine needs it. */
  prepare(model: ModelRef, options: EngineOptions): Promise<PreparedModel>;
  /** Load the prepared model in a worker. */
  activate(prepared: PreparedModel, model: ModelRef, options: EngineOptions): Promise<ActivationInfo>;
  inputMetadata(): Promise<TensorMeta[]>;
  /** One inference; outputs by engine output name. */
  infer(feeds: NamedTensors): Promise<NamedTensors>;
  /**
   * Keep feeds in the worker and time `iterations` inferences there. Feeds are sent to the
   * worker once per Map object: passing the same Map again reuses them.
   */
  measure(feeds: NamedTensors, request: MeasureRequest): Promise<MeasureResult>;
  /**
   * Per-layer times from the engine's own profiler over `iterations` inferences of `feeds`, in a
   * separate phase after the timed loop (profiling may reload the model with profiling on).
   * Absent, or an E_UNSUPPORTED error, where the engine has no usable profiler.
   */
  profile?(feeds: NamedTensors, request: { iterations: number; maxDurationMs: number }): Promise<RawProfile>;
  /**
   * The engine nodes of the active model that were made of several ONNX nodes (what the engine
   * fused), where the engine says; undefined where it does not (`localize` reports it).
   */
  fusedLayers?(): Promise<Array<{ name: string; opType: string; onnxNodes: string[] }> | undefined>;
  /** Unloads the model; the worker stays up for the next job of this engine. */
  deactivate(): Promise<void>;
  /** Ends the worker process; the next `activate()` starts a fresh one (for repeats). */
  dispose?(): Promise<void>;
  /** The last `maxLines` lines the engine's worker wrote to stderr (recorded with an errored job). */
  stderrTail?(maxLines?: number): string;
  /** The latency of the last `infer()` as the worker timed it (the first inference's figure). */
  readonly lastInferLatencyNs?: number | undefined;
}
