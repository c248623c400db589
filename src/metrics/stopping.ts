/**
 * The adaptive stopping controller (pure): after each batch of timed iterations, decide
 * whether the CI targets are met, and how many iterations to run next.
 */
import { minSamplesForCi } from './binomial.js';
import { percentileCi, percentileOfSorted, sortSamples } from './percentile.js';
import type { Estimate, StoppingInfo } from '../model/measurements.js';

/** When to stop a timing loop. Every field has a default (DEFAULT_STOPPING_POLICY). */
export interface StoppingPolicy {
  /** Target half-width of the p50 CI, relative to p50 (0.01 = ±1%). Default 0.01. */
  targetRelHalfWidthP50?: number;
  /** Target half-width of the p99 CI, relative to p99, once p99 can be bounded. Default 0.05. */
  targetRelHalfWidthP99?: number;
  /** Never stop on the CI target before this much steady-state time, ms. Default 1000. */
  minDurationMs?: number;
  /** Stop (unstable unless the targets are met) after this much time, ms. Default 20000. */
  maxDurationMs?: number;
  /** Never stop on the CI target before this many iterations. Default 20. */
  minIterations?: number;
  /** Stop (unstable unless the targets are met) after this many iterations. Default 1000000. */
  maxIterations?: number;
  /**
   * Samples needed before the p99 target applies: the smallest n for which an
   * order-statistic interval reaches the confidence level (299 at 95%).
   */
  p99MinSamples?: number;
  /** Confidence level of the CIs. Default 0.95. */
  confidence?: number;
  /** Longest batch between two decisions, ms. Default 500. */
  maxBatchMs?: number;
  /** First batch, before any timing is known, iterations. Default 10. */
  initialBatch?: number;
}

export const DEFAULT_STOPPING_POLICY: Readonly<Required<StoppingPolicy>> = Object.freeze({
  targetRelHalfWidthP50: 0.01,
  targetRelHalfWidthP99: 0.05,
  minDurationMs: 1000,
  maxDurationMs: 20_000,
  minIterations: 20,
  maxIterations: 1_000_000,
  p99MinSamples: minSamplesForCi(0.99, 0.95),
  confidence: 0.95,
  maxBatchMs: 500,
  initialBatch: 10,
});

/** Where the timing loop stands. */
export interface StoppingState {
  /** Steady-state samples so far (after warm-up truncation), ms, in measurement order. */
  samplesMs: readonly number[];
  /** Steady-state time spent so far, ms. */
  elapsedMs: number;
  /** Iterations run so far (samples plus any discarded as warm-up). */
  iterations: number;
}

export interface StopDecision {
  stop: boolean;
  info: StoppingInfo;
  /** Iterations to run before deciding again; 0 when stopping. */
  nextBatch: number;
}

/** Half-width of a CI relative to its estimate: (high - low) / 2 / value. Infinity when unbounded. */
export function relHalfWidth(est: Estimate): number {
  if (est.insufficientSamples === true || !(est.value > 0)) return Infinity;
  return (est.high - est.low) / 2 / est.value;
}

const pct = (x: number): number => (Number.isFinite(x) ? x * 100 : Infinity);

