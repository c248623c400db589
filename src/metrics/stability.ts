/**
 * Is a job's latency a steady state? Flags from the shape of the samples, whatever the CI
 * width (docs/methodology.md, "Stability"): a heavy tail (p99/p50), a share of outliers, and
 * drift between the halves of a repeat. Pure.
 */
import type { Stability, StabilityFlag } from '../model/measurements.js';
import { percentileOfSorted, sortSamples } from './percentile.js';

export type { Stability, StabilityFlag, StabilityFlagKind } from '../model/measurements.js';

export interface StabilityThresholds {
  /** p99/p50 above this: heavy tail. Default 2. */
  tailRatio?: number;
  /** Outlier share above this: outliers. Default 0.01. */
  outlierShare?: number;
  /** A sample is an outlier above median + this many robust sigmas (1.4826 MAD), and above 1.1 x median. Default 6. */
  outlierSigmas?: number;
  /** |p50 of 2nd half / p50 of 1st half - 1| of any repeat above this: drift. Default 0.02. */
  drift?: number;
}

export const DEFAULT_STABILITY_THRESHOLDS: Readonly<Required<StabilityThresholds>> = Object.freeze({ tailRatio: 2, outlierShare: 0.01, outlierSigmas: 6, drift: 0.02 });

/** Fewest samples in a repeat for its halves to be compared. */
const MIN_DRIFT_SAMPLES = 40;

/**
 * Stability of a job from the steady-state samples of each repeat, in measurement order (ms).
 * Each figure is computed per repeat: the tail ratio and the outlier share as the median over
 * repeats (one process's bad luck is the drift flag's or the between-repeat spread's concern),
 * the drift as the largest over repeats.
 */
export function assessStability(repeatsMs: readonly (readonly number[])[], thresholds: StabilityThresholds = {}): Stability {
  const t = { ...DEFAULT_STABILITY_THRESHOLDS, ...thresholds };
  const reps = repeatsMs.filter((r) => r.length > 0);
  const ratios: number[] = [];
  const shares: number[] = [];
  let drift = 0;
  let driftSign = 0;
  for (const r of reps) {
    const s = sortSamples(r);
    const p50 = percentileOfSorted(s, 0.5);
    ratios.push(percentileOfSorted(s, 0.99) / p50);
    const mad = percentileOfSorted(sortSamples(r.map((x) => Math.abs(x - p50))), 0.5);
    const cut = Math.max(p50 + t.outlierSigmas * 1.4826 * mad, 1.1 * p50);
    let out = 0;
    for (const x of r) if (x > cut) out++;
    shares.push(out / r.length);
    if (r.length >= MIN_DRIFT_SAMPLES) {
      const half = Math.floor(r.length / 2);
      const a = percentileOfSorted(sortSamples(r.slice(0, half)), 0.5);
      const b = percentileOfSorted(sortSamples(r.slice(half)), 0.5);
      const d = b / a - 1;
      if (Math.abs(d) > Math.abs(drift)) {
        drift = Math.abs(d);
        driftSign = Math.sign(d);
      }
    }
  }
  const med = (xs: number[]): number => (xs.length > 0 ? percentileOfSorted(Float64Array.from(xs).sort(), 0.5) : 0);
  const tailRatio = med(ratios);
  const outlierShare = med(shares);
  const flags: StabilityFlag[] = [];
  if (tailRatio > t.tailRatio) {
    flags.push({
      kind: 'tail',
      value: tailRatio,
      threshold: t.tailRatio,
      advice: `heavy tail: p99/p50 ${tailRatio.toFixed(2)} (> ${t.tailRatio}): p99 is set by stalls, not by the engine's steady state; stop background load, pin the worker to isolated cores (taskset, isolcpus), fix the engine's thread count, and look for allocator or GC pauses`,
    });
  }
  if (outlierShare > t.outlierShare) {
    flags.push({
      kind: 'outliers',
      value: outlierShare,
      threshold: t.outlierShare,
      advice: `outliers: ${(outlierShare * 100).toFixed(1)}% of samples above median + ${t.outlierSigmas} robust sigmas (> ${(t.outlierShare * 100).toFixed(1)}%): something preempts the worker; check other load, CPU frequency scaling and interrupts`,
    });
  }
  if (drift > t.drift) {
    flags.push({
      kind: 'drift',
      value: drift,
      threshold: t.drift,
      advice: `drift: p50 ${driftSign > 0 ? 'rose' : 'fell'} ${(drift * 100).toFixed(1)}% between the halves of a repeat (> ${(t.drift * 100).toFixed(1)}%): not a steady state; pin the CPU frequency (governor "performance", turbo off), check for thermal throttling, or raise warmup.maxMs`,
    });
  }
  return { flags, tailRatio, outlierShare, drift };
}
