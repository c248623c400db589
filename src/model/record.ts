/**
 * The result record (schema version in RESULTS_SCHEMA_VERSION, documented in
 * docs/results.md). A run file holds the run's identity and one JobResult per job.
 */
import type { OutputAlignment } from './alignment.js';
import type { ProfileSummary } from './profile.js';
import type {
  LatencyStats,
  ResourceSample,
  ResourceSummary,
  RepeatsStop,
  StoppingInfo,
  ThroughputPoint,
  WarmupInfo,
} from './measurements.js';

export const RESULTS_SCHEMA_VERSION = 1;

export type JobStatus = 'ok' | 'failed' | 'errored' | 'skipped';
export type Precision = 'fp32' | 'fp16' | 'bf16' | 'int8';
export const PRECISIONS = ['fp32', 'fp16', 'bf16', 'int8'] as const satisfies readonly Precision[];

/** Where the job ran. Fields the platform does not expose are absent. */
export interface DeviceFingerprint {
  hostname: string;
  cpuModel: string;
  cpuCores: number;
  cpuPhysicalCores?: number;
  arch: string;
  memoryBytes: number;
  os: string;
  kernel: string;
  governor?: string;
  gpus: Array<{ model: string; driver?: string; memoryBytes?: number }>;
  /** Engine name -> version. */
  engineVersions: Record<string, string>;
  /** sha256 over the machine's fields that change performance (not hostname, not engine versions). */
  hash: string;
}

export interface EngineInfo {
  name: string;
  version?: string;
  /** Options as given in the suite, after defaults. */
  options: Record<string, unknown>;
  /** Precision asked for. */
  precision: Precision;
  /** What the engine was actually configured to do, in its own terms. */
  effectivePrecision?: string;
  /** Warnings such as "TF32 enabled" or "fp16 weights". */
  notes?: string[];
  /** Options as the engine's worker applied them: defaults filled in, engine-side settings (precision hints, fp16 flags). */
  appliedOptions?: Record<string, unknown>;
}

/** One performance budget of a model, checked against what was measured. */
export interface BudgetCheck {
  /** `p50MaxMs`, `p99MaxMs`, `throughputMinPerSec` or `peakRssMaxMiB`. */
  name: string;
  limit: number;
  /** Undefined when the quantity was not measured (which fails the budget). */
  measured?: number;
  passed: boolean;
}

export interface JobResult {
  /** Stable key: model/engine/precision/options. */
  key: string;
  model: { name: string; path: string; sha256: string };
  engine: EngineInfo;
  device?: DeviceFingerprint;
  status: JobStatus;
  /** Why it is not `ok`. */
  reason?: string;
  /** Last lines of the worker's stderr, for errored jobs. */
  stderrTail?: string;
  /** True when the latency is not a steady state: `latency.stability.flags` says which and what to do. */
  unstable?: boolean;
  /** What was not measured and why, e.g. a batch size the model refuses. */
  notes?: string[];
  /** Inputs: where they came from. */
  inputs?: { source: 'reference' | 'random'; seed?: number; shapes: Record<string, number[]> };
  /** `tuneMs`: the engine's kernel tuning (TVM `tuneTrials`), apart from `convertMs` and not in `totalMs`. */
  coldStart?: { loadMs: number; convertMs?: number; tuneMs?: number; totalMs: number; cacheHit?: boolean };
  firstInferenceMs?: number;
  latency?: LatencyStats;
  /**
   * The steady-state H2D copy, compute and D2H copy times of each inference, summarized like
   * `latency` (ms), where the engine times them on the device (TensorRT: CUDA events).
   */
  latencyPhases?: { h2d: LatencyStats; compute: LatencyStats; d2h: LatencyStats };
  warmup?: WarmupInfo;
  /** Why the timing loop stopped: the first repeat that reached a limit, else the last repeat. */
  stopping?: StoppingInfo;
  /** Why each repeat's timing loop stopped, in repeat order. */
  stoppingPerRepeat?: StoppingInfo[];
  /** With adaptive repeats (`maxRepeats` > `repeats`): how many repeats ran and why no more were added. */
  repeatsStop?: RepeatsStop;
  throughput?: ThroughputPoint[];
  resources?: ResourceSummary;
  resourceTimeline?: ResourceSample[];
  alignment?: OutputAlignment[];
  /** The model's budgets, each with what was measured; a missed one fails the job. */
  budgets?: BudgetCheck[];
  /**
   * The first repeat's steady-state loop on the resource timeline's clock (ms since the job's
   * clock origin): its samples start at `startMs` and run back to back.
   */
  steadyWindowMs?: { startMs: number; endMs: number };
  /** With repeats: each repeat's steady-state loop on its own clock (ms since that repeat's clock origin). */
  steadyWindowsMs?: Array<{ startMs: number; endMs: number }>;
  /** Raw steady-state latency samples in nanoseconds, one array per repeat. */
  samplesNs?: number[][];
  /** Per-layer and per-op times from the engine's own profiler (`run --profile`), first repeat. */
  profile?: ProfileSummary;
  /** The job's output tensors (`--save-outputs`), a .safetensors file relative to the run directory. */
  savedOutputs?: string;
  /**
   * The runner agent that ran the job (absent: run in this process without agents). `url` has
   * no secret in it; `device` is then the agent's fingerprint.
   */
  agent?: { name: string; url: string; fingerprintHash?: string; attempts?: number };
  startedAt: string;
  endedAt: string;
}

export interface RunResults {
  schemaVersion: typeof RESULTS_SCHEMA_VERSION;
  tool: { name: 'benchalign'; version: string };
  suite: { name: string; path: string; sha256: string };
  run: {
    id: string;
    startedAt: string;
    endedAt?: string;
    /** `interrupted` when Ctrl-C or a crash stopped it; finished jobs are kept. */
    status: 'running' | 'complete' | 'interrupted';
    argv: string[];
    mode: 'benchmark' | 'accuracy-only';
    /** Process id of the `benchalign run` that wrote it: a `running` run whose process is gone was killed. */
    pid?: number;
    /** The runner agents of a run with agents: each with its labels, and why it left the run when it did. */
    agents?: Array<{ name: string; url: string; labels: Record<string, string>; fingerprintHash?: string; jobsRun: number; lost?: string }>;
  };
  device?: DeviceFingerprint;
  jobs: JobResult[];
}
