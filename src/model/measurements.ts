/**
 * Types shared by the statistics (pure), the samplers and the result record.
 * All latencies are milliseconds unless a name says otherwise.
 */

/** Samples sorted ascending. Only `sortSamples` makes one. */
export type SortedSamples = readonly number[] & { readonly __brand: 'SortedSamples' };

/** A point estimate with its 95% confidence interval. */
export interface Estimate {
  value: number;
  low: number;
  high: number;
  /**
   * Binomial order-statistic CIs: the exact coverage probability of [low, high], at least
   * the confidence level unless `insufficientSamples`.
   */
  coverage?: number;
  /**
   * True when too few samples exist to reach the confidence level: low and high are then
   * the sample minimum and maximum, and cover the percentile with probability `coverage` only.
   */
  insufficientSamples?: boolean;
}

/** The percentiles benchalign reports, by key. `p999` is the 99.9th. */
export const PERCENTILES = { p50: 0.5, p90: 0.9, p95: 0.95, p99: 0.99, p999: 0.999 } as const;
export type PercentileKey = keyof typeof PERCENTILES;

/** How a percentile's CI was computed. */
export type CiMethod = 'binomial-order-statistics' | 'hierarchical-bootstrap';

/** Steady-state latency statistics, from raw samples. */
export interface LatencyStats {
  /** Number of steady-state samples (after warm-up truncation), all repeats together. */
  count: number;
  minMs: number;
  meanMs: number;
  /** Sample standard deviation (n - 1). */
  sdMs: number;
  maxMs: number;
  /**
   * Each percentile with its 95% CI. Where too few samples exist for the level, the bounds
   * are the sample extremes and the estimate is flagged `insufficientSamples`.
   */
  percentiles: Record<PercentileKey, Estimate>;
  ciMethod: CiMethod;
  /** Number of independent worker processes measured. */
  repeats: number;
  /**
   * With repeats > 1: each repeat's own p50 and p99, and the CI of p50 computed within
   * repeats only (what a single run would have claimed), to show both levels.
   */
  betweenRepeats?: {
    p50PerRepeatMs: number[];
    p99PerRepeatMs: number[];
    withinOnlyP50: Estimate;
  };
}

/** Warm-up truncation, as decided by MSER. */
export interface WarmupInfo {
  /** Samples discarded as warm-up (per repeat, summed). */
  discarded: number;
  method: 'mser-5';
  /** True when truncation hit the maximum warm-up bound. */
  hitMax: boolean;
}

/** Why the timing loop stopped. */
export interface StoppingInfo {
  reason: 'ci-target' | 'max-duration' | 'max-iterations' | 'fixed';
  /** False when a limit was reached before the CI target: the run is `unstable`. */
  stable: boolean;
  /** Half-width of the 95% CI of p50, relative to p50, in percent. */
  p50HalfWidthPct: number;
  /** Same for p99 once there are enough samples to bound it. */
  p99HalfWidthPct?: number;
  /** What to do about an unstable run. */
  recommendation?: string;
}

/** One resource sample, taken from outside the worker process, on the latency clock. */
export interface ResourceSample {
  /** Milliseconds since the job's clock origin. */
  tMs: number;
  cpuPct?: number;
  rssBytes?: number;
  hwmBytes?: number;
  cpuFreqMHz?: number;
  tempC?: number;
  gpuUtilPct?: number;
  /** Device memory used, all GPUs together (nvidia-smi memory.used). */
  gpuMemBytes?: number;
  /** GPU memory used by the sampled process itself (nvidia-smi --query-compute-apps). */
  gpuProcessMemBytes?: number;
  /** Board power, all GPUs together, watts. */
  gpuPowerW?: number;
  /** Cumulative package energy since the sampler started (RAPL), joules. */
  cpuEnergyJ?: number;
}

/** Resource usage summarised over the steady-state phase. */
export interface ResourceSummary {
  /** Mean CPU utilisation of the worker, percent of one core (can exceed 100). */
  cpuPctMean?: number;
  /** VmHWM after the run. */
  peakRssBytes?: number;
  /** VmHWM right after the model was loaded. */
  loadPeakRssBytes?: number;
  /** peakRssBytes - loadPeakRssBytes: memory the inference itself needed. */
  inferencePeakIncreaseBytes?: number;
  cpuFreqMHzMean?: number;
  tempCMax?: number;
  gpuUtilPctMean?: number;
  gpuMemPeakBytes?: number;
  gpuPowerWMean?: number;
  /** Peak GPU memory of the sampled process itself. */
  gpuProcessMemPeakBytes?: number;
  /** GPU energy over the window: trapezoid integral of gpuPowerW, joules. */
  gpuEnergyJ?: number;
  /** CPU package energy over the window: RAPL energy_uj delta, joules. */
  cpuEnergyJ?: number;
  /** Energy over the measured phase: gpuEnergyJ + cpuEnergyJ, whichever exist, joules. */
  energyJ?: number;
  energyPerInferenceJ?: number;
  /** Achieved sampling rate. */
  sampleRateHz: number;
  /** Which sources could be read. */
  sources: string[];
}

/** Throughput at one concurrency level. */
export interface ThroughputPoint {
  concurrency: number;
  batchSize: number;
  /** Inferences (items) per second. */
  itemsPerSec: number;
  p50Ms: number;
  requests: number;
}

/** A phase boundary recorded by the sampler ('loaded', 'steady-start', 'steady-end', ...). */
export interface ResourceMark {
  label: string;
  /** Milliseconds since the job's clock origin. */
  tMs: number;
  /** VmHWM of the sampled process at that moment, when readable. */
  hwmBytes?: number;
  rssBytes?: number;
}
