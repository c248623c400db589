import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RUN_TO_RUN_CV,
  criticalValue,
  logTInterval,
  nextRunFromHistory,
  nextRunFromRepeats,
  repeatsPercentileCi,
} from '../../src/metrics/intervals.js';
import { summarizeLatency } from '../../src/metrics/latency.js';
import { sortSamples } from '../../src/metrics/percentile.js';
import { createPrng, nextDouble53, type Prng } from '../../src/metrics/prng.js';
import { relClose } from './fixture.js';

interface Ref {
  repeatSets: Array<{ repeats: number[][]; levels: Record<string, { value: number; low: number; high: number; nextLow: number; nextHigh: number }> }>;
  histories: Array<{ values: number[]; low: number; high: number; runs: number }>;
  tQuantiles: Array<{ df: number; q975: number }>;
  z975: number;
}
const ref = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/generated/intervals/intervals.json', import.meta.url)), 'utf8')) as Ref;

/** Standard normal deviate (Box-Muller) from the project PRNG. */
function gauss(rng: Prng): number {
  const u = nextDouble53(rng) || 1e-300;
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * nextDouble53(rng));
}

describe('interval arithmetic against scipy (test/fixtures/make_intervals.py)', () => {
  it('t and normal quantiles', () => {
    for (const q of ref.tQuantiles) expect(relClose(criticalValue(0.95, q.df), q.q975, 1e-7)).toBe(true);
    // the normal CDF behind it (erfc) is accurate to 1.2e-7
    expect(relClose(criticalValue(0.95, Infinity), ref.z975, 1e-6)).toBe(true);
  });

  it('in-run t intervals on log per-repeat percentiles, and the repeats-basis next-run interval', () => {
    for (const set of ref.repeatSets) {
      const sorted = set.repeats.map((r) => sortSamples(r));
      for (const [level, want] of Object.entries(set.levels)) {
        const got = repeatsPercentileCi(sorted, Number(level));
        expect(relClose(got.value, want.value, 1e-9)).toBe(true);
        expect(relClose(got.low, want.low, 1e-7)).toBe(true);
        expect(relClose(got.high, want.high, 1e-7)).toBe(true);
        const per = sorted.map((r) => repeatsPercentileCi([r], Number(level)).value);
        const nr = nextRunFromRepeats({ perRepeat: per, runToRunCv: Number(level) === 0.5 ? DEFAULT_RUN_TO_RUN_CV.p50 : DEFAULT_RUN_TO_RUN_CV.p99, betweenProcessCv: 0 });
        expect(relClose(nr.low, want.nextLow, 1e-7)).toBe(true);
        expect(relClose(nr.high, want.nextHigh, 1e-7)).toBe(true);
        expect(nr.basis).toBe('repeats');
      }
    }
  });

  it('history prediction intervals (last 20 runs)', () => {
    for (const h of ref.histories) {
      const got = nextRunFromHistory(h.values);
      expect(got?.basis).toBe('history');
      expect(got?.runs).toBe(h.runs);
      expect(relClose(got!.low, h.low, 1e-7)).toBe(true);
      expect(relClose(got!.high, h.high, 1e-7)).toBe(true);
    }
    expect(nextRunFromHistory([1, 1.01, 0.99])).toBeUndefined();
  });

  it('a hand-worked t interval: logs 0, 0.1, 0.2 give exp(0.1 ± 4.302653 × 0.1 / √3)', () => {
    const iv = logTInterval([1, Math.exp(0.1), Math.exp(0.2)]);
    const hw = (4.302652729749462 * 0.1) / Math.sqrt(3);
    expect(relClose(iv.value, Math.exp(0.1), 1e-12)).toBe(true);
    expect(relClose(iv.low, Math.exp(0.1 - hw), 1e-8)).toBe(true);
    expect(relClose(iv.high, Math.exp(0.1 + hw), 1e-8)).toBe(true);
  });

  it('summarizeLatency uses the same figures (geometric mean of per-repeat percentiles, t interval)', () => {
    const set = ref.repeatSets[2]!;
    const st = summarizeLatency(set.repeats);
    expect(st.ciMethod).toBe('t-log-repeats');
    expect(relClose(st.percentiles.p50.value, set.levels['0.5']!.value, 1e-9)).toBe(true);
    expect(relClose(st.percentiles.p99.high, set.levels['0.99']!.high, 1e-7)).toBe(true);
    expect(st.nextRun?.p50.basis).toBe('repeats');
    expect(relClose(st.nextRun!.p50.high, set.levels['0.5']!.nextHigh, 1e-7)).toBe(true);
  });
});

/**
 * Simulated runs with known truth. A run has k worker processes; process j's log latency is
 * mu + u (run effect, sd tau) + b_j (process effect, sd sigmaB) + e (sample noise, sd sigmaW),
 * n samples each (n odd, so the type-7 median of a process is an order statistic and its log
 * is median-unbiased for mu + u + b_j). The truth of the in-run CI of p50 is exp(mu + u): what
 * this run's processes are drawn around.
 */
