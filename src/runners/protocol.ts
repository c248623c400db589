/**
 * The worker protocol (docs/workers.md): JSON-RPC 2.0, one JSON object per line, requests on
 * the worker's stdin and responses on its stdout (the framing and messages of src/rpc). The
 * worker's stderr is free-form log text.
 * Tensors never travel inside messages: they are .npy files named by absolute path.
 * Any worker in any language that speaks this is an engine worker.
 */
import type { ErrorCode } from '../errors.js';
import type { TensorMeta } from '../model/model-ref.js';
import type { OutputReconciliation } from '../model/model-ref.js';
import type { JsonRpcErrorObject, JsonRpcResponse } from '../rpc/index.js';

/** The one error-code table of both protocols (src/rpc/codes.ts); the worker codes are Engine, Unsupported, State. */
export { RpcCode } from '../rpc/index.js';

export const PROTOCOL_VERSION = 1;

/** What a worker may attach to an error. */
export interface RpcErrorData {
  /** The benchalign error code the harness raises; E_ENGINE when absent. */
  benchalignCode?: ErrorCode;
  expected?: string;
  /** Engine-side stack or log excerpt. */
  detail?: string;
}

/** A worker's `error` member: codes from {@link RpcCode}, data as above. */
export type WorkerErrorObject = JsonRpcErrorObject<RpcErrorData>;

/** A worker's response line (ids are numbers; `null` for a line it could not read). */
export type WorkerResponse = JsonRpcResponse<unknown, RpcErrorData>;

/** Largest request line a Node worker reads (requests name files; they never carry tensors). */
export const MAX_WORKER_REQUEST_BYTES = 16 * 1024 * 1024;

/** `hello` result. */
export interface HelloResult {
  protocol: number;
  engine: string;
  /** Engine version, e.g. "1.30.0". */
  version: string;
  pid: number;
  /** Devices or execution providers the engine can use here. */
  devices: string[];
}

/** `load` params. */
export interface LoadParams {
  /** Absolute path of the model file. */
  modelPath: string;
  /** Engine options, validated again by the worker. */
  options: Record<string, unknown>;
  precision: string;
  /** Pinned input shapes, by input name. */
  shapes?: Record<string, number[]>;
}

/** `load` result. */
export interface LoadResult {
  /** Session creation time, milliseconds, measured in the worker. */
  loadMs: number;
  inputs: TensorMeta[];
  outputs: TensorMeta[];
  effectivePrecision: string;
  notes: string[];
  /** Options as the engine applied them, defaults filled in. */
  appliedOptions?: Record<string, unknown>;
  /** How the worker turned engine outputs into the model's outputs, by model output name. */
  reconciliation?: Record<string, OutputReconciliation>;
}

/** `setInputs` params: .npy file per input name. Kept in the worker until the next call. */
export interface SetInputsParams {
  inputs: Record<string, string>;
}

/** `infer` params. */
export interface InferParams {
  /** Directory the worker writes `<output>.npy` files into. */
  outputDir: string;
}

/** `infer` result. */
export interface InferResult {
  /** .npy file per output name. */
  outputs: Record<string, string>;
  /** The one inference, nanoseconds. */
  latencyNs: number;
}

/** `measure` params. */
export interface MeasureParams {
  iterations: number;
  /** Stop starting new requests once this much time has passed, milliseconds. */
  maxDurationMs: number;
  /** Requests kept in flight (default 1). */
  concurrency?: number;
}

/** `measure` result. */
export interface MeasureResultMsg {
  /** Per-request latency, nanoseconds, in completion order. */
  samplesNs: number[];
  /** First start to last completion, nanoseconds. */
  wallNs: number;
  /** Monotonic clock (CLOCK_MONOTONIC, nanoseconds) when the loop started. */
  startedAtNs: number;
  /** Optional per-iteration H2D/compute/D2H split of GPU engines, nanoseconds. */
  phasesNs?: { h2d: number[]; compute: number[]; d2h: number[] };
}

/** `profile` params (optional method: a worker without a profiler answers MethodNotFound or Unsupported). */
export interface ProfileParams {
  /** Inferences to profile, on the inputs of the last setInputs. */
  iterations: number;
  /** Stop starting new inferences once this much time has passed, milliseconds. */
  maxDurationMs: number;
  /** A scratch directory the worker may write profiler files into. */
  workDir: string;
}

/** `profile` result: the engine's own per-layer times, summed over the profiled inferences (src/model/profile.ts RawProfile). */
export interface ProfileResultMsg {
  profiler: string;
  iterations: number;
  wallNs: number;
  layers: Array<{ name: string; opType: string; timeNs: number; count: number; onnxNodes?: string[] }>;
  notes?: string[];
}

/** `fusedLayers` result (optional method): engine nodes of the loaded model made of several ONNX nodes; absent `layers` when the engine does not say. */
export interface FusedLayersResultMsg {
  layers?: Array<{ name: string; opType: string; onnxNodes: string[] }>;
}
