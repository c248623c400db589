/**
 * Per-layer profile shapes (`run --profile`, docs/profile.md): what a worker's profiler
 * answers (RawProfile) and the summary in a job result (ProfileSummary). The summarizing
 * code is in src/metrics/profile.ts.
 */

/** One layer as an engine's profiler reports it, summed over the profiled iterations. */
export interface RawProfileLayer {
  /** The engine's layer name: the ONNX node name where the engine keeps it. */
  name: string;
  /** Op type, as the engine names it (ONNX op type for ONNX Runtime, e.g. `Conv`). */
  opType: string;
  /** Time spent in it over all profiled iterations, nanoseconds. */
  timeNs: number;
  /** How many times it ran over all profiled iterations. */
  count: number;
  /** The ONNX nodes the engine made this layer of, where it says (OpenVINO: originalLayersNames). */
  onnxNodes?: string[];
}

/** What a worker's `profile` request answers. */
export interface RawProfile {
  /** The profiler, e.g. "onnxruntime session profiling", "openvino get_profiling_info". */
  profiler: string;
  /** Inferences profiled. */
  iterations: number;
  /** Wall time of the profiled inferences, nanoseconds (profiling on). */
  wallNs: number;
  layers: RawProfileLayer[];
  notes?: string[];
}

export interface ProfileLayer {
  name: string;
  opType: string;
  /** Mean time per inference, milliseconds. */
  msPerInference: number;
  /** Share of the summed layer time, percent. */
  sharePct: number;
  /** Runs per inference. */
  callsPerInference: number;
  /** The ONNX nodes this layer was made of, where the engine says. */
  onnxNodes?: string[];
}

export interface ProfileOp {
  opType: string;
  msPerInference: number;
  sharePct: number;
  /** Distinct layers of this op type. */
  layers: number;
}

/** The profile in a job result. */
export interface ProfileSummary {
  profiler: string;
  iterations: number;
  /** Wall time per profiled inference, milliseconds. */
  wallMsPerInference: number;
  /** Sum of the layer times per inference, milliseconds (less than the wall time: framework overhead, copies). */
  layerMsPerInference: number;
  /**
   * How much slower a profiled inference was than the timed loop's mean, percent: the
   * profiler's own overhead (the latency statistics never include it: profiling runs after).
   */
  overheadPct?: number;
  /** Layers, slowest first. */
  layers: ProfileLayer[];
  /** Op types, slowest first. */
  ops: ProfileOp[];
  notes?: string[];
}
