/**
 * The statistics of comparing two runs (`benchalign regress`, `signoff`; docs/regress.md): the
 * between-run noise of a job's history, the two-sample comparison of one latency percentile,
 * the verdict rule and the repeats that would decide.
 */
import { median, normalCdf, tQuantile, twoSidedP, twoSidedT } from './distributions.js';
import { criticalValue, logMeanSd } from './intervals.js';
import { percentileCi, percentileOfSorted, sortSamples } from './percentile.js';

/** Default between-run coefficients of variation (DESIGN.md: p50 of fresh processes spread ~0.3%). */
export const DEFAULT_BETWEEN_RUN_CV: Record<'p50' | 'p99', number> = { p50: 0.003, p99: 0.02 };

/** Fewest history values for a measured between-run CV (else the default is used). */
export const MIN_HISTORY_VALUES = 4;

export interface BetweenRunNoise {
  /** Standard deviation of log(metric) between independent runs (about the CV). */
  cv: number;
  source: 'history' | 'default';
  /** Number of history values it came from. */
  values: number;
}

/**
 * Between-run noise of a job from its history: `values` are the metric of independent
 * worker processes (per-repeat values, or run values), oldest first. The noise is the
 * MAD-based sigma of successive differences of log values divided by sqrt 2, so a real step
 * in the history (one large difference) does not inflate it. Fewer than MIN_HISTORY_VALUES
 * values: the default CV.
 */
export function betweenRunNoise(values: readonly number[], fallbackCv: number): BetweenRunNoise {
  const logs = values.filter((v) => v > 0 && Number.isFinite(v)).map(Math.log);
  if (logs.length < MIN_HISTORY_VALUES) return { cv: fallbackCv, source: 'default', values: logs.length };
  const diffs: number[] = [];
  for (let i = 1; i < logs.length; i++) diffs.push(Math.abs((logs[i] as number) - (logs[i - 1] as number)));
  const sigma = (1.4826 * median(diffs)) / Math.SQRT2;
  return { cv: sigma, source: 'history', values: logs.length };
}

/** One side of a comparison: raw samples (ms) per repeat, or only a summary. */
export type Side =
  | { kind: 'samples'; repeatsMs: readonly (readonly number[])[] }
  | { kind: 'summary'; value: number; low: number; high: number; repeats: number };

export interface MetricComparisonInput {
  level: number;
  baseline: Side;
  current: Side;
  /** Between-run noise of this job and metric. */
  noise: BetweenRunNoise;
  confidence?: number;
  /** Unused since the per-repeat t model replaced the bootstrap (kept for callers). */
  resamples?: number;
  /** Unused (kept for callers). */
  seed?: number;
}

export interface MetricComparison {
  baselineMs: number;
  currentMs: number;
  ratio: number;
  ratioLow: number;
  ratioHigh: number;
  /** Standard error of log(ratio). */
  se: number;
  /** log(ratio) / se. */
  z: number;
  p: number;
  /** Degrees of freedom of the Student t reference; 0: normal (variance from history or CIs). */
  df: number;
  /** How each side's variance was obtained. */
  method: string;
}

interface SideEstimate {
  value: number;
  /** Variance of log(value). */
  variance: number;
  repeats: number;
  /** Degrees of freedom when the variance was estimated from this side's own repeats; 0 when it came from the history or a CI. */
  df: number;
  method: string;
}

const Z95 = 1.959963984540054;

function logWidthVariance(low: number, high: number, confidence: number): number {
  if (!(low > 0 && high > 0)) return 0;
  const z = zOf(confidence);
  const s = (Math.log(high) - Math.log(low)) / (2 * z);
  return s * s;
}

function logWidthSe(low: number, high: number, crit: number): number {
  return low > 0 && high > 0 ? (Math.log(high) - Math.log(low)) / (2 * crit) : 0;
}

