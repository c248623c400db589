/**
 * Warm-up truncation by MSER-5 (White 1997; White, Cobb and Spratt 2000): batch the series
 * into means of `batchSize` samples, and discard the d leading batches that minimise
 * sum_{j>=d} (Y_j - mean(Y_d..))^2 / (m - d)^2.
 */
import { BenchalignError } from '../errors.js';

/** Bounds of the MSER search. All counts are raw samples. */
export interface MserOptions {
  /** Samples per batch mean. Default 5 (MSER-5). */
  batchSize?: number;
  /** Minimum warm-up, raw samples (rounded up to whole batches). Default 0. */
  minDiscard?: number;
  /** Maximum warm-up as a fraction of the series. Default 0.5 (White's bound n/2). */
  maxDiscardFraction?: number;
  /** Maximum warm-up, raw samples (rounded down to whole batches). Default: no bound beyond the fraction. */
  maxDiscard?: number;
}

export interface MserResult {
  /** Raw samples to discard from the start (a multiple of batchSize). */
  discard: number;
  /**
   * True when the minimum sits at the largest discard allowed (and that bound was above
   * the smallest): steady state was not reached within the bound, the run is too short.
   */
  hitMax: boolean;
}

/** MSER-5 truncation point of a latency series, in raw samples. */
export function mserTruncation(samplesMs: readonly number[], options: MserOptions = {}): MserResult {
  const batchSize = options.batchSize ?? 5;
  const minDiscard = options.minDiscard ?? 0;
  const maxFraction = options.maxDiscardFraction ?? 0.5;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new BenchalignError('E_USAGE', `MSER batch size ${batchSize}`, { expected: 'a positive integer' });
  }
  if (!(maxFraction >= 0 && maxFraction < 1)) {
    throw new BenchalignError('E_USAGE', `MSER maxDiscardFraction ${maxFraction}`, { expected: 'a fraction in [0, 1)' });
  }
  const n = samplesMs.length;
  const m = Math.floor(n / batchSize);
  const maxRaw = Math.min(options.maxDiscard ?? Infinity, Math.floor(maxFraction * n));
  const dMin = Math.ceil(Math.max(0, minDiscard) / batchSize);
  const dMax = Math.min(Math.floor(maxRaw / batchSize), m - 2);
  if (m < 2 || dMax < dMin) {
    return { discard: Math.min(Math.max(0, minDiscard), n), hitMax: false };
  }
  const y = new Float64Array(m);
  for (let j = 0; j < m; j++) {
    let s = 0;
    for (let i = 0; i < batchSize; i++) s += samplesMs[j * batchSize + i] as number;
    y[j] = s / batchSize;
  }
  // Welford's update from the end: after adding y[d], M2 / k^2 is the statistic of d.
  const stats = new Float64Array(dMax - dMin + 1);
  let mean = 0;
  let m2 = 0;
  for (let j = m - 1; j >= dMin; j--) {
    const k = m - j;
    const v = y[j] as number;
    const delta = v - mean;
    mean += delta / k;
    m2 += delta * (v - mean);
    if (j <= dMax) stats[j - dMin] = m2 / (k * k);
  }
  let bestD = dMin;
  let bestStat = stats[0] as number;
  for (let d = dMin + 1; d <= dMax; d++) {
    const stat = stats[d - dMin] as number;
    if (stat < bestStat * (1 - 1e-12)) {
      bestStat = stat;
      bestD = d;
    }
  }
  return { discard: bestD * batchSize, hitMax: bestD === dMax && dMax > dMin };
}
