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

/**
 * How a percentile's CI was computed: one repeat, binomial order statistics; several, a t
 * interval on the log of each repeat's own percentile (`hierarchical-bootstrap`: records
 * written before it).
 */
export type CiMethod = 'binomial-order-statistics' | 't-log-repeats' | 'hierarchical-bootstrap';

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
  /**
   * Where the next run's p50 and p99 on the same device should fall (95%): from the store's
   * history of the same job when it has enough runs (`basis: "history"`, set by `run` with a
   * store), else from this run's repeats widened by an assumed run-to-run drift.
   */
  nextRun?: { p50: NextRunInterval; p99: NextRunInterval };
  /** Tail, outlier and drift figures, and the flags that make the job `unstable`. */
  stability?: Stability;
}

/** Warm-up truncation, as decided by MSER. */
export interface WarmupInfo {
  /** Samples discarded as warm-up (per repeat, summed). */
  discarded: number;
  method: 'mser-5';
  /** True when truncation hit the maximum warm-up bound. */
  hitMax: boolean;
}

/**
 * How many repeats a job ran and why no more were added (adaptive repeats,
 * docs/methodology.md): `planned` (adaptive repeats off: `maxRepeats` = `repeats`), `target`
 * (the combined p50 interval reached its target), `max-repeats`, `time-budget`.
 */
export interface RepeatsStop {
  reason: 'planned' | 'target' | 'max-repeats' | 'time-budget';
  /** Repeats planned (`repeats`), most allowed (`maxRepeats`), and run. */
  planned: number;
  max: number;
  ran: number;
  /** Relative half-width of the combined (in-run, t on log per-repeat p50s) 95% interval of p50 at the end, percent; absent with one repeat. */
  p50HalfWidthPct?: number;
  /** Its target, percent (`targetCiHalfWidthPct`). */
  targetHalfWidthPct: number;
  /** Time the job's repeats took, all together, ms; and the budget (`repeatsBudgetMs`), when set. */
  spentMs: number;
  budgetMs?: number;
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
  /**
   * The half-width targets this repeat stopped on, percent: the suite's, raised to the spread
   * between the job's earlier repeats once two exist (docs/methodology.md, "Adaptive stopping").
   */
  targetP50HalfWidthPct?: number;
  targetP99HalfWidthPct?: number;
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

/** An interval for the next run's value of a percentile (results.json `latency.nextRun`). */
export interface NextRunInterval {
  low: number;
  high: number;
  /** Nominal probability that the next run's value falls inside, e.g. 0.95. */
  level: number;
  /** `history`: from earlier runs of the same job on the same device; `repeats`: from this run alone. */
  basis: 'history' | 'repeats';
  /** Runs it came from (this run included): 1 for `repeats`. */
  runs: number;
}

/** Is a job's latency a steady state (src/metrics/stability.ts)? */
export type StabilityFlagKind = 'tail' | 'outliers' | 'drift';

export interface StabilityFlag {
  kind: StabilityFlagKind;
  /** The measured figure: p99/p50, the outlier share (0..1), or the relative p50 drift. */
  value: number;
  /** The threshold it crossed. */
  threshold: number;
  /** What was seen and what to do, in words. */
  advice: string;
}

export interface Stability {
  flags: StabilityFlag[];
  /** The figures, flagged or not: p99/p50 (median over repeats), outlier share, largest |drift|. */
  tailRatio: number;
  outlierShare: number;
  drift: number;
}
