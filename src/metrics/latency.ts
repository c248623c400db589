/**
 * Steady-state latency statistics from raw samples: moments, percentiles with CIs, and
 * with repeats a hierarchical bootstrap that carries run-to-run variation into the CIs.
 */
import { BenchalignError } from '../errors.js';
import { percentileCi, percentileOfSorted, sortSamples } from './percentile.js';
import { sampleBinomial } from './binomial.js';
import { createPrng, nextDouble53 } from './prng.js';
import { PERCENTILES } from '../model/measurements.js';
import type { Estimate, LatencyStats, PercentileKey, SortedSamples } from '../model/measurements.js';

/** Min, mean, sample standard deviation (n - 1; 0 for one sample) and max, ms. */
export interface Moments {
  count: number;
  minMs: number;
  meanMs: number;
  sdMs: number;
  maxMs: number;
}

/** Moments of a sample (two-pass mean and variance). */
export function moments(samplesMs: readonly number[]): Moments {
  const n = samplesMs.length;
  if (n === 0) throw new BenchalignError('E_USAGE', 'no samples', { expected: 'at least one sample' });
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const x of samplesMs) {
    if (x < min) min = x;
    if (x > max) max = x;
    sum += x;
  }
  const mean = sum / n;
  let ss = 0;
  for (const x of samplesMs) ss += (x - mean) * (x - mean);
  return { count: n, minMs: min, meanMs: mean, sdMs: n > 1 ? Math.sqrt(ss / (n - 1)) : 0, maxMs: max };
}

/** Options of `summarizeLatency`. */
export interface SummarizeOptions {
  /** Bootstrap resamples with repeats > 1. Default 2000. */
  bootstrapResamples?: number;
  /** PRNG seed of the bootstrap. Default 1. Same seed, same samples: same result. */
  seed?: number;
  /** Confidence level of every CI. Default 0.95. */
  confidence?: number;
}

const KEYS = Object.keys(PERCENTILES) as PercentileKey[];

/**
 * Latency statistics of one job. `repeatsMs` holds the steady-state samples (after warm-up
 * truncation) of each independent worker process, in ms. One repeat: CIs from binomial
 * order statistics. Several: CIs from a hierarchical bootstrap, and `betweenRepeats`.
 */
export function summarizeLatency(repeatsMs: readonly (readonly number[])[], options: SummarizeOptions = {}): LatencyStats {
  const repeats = repeatsMs.filter((r) => r.length > 0);
  if (repeats.length === 0) {
    throw new BenchalignError('E_USAGE', 'no latency samples in any repeat', { expected: 'at least one sample' });
  }
  const confidence = options.confidence ?? 0.95;
  const pooled = repeats.flat();
  const sorted = sortSamples(pooled);
  const m = moments(pooled);
  const base = { count: m.count, minMs: m.minMs, meanMs: m.meanMs, sdMs: m.sdMs, maxMs: m.maxMs };
  if (repeats.length === 1) {
    const percentiles = {} as Record<PercentileKey, Estimate>;
    for (const key of KEYS) percentiles[key] = percentileCi(sorted, PERCENTILES[key], confidence);
    return { ...base, percentiles, ciMethod: 'binomial-order-statistics', repeats: 1 };
  }
  const sortedRepeats = repeats.map((r) => sortSamples(r));
  const levels = KEYS.map((k) => PERCENTILES[k]);
  const intervals = hierarchicalBootstrap(sortedRepeats, levels, {
    resamples: options.bootstrapResamples ?? 2000,
    seed: options.seed ?? 1,
    confidence,
  });
  const percentiles = {} as Record<PercentileKey, Estimate>;
  KEYS.forEach((key, i) => {
    const ci = intervals[i] as { low: number; high: number };
    percentiles[key] = { value: percentileOfSorted(sorted, PERCENTILES[key]), low: ci.low, high: ci.high };
  });
  return {
    ...base,
    percentiles,
    ciMethod: 'hierarchical-bootstrap',
    repeats: repeats.length,
    betweenRepeats: {
      p50PerRepeatMs: sortedRepeats.map((r) => percentileOfSorted(r, 0.5)),
      p99PerRepeatMs: sortedRepeats.map((r) => percentileOfSorted(r, 0.99)),
      withinOnlyP50: percentileCi(sorted, 0.5, confidence),
    },
  };
}

/** Options of `hierarchicalBootstrap`. */
export interface BootstrapOptions {
  /** Number of bootstrap resamples B. */
  resamples: number;
  seed: number;
  /** Confidence level; the bounds are the (1-c)/2 and (1+c)/2 type-7 quantiles of the B replicates. */
  confidence: number;
}

/**
 * Two-level bootstrap percentile intervals. Each resample draws k repeats with replacement,
 * then, for each drawn repeat, as many samples as it holds, with replacement, from it; the
 * replicate is the type-7 percentile of the pooled resample.
 *
 * No resample is materialised. The draws from one repeat are a multinomial over its
 * samples, so the number falling left of any cut of the pooled sorted order is binomial given
 * the number in the enclosing range. Bisecting the pooled order and splitting each repeat's
 * count with exact binomial draws, down only the branches that hold a wanted rank, gives the
 * wanted order statistics of the resample exactly, in O(k log N sqrt(N / k)) per resample
 * instead of O(N).
 */
