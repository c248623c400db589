/**
 * Change points of a metric's history (`benchalign history`; its sparkline: src/reports/sparkline.ts).
 *
 * The rule (docs/regress.md): work on log values of the per-run metric. The noise sigma is
 * the MAD-based sigma of successive differences divided by sqrt 2 (a step adds one large
 * difference, which the median ignores), floored at `minNoise`. Binary segmentation: in a
 * segment, try every split leaving at least `minSegment` runs on each side; take the split
 * with the least total absolute deviation from each side's median (an L1 two-segment fit);
 * accept it when the shift of the medians |median(right) - median(left)| exceeds
 * k * sigma * sqrt(pi/2 * (1/nLeft + 1/nRight)) (the standard error of a difference of
 * medians) AND exceeds `minShift` relative; then recurse into both halves.
 */
import { median } from './distributions.js';

export interface ChangePointOptions {
  /** Threshold in standard errors; default 4. */
  k?: number;
  /** Fewest runs on each side of a change; default 3. */
  minSegment?: number;
  /** Smallest relative shift reported; default 0.01 (1%). */
  minShift?: number;
  /** Floor of the noise sigma (log units); default 0.001. */
  minNoise?: number;
}

export interface ChangePoint {
  /** Index of the first value after the change. */
  index: number;
  before: number;
  after: number;
  /** after / before - 1. */
  shift: number;
  /** Shift in standard errors. */
  score: number;
}

export function noiseSigma(logs: readonly number[]): number {
  if (logs.length < 3) return 0;
  const d: number[] = [];
  for (let i = 1; i < logs.length; i++) d.push(Math.abs((logs[i] as number) - (logs[i - 1] as number)));
  return (1.4826 * median(d)) / Math.SQRT2;
}

/** Sum of absolute deviations from the median. */
function l1Cost(xs: readonly number[]): number {
  const m = median(xs);
  let c = 0;
  for (const x of xs) c += Math.abs(x - m);
  return c;
}

/** Change points of `values` (positive, oldest first), ascending by index. */
export function detectChangePoints(values: readonly number[], options: ChangePointOptions = {}): ChangePoint[] {
  const k = options.k ?? 4;
  const minSeg = Math.max(1, options.minSegment ?? 3);
  const minShift = options.minShift ?? 0.01;
  const logs = values.map((v) => Math.log(v));
  const sigma = Math.max(noiseSigma(logs), options.minNoise ?? 0.001);
  const found: ChangePoint[] = [];
  const segment = (lo: number, hi: number): void => {
    const n = hi - lo;
    if (n < 2 * minSeg) return;
    let best = -1;
    let bestCost = Infinity;
    for (let t = lo + minSeg; t <= hi - minSeg; t++) {
      const cost = l1Cost(logs.slice(lo, t)) + l1Cost(logs.slice(t, hi));
      if (cost < bestCost) {
        bestCost = cost;
        best = t;
      }
    }
    if (best < 0) return;
    const bestShift = median(logs.slice(best, hi)) - median(logs.slice(lo, best));
    const nl = best - lo;
    const nr = hi - best;
    const se = sigma * Math.sqrt((Math.PI / 2) * (1 / nl + 1 / nr));
    const score = Math.abs(bestShift) / se;
    if (score <= k || Math.abs(Math.expm1(bestShift)) < minShift) return;
    found.push({ index: best, before: Math.exp(median(logs.slice(lo, best))), after: Math.exp(median(logs.slice(best, hi))), shift: Math.expm1(bestShift), score });
    segment(lo, best);
    segment(best, hi);
  };
  segment(0, logs.length);
  return found.sort((a, b) => a.index - b.index);
}