const SIMS = 2000;
const NOMINAL = 0.95;

function simulateRun(rng: Prng, k: number, n: number, mu: number, sigmaB: number, sigmaW: number): number[][] {
  const reps: number[][] = [];
  for (let j = 0; j < k; j++) {
    const b = sigmaB * gauss(rng);
    const r: number[] = new Array<number>(n);
    for (let i = 0; i < n; i++) r[i] = Math.exp(mu + b + sigmaW * gauss(rng));
    reps.push(r);
  }
  return reps;
}

describe('coverage over 2000 simulated runs (within ±3 points of 95%)', () => {
  for (const k of [3, 5]) {
    it(`in-run CI of p50 and p99, ${k} repeats`, () => {
      const rng = createPrng(100 + k);
      const mu = Math.log(2);
      const sigmaB = 0.01;
      const sigmaW = 0.05;
      const z99 = 2.3263478740408408; // scipy.stats.norm.ppf(0.99)
      let hit50 = 0;
      let hit99 = 0;
      for (let s = 0; s < SIMS; s++) {
        const st = summarizeLatency(simulateRun(rng, k, 301, mu, sigmaB, sigmaW));
        const p50 = st.percentiles.p50;
        if (p50.low <= Math.exp(mu) && Math.exp(mu) <= p50.high) hit50++;
        // p99 truth: a typical process's p99, exp(mu + sigmaW z99) (the per-process sample p99 of
        // 301 samples is nearly unbiased on the log scale; its sampling error is in the spread)
        const t99 = Math.exp(mu + sigmaW * z99);
        if (st.percentiles.p99.low <= t99 && t99 <= st.percentiles.p99.high) hit99++;
      }
      const c50 = hit50 / SIMS;
      const c99 = hit99 / SIMS;
      console.log(`in-run CI coverage, k=${k}: p50 ${(c50 * 100).toFixed(1)}%, p99 ${(c99 * 100).toFixed(1)}%`);
      expect(Math.abs(c50 - NOMINAL)).toBeLessThanOrEqual(0.03);
      expect(Math.abs(c99 - NOMINAL)).toBeLessThanOrEqual(0.03);
    });
  }

  it('next-run interval from history: run n+1 inside the interval of runs 1..n (n = 4..13)', () => {
    const rng = createPrng(7);
    const tau = 0.015;
    let hits = 0;
    let checks = 0;
    for (let s = 0; s < SIMS; s++) {
      // a run's value: exp(mu + u + mean of k process effects); run values independent
      const values: number[] = [];
      for (let i = 0; i < 14; i++) values.push(Math.exp(0.3 + tau * gauss(rng) + (0.005 / Math.sqrt(5)) * gauss(rng)));
      const n = 4 + (s % 10);
      const iv = nextRunFromHistory(values.slice(0, n));
      const next = values[n] as number;
      checks++;
      if (iv && iv.low <= next && next <= iv.high) hits++;
    }
    const c = hits / checks;
    console.log(`next-run (history) coverage: ${(c * 100).toFixed(1)}%`);
    expect(Math.abs(c - NOMINAL)).toBeLessThanOrEqual(0.03);
  });

  it('next-run interval from repeats: calibrated when the run-to-run drift is the assumed one, conservative below it', () => {
    const run = (tau: number, seed: number): number => {
      const rng = createPrng(seed);
      let hits = 0;
      for (let s = 0; s < SIMS; s++) {
        const draw = (): number[] => {
          const u = tau * gauss(rng);
          return Array.from({ length: 5 }, () => Math.exp(1 + u + 0.01 * gauss(rng)));
        };
        const iv = nextRunFromRepeats({ perRepeat: draw(), runToRunCv: DEFAULT_RUN_TO_RUN_CV.p50, betweenProcessCv: 0 });
        const next = draw();
        const nextValue = Math.exp(next.reduce((a, x) => a + Math.log(x), 0) / next.length);
        if (iv.low <= nextValue && nextValue <= iv.high) hits++;
      }
      return hits / SIMS;
    };
    // runToRunCv is the sd of log(next / this) beyond process noise: each run has its own
    // effect u, so the difference has variance 2 tau^2; calibrated at tau = runToRunCv / sqrt 2
    const calibrated = run(DEFAULT_RUN_TO_RUN_CV.p50 / Math.SQRT2, 11);
    const quiet = run(0.002, 12);
    console.log(`next-run (repeats) coverage: ${(calibrated * 100).toFixed(1)}% at the assumed drift, ${(quiet * 100).toFixed(1)}% on a quiet machine`);
    expect(Math.abs(calibrated - NOMINAL)).toBeLessThanOrEqual(0.03);
    expect(quiet).toBeGreaterThanOrEqual(NOMINAL);
  });
});