function zOf(confidence: number): number {
  if (Math.abs(confidence - 0.95) < 1e-12) return Z95;
  // bisection on the normal CDF: fine for the few calls made
  let lo = 0;
  let hi = 10;
  const target = 1 - (1 - confidence) / 2;
  for (let i = 0; i < 80; i++) {
    const mid = (lo + hi) / 2;
    if (normalCdf(mid) < target) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

function estimateSide(side: Side, level: number, noise: BetweenRunNoise, confidence: number): SideEstimate {
  const between = noise.cv * noise.cv;
  if (side.kind === 'summary') {
    const within = logWidthVariance(side.low, side.high, confidence);
    if (side.repeats >= 2) {
      // the in-run CI of k >= 2 repeats is a t interval with k - 1 df (src/metrics/intervals.ts)
      const s = logWidthSe(side.low, side.high, criticalValue(confidence, side.repeats - 1));
      return { value: side.value, variance: Math.max(s * s, between / side.repeats), repeats: side.repeats, df: 0, method: 'summary CI' };
    }
    return { value: side.value, variance: within + between, repeats: 1, df: 0, method: 'summary CI + between-run' };
  }
  const repeats = side.repeatsMs.filter((r) => r.length > 0);
  const sorted = repeats.map((r) => sortSamples(r));
  const k = sorted.length;
  if (k === 1) {
    const only = sorted[0] as ReturnType<typeof sortSamples>;
    const ci = percentileCi(only, level, confidence);
    return { value: percentileOfSorted(only, level), variance: logWidthVariance(ci.low, ci.high, confidence) + between, repeats: 1, df: 0, method: 'binomial CI + between-run' };
  }
  // The side's value and variance are the job's own figures (src/metrics/intervals.ts, one
  // set of numbers): the geometric mean of each repeat's own percentile, every worker process
  // weighted equally, and the sample variance of their logs over k (the square of the in-run
  // t interval's standard error), with k - 1 degrees of freedom.
  const { mean, sd } = logMeanSd(sorted.map((r) => percentileOfSorted(r, level)));
  // compareMetric pools this across both sides and floors it with the history
  return { value: Math.exp(mean), variance: (sd * sd) / k, repeats: k, df: k - 1, method: 'per-repeat t' };
}

/**
 * With repeats on both sides: the per-repeat variance pooled over both sides (df = kb + kc - 2),
 * floored by the history's between-run variance (then a normal reference: the history is the
 * better estimate); each side's variance is that over its k.
 */
function poolRepeats(b: SideEstimate, c: SideEstimate, between: number): void {
  if (b.df === 0 || c.df === 0) {
    for (const s of [b, c]) {
      if (s.df > 0 && s.variance < between / s.repeats) {
        s.variance = between / s.repeats;
        s.df = 0;
        s.method += ', between-run floor';
      }
    }
    return;
  }
  const df = b.df + c.df;
  const unit = (b.variance * b.repeats * b.df + c.variance * c.repeats * c.df) / df;
  const floored = unit < between;
  for (const s of [b, c]) {
    s.variance = (floored ? between : unit) / s.repeats;
    s.df = floored ? 0 : s.df;
    if (floored) s.method += ', between-run floor';
  }
}

/**
 * Compares one percentile of two runs: log(current / baseline) with a standard error from
 * both sides (the log variance of per-repeat percentiles over k, or a single run's binomial CI widened by
 * the between-run variance), a normal CI and a two-sided p-value for "no change".
 */
export function compareMetric(input: MetricComparisonInput): MetricComparison {
  const confidence = input.confidence ?? 0.95;
  const b = estimateSide(input.baseline, input.level, input.noise, confidence);
  const c = estimateSide(input.current, input.level, input.noise, confidence);
  poolRepeats(b, c, input.noise.cv * input.noise.cv);
  const est = Math.log(c.value / b.value);
  const se = Math.sqrt(b.variance + c.variance);
  const z = se > 0 ? est / se : est === 0 ? 0 : Math.sign(est) * Infinity;
  // a variance estimated from a few repeats: Student t with their degrees of freedom
  const df = b.df + c.df;
  const crit = df > 0 ? tQuantile(1 - (1 - confidence) / 2, df) : zOf(confidence);
  const p = se > 0 ? (df > 0 ? twoSidedT(z, df) : twoSidedP(z)) : est === 0 ? 1 : 0;
  return {
    baselineMs: b.value,
    currentMs: c.value,
    ratio: Math.exp(est),
    ratioLow: Math.exp(est - crit * se),
    ratioHigh: Math.exp(est + crit * se),
    se,
    z,
    p,
    df,
    method: b.method === c.method ? b.method : `${b.method} / ${c.method}`,
  };
}

export type PerfVerdict = 'regressed' | 'improved' | 'unchanged' | 'inconclusive';

/**
 * The verdict rule (docs/regress.md), with q the BH-adjusted p-value and m the minimum effect:
 * - regressed: q < alpha, the ratio is at least 1 + m/2 and its CI reaches 1 + m;
 * - improved: the mirror image (ratio at most 1/(1 + m/2), CI reaches 1/(1 + m));
 * - unchanged: the CI lies within [1/(1 + m), 1 + m] (a real but smaller change included);
 * - inconclusive: anything else: the data can neither show nor exclude a change of m.
 */
export function perfVerdict(c: Pick<MetricComparison, 'ratio' | 'ratioLow' | 'ratioHigh'>, q: number, minEffect: number, alpha = 0.05): PerfVerdict {
  const up = 1 + minEffect;
  const down = 1 / up;
  if (q < alpha && c.ratio >= 1 + minEffect / 2 && c.ratioHigh >= up) return 'regressed';
  if (q < alpha && c.ratio <= 1 / (1 + minEffect / 2) && c.ratioLow <= down) return 'improved';
  if (c.ratioLow >= down && c.ratioHigh <= up) return 'unchanged';
  return 'inconclusive';
}

/**
 * Repeats per side that would bring the CI half-width (in log terms) under half the minimum
 * effect, assuming the standard error shrinks as 1 / sqrt(repeats).
 */
export function repeatsNeeded(se: number, repeats: number, minEffect: number, confidence = 0.95): number {
  const target = Math.log(1 + minEffect) / 2 / zOf(confidence);
  if (se <= target) return repeats;
  return Math.ceil(Math.max(1, repeats) * (se / target) ** 2);
}
