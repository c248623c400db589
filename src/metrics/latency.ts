/**
 * Steady-state latency statistics from raw samples: moments, percentiles with CIs, and
 * with repeats a hierarchical bootstrap that carries run-to-run variation into the CIs.
 */
import { BenchalignError } from '../errors.js';
import { percentileCi, percentileOfSorted, sortSamples } from './percentile.js';
import { createPrng } from './prng.js';
import { PERCENTILES } from './types.js';
import type { Estimate, LatencyStats, PercentileKey, SortedSamples } from './types.js';

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
 * replicate is the type-7 percentile of the pooled resample. Runs in O(B N) with no sort:
 * draws are counted on the pooled sorted order and the percentiles read off a cumulative scan.
 */
export function hierarchicalBootstrap(
  sortedRepeats: readonly SortedSamples[],
  levels: readonly number[],
  options: BootstrapOptions,
): Array<{ low: number; high: number }> {
  const k = sortedRepeats.length;
  const B = options.resamples;
  if (!Number.isInteger(B) || B < 10) {
    throw new BenchalignError('E_USAGE', `bootstrap resamples ${B}`, { expected: 'an integer >= 10' });
  }
  const offsets = new Int32Array(k + 1);
  for (let r = 0; r < k; r++) offsets[r + 1] = (offsets[r] as number) + (sortedRepeats[r] as SortedSamples).length;
  const total = offsets[k] as number;
  const values = new Float64Array(total);
  for (let r = 0; r < k; r++) values.set(sortedRepeats[r] as SortedSamples, offsets[r] as number);
  const order = new Int32Array(total);
  for (let i = 0; i < total; i++) order[i] = i;
  order.sort((a, b) => (values[a] as number) - (values[b] as number));
  const pooledValues = new Float64Array(total);
  for (let g = 0; g < total; g++) pooledValues[g] = values[order[g] as number] as number;

  // xoshiro128** inlined (same stream as createPrng(seed)): this loop makes B * N draws.
  const seeded = createPrng(options.seed);
  let s0 = seeded.nextUint32() | 0;
  let s1 = seeded.nextUint32() | 0;
  let s2 = seeded.nextUint32() | 0;
  let s3 = seeded.nextUint32() | 0;
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1;
  const counts = new Uint32Array(total);
  const nLevels = levels.length;
  const replicates = levels.map(() => new Float64Array(B));
  const needRank = new Float64Array(2 * nLevels);
  const needIdx = Array.from({ length: 2 * nLevels }, (_, i) => i);
  const got = new Float64Array(2 * nLevels);
  for (let b = 0; b < B; b++) {
    counts.fill(0);
    let size = 0;
    for (let c = 0; c < k; c++) {
      let x = Math.imul(Math.imul(s1, 5), 1);
      x = Math.imul((x << 7) | (x >>> 25), 9);
      let t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = (s3 << 11) | (s3 >>> 21);
      const r = Math.floor(((x >>> 0) * k) / 4294967296);
      const off = offsets[r] as number;
      const len = (offsets[r + 1] as number) - off;
      for (let i = 0; i < len; i++) {
        x = Math.imul(s1, 5);
        x = Math.imul((x << 7) | (x >>> 25), 9);
        t = s1 << 9;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = (s3 << 11) | (s3 >>> 21);
        const j = off + Math.floor(((x >>> 0) * len) / 4294967296);
        counts[j] = (counts[j] as number) + 1;
      }
      size += len;
    }
    for (let i = 0; i < nLevels; i++) {
      const lo = Math.floor((size - 1) * (levels[i] as number));
      needRank[2 * i] = lo;
      needRank[2 * i + 1] = Math.min(lo + 1, size - 1);
    }
    needIdx.sort((x, y) => (needRank[x] as number) - (needRank[y] as number));
    let cum = 0;
    let q = 0;
    for (let g = 0; g < total && q < needIdx.length; g++) {
      cum += counts[order[g] as number] as number;
      while (q < needIdx.length && (needRank[needIdx[q] as number] as number) < cum) {
        got[needIdx[q] as number] = pooledValues[g] as number;
        q++;
      }
    }
    for (let i = 0; i < nLevels; i++) {
      const h = (size - 1) * (levels[i] as number);
      const a = got[2 * i] as number;
      (replicates[i] as Float64Array)[b] = a + (h - Math.floor(h)) * ((got[2 * i + 1] as number) - a);
    }
  }
  const tail = (1 - options.confidence) / 2;
  return replicates.map((rep) => {
    rep.sort();
    return { low: percentileOfSorted(rep, tail), high: percentileOfSorted(rep, 1 - tail) };
  });
}
