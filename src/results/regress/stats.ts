/**
 * Pure statistics of `benchalign regress` (docs/regress.md): normal tail probabilities,
 * Benjamini-Hochberg adjusted p-values, the between-run noise of a job's history, and the
 * two-sample comparison of one latency percentile.
 */
import { criticalValue, logMeanSd } from '../../metrics/intervals.js';
import { percentileCi, percentileOfSorted, sortSamples } from '../../metrics/percentile.js';

/** Complementary error function, |relative error| < 1.2e-7 (Chebyshev fit, Numerical Recipes erfcc). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

function lnGamma(x: number): number {
  // Lanczos, g = 7, n = 9
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lnGamma(1 - x);
  const xx = x - 1;
  let a = c[0] as number;
  const t = xx + 7.5;
  for (let i = 1; i < 9; i++) a += (c[i] as number) / (xx + i);
  return 0.5 * Math.log(2 * Math.PI) + (xx + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the regularized incomplete beta (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 500; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** Regularized incomplete beta I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(a, b, x)) / a;
  return 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** Student t CDF with `df` degrees of freedom. */
export function tCdf(t: number, df: number): number {
  if (!Number.isFinite(t)) return t > 0 ? 1 : 0;
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** Two-sided p-value of a Student t statistic. */
export function twoSidedT(t: number, df: number): number {
  if (!Number.isFinite(t)) return 0;
  return Math.min(1, incompleteBeta(df / (df + t * t), df / 2, 0.5));
}

/** The q-quantile of Student t (bisection on the CDF). */
export function tQuantile(q: number, df: number): number {
  let lo = -1e3;
  let hi = 1e3;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (tCdf(mid, df) < q) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Standard normal CDF. */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

/** Two-sided p-value of a standard normal statistic: 2 (1 - Phi(|z|)). */
export function twoSidedP(z: number): number {
  return Math.min(1, erfc(Math.abs(z) / Math.SQRT2));
}

/**
 * Benjamini-Hochberg adjusted p-values (q-values), in input order: for sorted p(1..m),
 * q(i) = min over j >= i of m p(j) / j, capped at 1 (scipy.stats.false_discovery_control).
 * Rejecting q < alpha controls the false discovery rate at alpha.
 */
export function benjaminiHochberg(ps: readonly number[]): number[] {
  const m = ps.length;
  const order = ps.map((p, i) => ({ p, i })).sort((a, b) => a.p - b.p || a.i - b.i);
  const q = new Array<number>(m).fill(1);
  let running = 1;
  for (let r = m - 1; r >= 0; r--) {
    const e = order[r] as { p: number; i: number };
    running = Math.min(running, (e.p * m) / (r + 1));
    q[e.i] = Math.min(1, running);
  }
  return q;
}

/** Median of a non-empty list. */
export function median(xs: readonly number[]): number {
  return percentileOfSorted(Float64Array.from(xs).sort(), 0.5);
}

/** Normal-consistent MAD: 1.4826 median |x - median|. */
export function madSigma(xs: readonly number[]): number {
  const m = median(xs);
  return 1.4826 * median(xs.map((x) => Math.abs(x - m)));
}

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
