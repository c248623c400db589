/**
 * The intervals of a job's latency, each named for the question it answers
 * (docs/methodology.md, "Intervals"):
 *
 * - the in-run CI of a percentile with repeats: a Student t interval on the log of each
 *   repeat's own percentile, k - 1 degrees of freedom (`repeatsPercentileCi`);
 * - the interval for the next run's p50/p99 on the same device: a t prediction interval from
 *   the store's history of the same job (`nextRunFromHistory`), or, without enough history,
 *   from this run's repeats widened by an assumed run-to-run drift (`nextRunFromRepeats`).
 *
 * Pure: no I/O. Every interval is checked against simulated data with known truth
 * (test/metrics/intervals.test.ts) and its t quantiles against scipy.
 */
import { BenchalignError } from '../errors.js';
import { normalCdf, tQuantile } from './distributions.js';
import { percentileCi, percentileOfSorted } from './percentile.js';
import type { Estimate, NextRunInterval, SortedSamples } from '../model/measurements.js';

export type { NextRunInterval } from '../model/measurements.js';

/**
 * Extra variation of log(next run / this run) (a standard deviation) that one run's repeats cannot
 * see: processes started minutes apart share less than processes of one run (frequency and
 * thermal state, other load, memory placement). Used only by `nextRunFromRepeats`; the
 * history basis measures it. Values: docs/methodology.md (calibration benchmark).
 */
export const DEFAULT_RUN_TO_RUN_CV: Readonly<Record<'p50' | 'p99', number>> = Object.freeze({ p50: 0.02, p99: 0.05 });

/** Between-process spread assumed when a run has a single repeat (log sd). */
export const DEFAULT_BETWEEN_PROCESS_CV: Readonly<Record<'p50' | 'p99', number>> = Object.freeze({ p50: 0.005, p99: 0.02 });

/** Fewest runs (this one included) for a `history` basis. */
export const MIN_HISTORY_RUNS = 4;
/** Most recent runs used by the history basis. */
export const HISTORY_WINDOW = 20;

/** The two-sided critical value of Student t (df > 0) or the normal (df = Infinity). */
export function criticalValue(confidence: number, df: number): number {
  const q = 1 - (1 - confidence) / 2;
  if (df === Infinity) return normalQuantile(q);
  return tQuantile(q, df);
}