export function hierarchicalBootstrap(
  sortedRepeats: readonly SortedSamples[],
  levels: readonly number[],
  options: BootstrapOptions,
): Array<{ low: number; high: number }> {
  const replicates = hierarchicalBootstrapReplicates(sortedRepeats, levels, options);
  const tail = (1 - options.confidence) / 2;
  return replicates.map((rep) => {
    rep.sort();
    return { low: percentileOfSorted(rep, tail), high: percentileOfSorted(rep, 1 - tail) };
  });
}

/**
 * The B bootstrap replicates of each level (same draws as `hierarchicalBootstrap`), in draw
 * order, one array per level: for two-sample comparisons (ratios of replicates).
 */
export function hierarchicalBootstrapReplicates(
  sortedRepeats: readonly SortedSamples[],
  levels: readonly number[],
  options: Omit<BootstrapOptions, 'confidence'>,
): Float64Array[] {
  const k = sortedRepeats.length;
  const B = options.resamples;
  if (!Number.isInteger(B) || B < 10) {
    throw new BenchalignError('E_USAGE', `bootstrap resamples ${B}`, { expected: 'an integer >= 10' });
  }
  const sizes = sortedRepeats.map((r) => r.length);
  const total = sizes.reduce((a, b) => a + b, 0);
  const values = new Float64Array(total);
  const owner = new Int32Array(total);
  let o = 0;
  sortedRepeats.forEach((rep, r) => {
    for (const v of rep) {
      values[o] = v;
      owner[o] = r;
      o++;
    }
  });
  const order = new Int32Array(total);
  for (let i = 0; i < total; i++) order[i] = i;
  order.sort((a, b) => (values[a] as number) - (values[b] as number) || a - b);
  const pooled = new Float64Array(total);
  const posOf = sizes.map((n) => new Int32Array(n));
  const fill = new Int32Array(k);
  for (let g = 0; g < total; g++) {
    const src = order[g] as number;
    pooled[g] = values[src] as number;
    const r = owner[src] as number;
    (posOf[r] as Int32Array)[fill[r] as number] = g;
    fill[r] = (fill[r] as number) + 1;
  }
  // number of repeat r's samples at pooled positions < g
  const before = (r: number, g: number): number => {
    const pos = posOf[r] as Int32Array;
    let lo = 0;
    let hi = pos.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((pos[mid] as number) < g) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };

  const rng = createPrng(options.seed);
  const nLevels = levels.length;
  const replicates = levels.map(() => new Float64Array(B));
  const got = new Map<number, number>();
  const mult = new Int32Array(k);

  const descend = (
    L: number,
    R: number,
    active: Int32Array,
    counts: Float64Array,
    lows: Int32Array,
    highs: Int32Array,
    rankBase: number,
    ranks: number[],
  ): void => {
    if (R - L === 1) {
      for (const rank of ranks) got.set(rank, pooled[L] as number);
      return;
    }
    const M = (L + R) >>> 1;
    const n = active.length;
    const left = new Float64Array(n);
    const mids = new Int32Array(n);
    let leftTotal = 0;
    for (let a = 0; a < n; a++) {
      const lo = lows[a] as number;
      const hi = highs[a] as number;
      const mid = before(active[a] as number, M);
      mids[a] = mid;
      const c = counts[a] as number;
      if (c === 0 || hi === lo) continue;
      const x = sampleBinomial(c, (mid - lo) / (hi - lo), nextDouble53(rng));
      left[a] = x;
      leftTotal += x;
    }
    const cut = rankBase + leftTotal;
    const leftRanks = ranks.filter((r) => r < cut);
    const rightRanks = ranks.filter((r) => r >= cut);
    if (leftRanks.length > 0) descend(L, M, active, left, lows, mids, rankBase, leftRanks);
    if (rightRanks.length > 0) {
      const right = new Float64Array(n);
      for (let a = 0; a < n; a++) right[a] = (counts[a] as number) - (left[a] as number);
      descend(M, R, active, right, mids, highs, cut, rightRanks);
    }
  };

  for (let b = 0; b < B; b++) {
    mult.fill(0);
    for (let c = 0; c < k; c++) {
      const r = rng.nextInt(k);
      mult[r] = (mult[r] as number) + 1;
    }
    const activeList: number[] = [];
    for (let r = 0; r < k; r++) if ((mult[r] as number) > 0) activeList.push(r);
    const active = Int32Array.from(activeList);
    const counts = Float64Array.from(activeList, (r) => (mult[r] as number) * (sizes[r] as number));
    const size = counts.reduce((a, c) => a + c, 0);
    const wanted = new Set<number>();
    for (let i = 0; i < nLevels; i++) {
      const lo = Math.floor((size - 1) * (levels[i] as number));
      wanted.add(lo);
      wanted.add(Math.min(lo + 1, size - 1));
    }
    got.clear();
    descend(
      0,
      total,
      active,
      counts,
      new Int32Array(active.length),
      Int32Array.from(activeList, (r) => sizes[r] as number),
      0,
      [...wanted].sort((x, y) => x - y),
    );
    for (let i = 0; i < nLevels; i++) {
      const h = (size - 1) * (levels[i] as number);
      const lo = Math.floor(h);
      const a = got.get(lo) as number;
      const c = got.get(Math.min(lo + 1, size - 1)) as number;
      (replicates[i] as Float64Array)[b] = a + (h - lo) * (c - a);
    }
  }
  return replicates;
}