/** Decide whether to stop, per the policy (defaults: DEFAULT_STOPPING_POLICY). */
export function decideStop(state: StoppingState, policy: StoppingPolicy = {}): StopDecision {
  const p = { ...DEFAULT_STOPPING_POLICY, ...policy };
  const n = state.samplesMs.length;
  const sorted = n > 0 ? sortSamples(state.samplesMs) : undefined;
  const hw50 = sorted ? relHalfWidth(percentileCi(sorted, 0.5, p.confidence)) : Infinity;
  const p99Checkable = sorted !== undefined && n >= p.p99MinSamples;
  const hw99 = p99Checkable ? relHalfWidth(percentileCi(sorted, 0.99, p.confidence)) : undefined;
  const ciMet = hw50 <= p.targetRelHalfWidthP50 && (hw99 === undefined || hw99 <= p.targetRelHalfWidthP99);
  const minsMet = state.elapsedMs >= p.minDurationMs && state.iterations >= p.minIterations;

  const info: StoppingInfo = { reason: 'ci-target', stable: ciMet, p50HalfWidthPct: pct(hw50) };
  if (hw99 !== undefined) info.p99HalfWidthPct = pct(hw99);

  const perIterMs = state.iterations > 0 ? state.elapsedMs / state.iterations : undefined;
  let neededTotal = n > 0 && Number.isFinite(hw50) ? n * (hw50 / p.targetRelHalfWidthP50) ** 2 : 2 * Math.max(n, 1);
  if (hw99 !== undefined) {
    neededTotal = Math.max(neededTotal, Number.isFinite(hw99) ? n * (hw99 / p.targetRelHalfWidthP99) ** 2 : 2 * n);
  }

  let stop = false;
  if (ciMet && minsMet) stop = true;
  else if (state.elapsedMs >= p.maxDurationMs) {
    stop = true;
    info.reason = 'max-duration';
  } else if (state.iterations >= p.maxIterations) {
    stop = true;
    info.reason = 'max-iterations';
  }
  if (stop) {
    if (!info.stable) info.recommendation = recommend(state, p, hw50, hw99, neededTotal, perIterMs, info.reason);
    return { stop, info, nextBatch: 0 };
  }

  if (perIterMs === undefined || perIterMs <= 0) return { stop, info, nextBatch: Math.max(1, p.initialBatch) };
  const want = Math.max(
    Math.ceil(neededTotal - n),
    p.minIterations - state.iterations,
    Math.ceil((p.minDurationMs - state.elapsedMs) / perIterMs),
    Math.ceil(0.1 * n),
    1,
  );
  const cap = Math.min(
    p.maxIterations - state.iterations,
    Math.ceil((p.maxDurationMs - state.elapsedMs) / perIterMs),
    Math.max(1, Math.floor(p.maxBatchMs / perIterMs)),
  );
  return { stop, info, nextBatch: Math.max(1, Math.min(want, cap)) };
}

function recommend(
  state: StoppingState,
  p: Required<StoppingPolicy>,
  hw50: number,
  hw99: number | undefined,
  neededTotal: number,
  perIterMs: number | undefined,
  reason: StoppingInfo['reason'],
): string {
  const xs = state.samplesMs;
  const n = xs.length;
  if (n === 0) return 'no steady-state samples were measured: increase maxDurationMs or check the warm-up bounds';
  const parts: string[] = [];
  const what =
    hw99 !== undefined && hw99 > p.targetRelHalfWidthP99 && !(hw50 > p.targetRelHalfWidthP50)
      ? `p99 CI ±${pct(hw99).toFixed(2)}% (target ±${pct(p.targetRelHalfWidthP99).toFixed(2)}%)`
      : `p50 CI ±${pct(hw50).toFixed(2)}% (target ±${pct(p.targetRelHalfWidthP50).toFixed(2)}%)`;
  if (perIterMs !== undefined && Number.isFinite(neededTotal)) {
    const needS = (neededTotal * perIterMs) / 1000;
    const knob = reason === 'max-iterations' ? `maxIterations to about ${Math.ceil(neededTotal)}` : `maxDurationMs to about ${Math.ceil(needS * 1000)}`;
    parts.push(`${what} after ${n} samples: increase ${knob}`);
  } else {
    parts.push(`${what} after ${n} samples: increase maxDurationMs`);
  }
  const half = Math.floor(n / 2);
  if (half >= 10) {
    const a = percentileOfSorted(sortSamples(xs.slice(0, half)), 0.5);
    const b = percentileOfSorted(sortSamples(xs.slice(half)), 0.5);
    const drift = Math.abs(b - a) / a;
    if (drift > Math.max(2 * p.targetRelHalfWidthP50, 0.005)) {
      parts.push(
        `p50 moved ${(drift * 100).toFixed(1)}% between the first and second half of the run: pin the CPU frequency (governor "performance", turbo off) and check for thermal throttling`,
      );
    }
  }
  const sorted = sortSamples(xs);
  const p50 = percentileOfSorted(sorted, 0.5);
  const p99 = percentileOfSorted(sorted, 0.99);
  let mean = 0;
  for (const x of xs) mean += x / n;
  let ss = 0;
  for (const x of xs) ss += (x - mean) ** 2;
  const cv = n > 1 ? Math.sqrt(ss / (n - 1)) / mean : 0;
  if (p99 / p50 > 1.5 || cv > 0.1) {
    parts.push(
      `high dispersion (p99/p50 ${(p99 / p50).toFixed(2)}, cv ${(cv * 100).toFixed(1)}%): stop background load, pin the worker to isolated cores (taskset, isolcpus) and fix the engine's thread count`,
    );
  }
  return parts.join('; ');
}