/** The q-quantile of the standard normal (bisection on the CDF). */
export function normalQuantile(q: number): number {
  let lo = -40;
  let hi = 40;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (normalCdf(mid) < q) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Mean and sample standard deviation (n - 1) of the logs of positive values. */
export function logMeanSd(values: readonly number[]): { mean: number; sd: number; n: number } {
  const logs = values.map((v) => {
    if (!(v > 0) || !Number.isFinite(v)) throw new BenchalignError('E_USAGE', `value ${v}`, { expected: 'positive finite latencies' });
    return Math.log(v);
  });
  const n = logs.length;
  if (n === 0) throw new BenchalignError('E_USAGE', 'no values', { expected: 'at least one value' });
  const mean = logs.reduce((a, b) => a + b, 0) / n;
  let ss = 0;
  for (const x of logs) ss += (x - mean) * (x - mean);
  return { mean, sd: n > 1 ? Math.sqrt(ss / (n - 1)) : 0, n };
}

/**
 * The t interval on log values: exp(mean ± t(k-1) sd / sqrt k), centred on the geometric
 * mean. Needs at least two values.
 */
export function logTInterval(values: readonly number[], confidence = 0.95): Estimate {
  const { mean, sd, n } = logMeanSd(values);
  if (n < 2) throw new BenchalignError('E_USAGE', 'a t interval needs at least two values', { expected: '>= 2 repeats' });
  const hw = (criticalValue(confidence, n - 1) * sd) / Math.sqrt(n);
  return { value: Math.exp(mean), low: Math.exp(mean - hw), high: Math.exp(mean + hw) };
}

/**
 * The in-run estimate of one percentile: with one repeat, the pooled type-7 percentile and its
 * binomial order-statistic CI; with k >= 2, the geometric mean of each repeat's own type-7
 * percentile and the t interval on their logs (k - 1 df). Flagged `insufficientSamples` when
 * a repeat holds fewer samples than `minPerRepeat` (its own percentile is then mostly its
 * extreme, and the interval is about that, not about the percentile of the distribution).
 */
export function repeatsPercentileCi(sortedRepeats: readonly SortedSamples[], level: number, confidence = 0.95, minPerRepeat = 0): Estimate {
  const reps = sortedRepeats.filter((r) => r.length > 0);
  if (reps.length === 0) throw new BenchalignError('E_USAGE', 'no samples', { expected: 'at least one sample' });
  if (reps.length === 1) return percentileCi(reps[0] as SortedSamples, level, confidence);
  const est = logTInterval(
    reps.map((r) => percentileOfSorted(r, level)),
    confidence,
  );
  if (reps.some((r) => r.length < minPerRepeat)) est.insufficientSamples = true;
  return est;
}

/** Inputs of `nextRunFromRepeats`. */
export interface RepeatsPrediction {
  /** This run's own percentile of each repeat, ms. */
  perRepeat: readonly number[];
  /** With one repeat: the within-run CI of the percentile (its spread stands for the process's sampling error). */
  withinCi?: Pick<Estimate, 'low' | 'high'>;
  /** Run-to-run drift (log sd) that the repeats cannot see. */
  runToRunCv: number;
  /** Between-process spread (log sd) assumed with one repeat. */
  betweenProcessCv: number;
  /** Repeats the next run will have; default the same as this one. */
  nextRepeats?: number;
  confidence?: number;
}

/**
 * The next run's value predicted from this run alone. With k >= 2 repeats of log sd s:
 * log(next) - log(this) has variance s^2 (1/k + 1/k') + tau^2, with tau the run-to-run drift;
 * the half-width is sqrt((t(k-1) s sqrt(1/k + 1/k'))^2 + (z tau)^2). With one repeat, s is
 * the assumed between-process spread plus the within-run sampling error (from its CI), normal.
 * Calibrated when the true run-to-run drift is at most `runToRunCv` (simulation: tests).
 */
export function nextRunFromRepeats(input: RepeatsPrediction): NextRunInterval {
  const confidence = input.confidence ?? 0.95;
  const { mean, sd, n } = logMeanSd(input.perRepeat);
  const kNext = input.nextRepeats ?? n;
  const z = criticalValue(confidence, Infinity);
  let processPart: number;
  if (n >= 2) {
    processPart = criticalValue(confidence, n - 1) * sd * Math.sqrt(1 / n + 1 / kNext);
  } else {
    const w = input.withinCi;
    const withinSe = w && w.low > 0 && w.high > 0 ? (Math.log(w.high) - Math.log(w.low)) / (2 * z) : 0;
    const s2 = withinSe * withinSe + input.betweenProcessCv * input.betweenProcessCv;
    processPart = z * Math.sqrt(s2 * (1 + 1 / kNext));
  }
  const hw = Math.sqrt(processPart * processPart + (z * input.runToRunCv) ** 2);
  return { low: Math.exp(mean - hw), high: Math.exp(mean + hw), level: confidence, basis: 'repeats', runs: 1 };
}

/**
 * The next run's value predicted from the history of the same job: `runValues` are the run
 * values of earlier runs and this one, oldest first. Of the last HISTORY_WINDOW, with n values
 * of log mean m and sd s: exp(m ± t(n-1) s sqrt(1 + 1/n)), the Student t prediction interval
 * for one more draw (exact for normal, independent run values). Undefined with fewer than
 * MIN_HISTORY_RUNS values.
 */
export function nextRunFromHistory(runValues: readonly number[], confidence = 0.95, window = HISTORY_WINDOW): NextRunInterval | undefined {
  const vals = runValues.filter((v) => v > 0 && Number.isFinite(v)).slice(-window);
  if (vals.length < MIN_HISTORY_RUNS) return undefined;
  const { mean, sd, n } = logMeanSd(vals);
  const hw = criticalValue(confidence, n - 1) * sd * Math.sqrt(1 + 1 / n);
  return { low: Math.exp(mean - hw), high: Math.exp(mean + hw), level: confidence, basis: 'history', runs: n };
}

/** Relative half-width of an interval about its geometric centre: sqrt(high / low) - 1. */
export function relHalfWidthLog(iv: Pick<Estimate, 'low' | 'high'>): number {
  return Math.sqrt(iv.high / iv.low) - 1;
}

/**
 * The stopping target floor of the next repeat of a job (docs/methodology.md, "Adaptive
 * stopping"): with per-repeat values from at least two earlier repeats, the sample log sd s
 * between them. A repeat whose own CI half-width is at most s has a within-process standard
 * error of at most s / 1.96, which adds at most a quarter to the between-repeat variance that
 * the combined interval is made of: more samples in that process buy almost nothing.
 * Undefined with fewer than two values.
 */
export function repeatTargetFloor(perRepeat: readonly number[]): number | undefined {
  if (perRepeat.length < 2) return undefined;
  return logMeanSd(perRepeat).sd;
}
