/**
 * The Runner contract (DESIGN.md, "Contracts"). A Runner drives one engine through a
 * worker process; the harness never loads an engine in its own process.
 */
import type { DType } from '../tensors/dtype.js';
import type { NamedTensors } from '../tensors/tensor.js';
import type { Precision } from '../results/record.js';
import type { RawProfile } from '../metrics/profile.js';
import type { OutputReconciliation } from './protocol.js';

export type Availability =
  | { available: true; version: string; devices: string[] }
  | { available: false; reason: string };

/** An input or output as the engine declares it. Symbolic dims are strings. */
export interface TensorMeta {
  name: string;
  dtype: DType | string;
  dims: Array<number | string>;
}

/**
 * The PyTorch form of a model (suite field `pytorch`), for the `pytorch` engine: exactly one
 * of a TorchScript file, an ExportedProgram (.pt2) or a `file.py:function` factory.
 */
export interface PytorchModelRef {
  kind: 'torchscript' | 'exported' | 'factory';
  /** Absolute path: the TorchScript / .pt2 file, or the factory's Python file. */
  path: string;
  /** The factory function's name (kind `factory`). */
  factory?: string;
  /** sha256 of the file at `path`, computed when the suite loads (recorded as appliedOptions.modelSha256). */
  sha256?: string;
  /** Input names, dtypes and dims, in forward() order. Default: from the ONNX model at `path`, else from the module. */
  inputs?: TensorMeta[];
  /** Output names, in the order the module returns them. Default: the ONNX model's, else a dict's keys, else output_K. */
  outputs?: string[];
}

export interface ModelRef {
  name: string;
  /** Absolute path to the model file (ONNX for most engines). */
  path: string;
  sha256: string;
  /** Pinned input shapes, by input name. */
  shapes?: Record<string, number[]>;
  /** The PyTorch form of the model, when the suite gives one (the `pytorch` engine loads it). */
  pytorch?: PytorchModelRef;
}

export interface EngineOptions {
  precision: Precision;
  /** Engine-specific options, validated by the engine. */
  options: Record<string, unknown>;
}

export interface PreparedModel {
  /** The file the engine loads (converted artifact, or the model itself). */
  path: string;
  convertMs?: number;
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
}
