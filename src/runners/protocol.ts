/**
 * The worker protocol (docs/workers.md): JSON-RPC 2.0, one JSON object per line, requests on
 * the worker's stdin and responses on its stdout. The worker's stderr is free-form log text.
 * Tensors never travel inside messages: they are .npy files named by absolute path.
 * Any worker in any language that speaks this is an engine worker.
 */
import type { ErrorCode } from '../errors.js';
import type { TensorMeta } from '../model/model-ref.js';
import type { OutputReconciliation } from '../model/model-ref.js';

export const PROTOCOL_VERSION = 1;

export interface RpcRequest {
  jsonrpc: '2.0';
  id: number;
  method: string;
  params?: unknown;
}

export interface RpcError {
  /** JSON-RPC code: -32700..-32600 protocol errors, see {@link RpcCode} for the rest. */
  code: number;
  message: string;
  data?: RpcErrorData;
}

/** What a worker may attach to an error. */
export interface RpcErrorData {
  /** The benchalign error code the harness raises; E_ENGINE when absent. */
  benchalignCode?: ErrorCode;
  expected?: string;
  /** Engine-side stack or log excerpt. */
  detail?: string;
}

export type RpcResponse =
  | { jsonrpc: '2.0'; id: number; result: unknown }
  | { jsonrpc: '2.0'; id: number | null; error: RpcError };

export const RpcCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  Internal: -32603,
  /** The engine failed (load, inference). */
  Engine: -32000,
  /** The request is valid but the engine cannot do it (precision, dtype, provider). */
  Unsupported: -32001,
  /** A request came in an order the worker cannot serve (infer before load). */
  State: -32002,
} as const;

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

export function isRpcResponse(v: unknown): v is RpcResponse {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return o.jsonrpc === '2.0' && 'id' in o && ('result' in o || 'error' in o);
}
