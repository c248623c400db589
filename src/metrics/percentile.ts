/**
 * Percentiles and their distribution-free confidence intervals. One definition throughout:
 * Hyndman-Fan type 7 (numpy's default `method="linear"`), see docs/methodology.md.
 */
import { BenchalignError } from '../errors.js';
import { orderStatisticRanks } from './binomial.js';
import type { Estimate, SortedSamples } from '../model/measurements.js';

/** Nanoseconds to milliseconds. */
export function nsToMs(ns: number): number {
  return ns / 1e6;
}

/** Raw nanosecond samples to milliseconds. */
export function samplesNsToMs(samplesNs: readonly number[]): number[] {
  return samplesNs.map(nsToMs);
}

/** Sorts ascending (copying) and brands the result. Rejects NaN and infinities. */
export function sortSamples(xs: readonly number[]): SortedSamples {
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    if (x === undefined || !Number.isFinite(x)) {
      throw new BenchalignError('E_USAGE', `sample ${i} is ${String(x)}`, { expected: 'finite latency samples' });
    }
  }
  return Array.from(Float64Array.from(xs).sort()) as unknown as SortedSamples;
}

function checkProbability(p: number): void {
  if (!(p >= 0 && p <= 1)) {
    throw new BenchalignError('E_USAGE', `percentile level ${p} is out of range`, { expected: 'a fraction in [0, 1]' });
  }
}

function checkNonEmpty(sorted: SortedSamples): void {
  if (sorted.length === 0) throw new BenchalignError('E_USAGE', 'no samples', { expected: 'at least one sample' });
}

/**
 * The p-quantile (p in [0, 1]) by linear interpolation between order statistics
 * (Hyndman-Fan type 7): h = (n - 1) p, x[floor h] + (h - floor h)(x[floor h + 1] - x[floor h]).
 */
export function percentile(sorted: SortedSamples, p: number): number {
  checkProbability(p);
  checkNonEmpty(sorted);
  return percentileOfSorted(sorted, p);
}

/** Type 7 on any ascending array-like (no checks). */
export function percentileOfSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const a = sorted[lo] as number;
  if (lo + 1 >= n) return a;
  const b = sorted[lo + 1] as number;
  return a + (h - lo) * (b - a);
}

/**
 * The p-quantile with a distribution-free CI from binomial order statistics:
 * [x(l), x(u)] with P(l <= B(n, p) < u) >= confidence, ranks chosen narrowest first, then
 * with the most equal tails. With too few samples for the level, the bounds are the sample
 * extremes, `insufficientSamples` is true and `coverage` says what they achieve.
 */
export function percentileCi(sorted: SortedSamples, p: number, confidence = 0.95): Estimate {
  checkProbability(p);
  checkNonEmpty(sorted);
  if (!(confidence > 0 && confidence < 1)) {
    throw new BenchalignError('E_USAGE', `confidence ${confidence} is out of range`, { expected: 'a level in (0, 1)' });
  }
  const value = percentileOfSorted(sorted, p);
  const n = sorted.length;
  const ranks = orderStatisticRanks(n, p, confidence);
  const low = sorted[ranks.lower - 1] as number;
  const high = sorted[ranks.upper - 1] as number;
  const est: Estimate = { value, low, high, coverage: ranks.coverage };
  if (!ranks.sufficient) est.insufficientSamples = true;
  return est;
}
