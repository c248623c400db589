/**
 * Binomial probabilities for distribution-free percentile CIs. The pmf uses Loader's
 * saddle-point form (as R's dbinom does), accurate to a few ulps for any n, so that tail
 * sums near 0.025 are reliable for n in the millions.
 */

const LN_2PI = Math.log(2 * Math.PI);

const LOG_FACTORIAL_SMALL: number[] = (() => {
  const out = [0];
  let f = 1;
  for (let k = 1; k <= 15; k++) {
    f *= k;
    out.push(Math.log(f));
  }
  return out;
})();

/** ln(n!) - ln(sqrt(2 pi n) (n/e)^n), for integer n >= 1. */
function stirlerr(n: number): number {
  if (n <= 15) return (LOG_FACTORIAL_SMALL[n] ?? 0) - (n + 0.5) * Math.log(n) + n - 0.5 * LN_2PI;
  const S0 = 1 / 12;
  const S1 = 1 / 360;
  const S2 = 1 / 1260;
  const S3 = 1 / 1680;
  const S4 = 1 / 1188;
  const nn = n * n;
  if (n > 500) return (S0 - S1 / nn) / n;
  if (n > 80) return (S0 - (S1 - S2 / nn) / nn) / n;
  if (n > 35) return (S0 - (S1 - (S2 - S3 / nn) / nn) / nn) / n;
  return (S0 - (S1 - (S2 - (S3 - S4 / nn) / nn) / nn) / nn) / n;
}

/** Deviance term x ln(x/np) + np - x, computed without cancellation. */
function bd0(x: number, np: number): number {
  if (Math.abs(x - np) < 0.1 * (x + np)) {
    let v = (x - np) / (x + np);
    let s = (x - np) * v;
    let ej = 2 * x * v;
    v *= v;
    for (let j = 1; j < 1000; j++) {
      ej *= v;
      const s1 = s + ej / (2 * j + 1);
      if (s1 === s) return s1;
      s = s1;
    }
    return s;
  }
  return x * Math.log(x / np) + np - x;
}

/** P(B = k) for B ~ Binomial(n, p); k, n integers, 0 <= p <= 1. */
export function binomialPmf(k: number, n: number, p: number): number {
  if (k < 0 || k > n) return 0;
  const q = 1 - p;
  if (p === 0) return k === 0 ? 1 : 0;
  if (q === 0) return k === n ? 1 : 0;
  if (k === 0) {
    if (n === 0) return 1;
    return Math.exp(p < 0.1 ? -bd0(n, n * q) - n * p : n * Math.log(q));
  }
  if (k === n) return Math.exp(q < 0.1 ? -bd0(n, n * p) - n * q : n * Math.log(p));
  const lc = stirlerr(n) - stirlerr(k) - stirlerr(n - k) - bd0(k, n * p) - bd0(n - k, n * q);
  const lf = LN_2PI + Math.log(k) + Math.log1p(-k / n);
  return Math.exp(lc - 0.5 * lf);
}

/**
 * A Binomial(n, p) variate by inversion, enumerating outcomes outward from the mode
 * (m, m+1, m-1, m+2, ...) with the pmf recurrence: exact, in O(sqrt(n p (1-p))) steps.
 * `uniform` is a uniform double in [0, 1) (53 bits).
 */
export function sampleBinomial(n: number, p: number, uniform: number): number {
  if (n <= 0 || p <= 0) return 0;
  if (p >= 1) return n;
  const q = 1 - p;
  const m = Math.min(n, Math.floor((n + 1) * p));
  const pm = binomialPmf(m, n, p);
  let cum = pm;
  if (uniform < cum) return m;
  const ratio = p / q;
  let up = m;
  let down = m;
  let pu = pm;
  let pd = pm;
  while (up < n || down > 0) {
    if (up < n) {
      pu *= ((n - up) / (up + 1)) * ratio;
      up++;
      cum += pu;
      if (uniform < cum) return up;
    }
    if (down > 0) {
      pd *= down / ((n - down + 1) * ratio);
      down--;
      cum += pd;
      if (uniform < cum) return down;
    }
  }
  return m;
}

/**
 * The binomial distribution on the window of counts where it has mass: outside
 * [first, last] both tails are below 1e-25, and are treated as zero.
 */
export interface BinomialWindow {
  n: number;
  p: number;
  first: number;
  last: number;
  /** P(B <= k) for any integer k. */
  cdf(k: number): number;
  /** P(B >= k) for any integer k, summed from the upper end (no cancellation). */
  sf(k: number): number;
}

export function binomialWindow(n: number, p: number): BinomialWindow {
  const mean = n * p;
  const sd = Math.sqrt(n * p * (1 - p));
  const first = Math.max(0, Math.floor(mean - 15 * sd - 30));
  const last = Math.min(n, Math.ceil(mean + 15 * sd + 30));
  const size = last - first + 1;
  const pmf = new Float64Array(size);
  for (let i = 0; i < size; i++) pmf[i] = binomialPmf(first + i, n, p);
  const lower = new Float64Array(size);
  const upper = new Float64Array(size);
  let acc = 0;
  for (let i = 0; i < size; i++) {
    acc += pmf[i] ?? 0;
    lower[i] = acc;
  }
  acc = 0;
  for (let i = size - 1; i >= 0; i--) {
    acc += pmf[i] ?? 0;
    upper[i] = acc;
  }
  return {
    n,
    p,
    first,
    last,
    cdf: (k) => (k < first ? 0 : k >= last ? 1 : (lower[k - first] ?? 0)),
    sf: (k) => (k <= first ? 1 : k > last ? 0 : (upper[k - first] ?? 0)),
  };
}

/** Order-statistic ranks (1-based) bounding a percentile, with the coverage they achieve. */
export interface OrderStatisticRanks {
  /** Rank of the lower bound, 1..n. */
  lower: number;
  /** Rank of the upper bound, lower < upper <= n. */
  upper: number;
  /** P(lower <= B < upper), B ~ Binomial(n, p): the exact coverage of [x(lower), x(upper)]. */
  coverage: number;
  /** False when no pair of ranks reaches the confidence level; then lower = 1, upper = n. */
  sufficient: boolean;
}

const TIE_EPS = 1e-12;

/**
 * Ranks l < u such that [x(l), x(u)] covers the p-quantile with probability
 * P(l <= B(n,p) < u) >= confidence. Among all such pairs: the smallest u - l, then the most
 * equal tails |P(B < l) - P(B >= u)|, then the smallest l (ties within 1e-12).
 */
export function orderStatisticRanks(n: number, p: number, confidence: number): OrderStatisticRanks {
  if (!Number.isInteger(n) || n < 2) return { lower: 1, upper: Math.max(n, 1), coverage: 0, sufficient: false };
  const w = binomialWindow(n, p);
  const maxCoverage = 1 - w.cdf(0) - w.sf(n);
  if (maxCoverage < confidence - TIE_EPS) return { lower: 1, upper: n, coverage: maxCoverage, sufficient: false };
  const alpha = 1 - confidence;
  let best: { l: number; u: number; lowTail: number; highTail: number } | undefined;
  const lStart = Math.max(1, w.first);
  const lEnd = Math.min(n - 1, w.last + 1);
  let u = lStart + 1;
  for (let l = lStart; l <= lEnd; l++) {
    const lowTail = w.cdf(l - 1);
    if (lowTail > alpha + TIE_EPS) break;
    if (u < l + 1) u = l + 1;
    while (u <= n && lowTail + w.sf(u) > alpha + TIE_EPS) u++;
    if (u > n) break;
    const highTail = w.sf(u);
    if (best === undefined) {
      best = { l, u, lowTail, highTail };
      continue;
    }
    const width = u - l;
    const bestWidth = best.u - best.l;
    const asym = Math.abs(lowTail - highTail);
    const bestAsym = Math.abs(best.lowTail - best.highTail);
    if (width < bestWidth || (width === bestWidth && asym < bestAsym - TIE_EPS)) best = { l, u, lowTail, highTail };
  }
  if (best === undefined) return { lower: 1, upper: n, coverage: maxCoverage, sufficient: false };
  return { lower: best.l, upper: best.u, coverage: 1 - best.lowTail - best.highTail, sufficient: true };
}

/**
 * The smallest sample count n for which some order-statistic interval covers the
 * p-quantile with the given confidence: 1 - (1-p)^n - p^n >= confidence.
 * 299 for p99, 2995 for p99.9, 6 for p50 (at 95%).
 */
export function minSamplesForCi(p: number, confidence = 0.95): number {
  for (let n = 2; n < 1e8; n++) {
    if (1 - Math.pow(1 - p, n) - Math.pow(p, n) >= confidence) return n;
  }
  return Infinity;
}
