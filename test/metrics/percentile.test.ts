import { describe, expect, it } from 'vitest';
import { binomialPmf, minSamplesForCi, orderStatisticRanks, sampleBinomial } from '../../src/metrics/binomial.js';
import { moments } from '../../src/metrics/latency.js';
import { nsToMs, percentile, percentileCi, samplesNsToMs, sortSamples } from '../../src/metrics/percentile.js';
import { createPrng, nextDouble53 } from '../../src/metrics/prng.js';
import { BenchalignError } from '../../src/errors.js';
import { loadStatsManifest, relClose } from './fixture.js';

const m = loadStatsManifest();

describe('percentile (type 7) and moments against numpy', () => {
  for (const [name, set] of Object.entries(m.sets)) {
    it(`${name} (n=${set.count})`, () => {
      const sorted = sortSamples(set.samples);
      m.keys.forEach((key, i) => {
        const got = percentile(sorted, m.levels[i] as number);
        expect(relClose(got, set.percentiles[key].value), `${key}: ${got} vs ${set.percentiles[key].value}`).toBe(true);
      });
      const mo = moments(set.samples);
      expect(mo.count).toBe(set.count);
      expect(mo.minMs).toBe(set.min);
      expect(mo.maxMs).toBe(set.max);
      expect(relClose(mo.meanMs, set.mean, 1e-13)).toBe(true);
      if (set.sd === 0) expect(mo.sdMs).toBe(0);
      else expect(relClose(mo.sdMs, set.sd, 1e-10)).toBe(true);
    });
  }

  it('hand-worked type 7 values', () => {
    const s = sortSamples([4, 1, 3, 2]);
    expect(s).toEqual([1, 2, 3, 4]);
    expect(percentile(s, 0.5)).toBe(2.5);
    expect(percentile(s, 0.9)).toBeCloseTo(3.7, 15);
    expect(percentile(s, 0)).toBe(1);
    expect(percentile(s, 1)).toBe(4);
    expect(percentile(sortSamples([7]), 0.99)).toBe(7);
  });

  it('rejects bad input with a code that names what was expected', () => {
    expect(() => sortSamples([1, Number.NaN])).toThrow(BenchalignError);
    expect(() => percentile(sortSamples([]), 0.5)).toThrow(/at least one sample/);
    expect(() => percentile(sortSamples([1]), 1.5)).toThrow(/fraction in \[0, 1\]/);
  });

  it('converts nanoseconds to milliseconds', () => {
    expect(nsToMs(1_500_000)).toBe(1.5);
    expect(samplesNsToMs([1e6, 2.5e6])).toEqual([1, 2.5]);
  });
});

describe('binomial order-statistic CIs against scipy.stats.binom', () => {
  it('pmf matches scipy to 1e-12 relative, n up to 1e6', () => {
    for (const c of m.pmf) {
      const got = binomialPmf(c.k, c.n, c.p);
      expect(relClose(got, c.pmf, 1e-12), `pmf(${c.k}; ${c.n}, ${c.p}) = ${got} vs ${c.pmf}`).toBe(true);
    }
  });

  it('ranks, coverage and sufficiency match the brute-force scipy search', () => {
    for (const c of m.ranks) {
      const got = orderStatisticRanks(c.n, c.p, c.confidence ?? 0.95);
      const label = `n=${c.n} p=${c.p}`;
      expect(got.sufficient, label).toBe(c.sufficient);
      expect([got.lower, got.upper], label).toEqual([c.lower, c.upper]);
      expect(Math.abs(got.coverage - c.coverage), label).toBeLessThan(1e-11);
      if (c.sufficient) expect(got.coverage).toBeGreaterThanOrEqual((c.confidence ?? 0.95) - 1e-12);
    }
  });

  it('percentileCi bounds are the order statistics scipy chose', () => {
    for (const [name, set] of Object.entries(m.sets)) {
      const sorted = sortSamples(set.samples);
      m.keys.forEach((key, i) => {
        const ref = set.percentiles[key];
        const ci = percentileCi(sorted, m.levels[i] as number);
        expect([ci.low, ci.high], `${name} ${key}`).toEqual([ref.low, ref.high]);
        expect(ci.insufficientSamples === true, `${name} ${key}`).toBe(!ref.sufficient);
        expect(ci.low).toBeLessThanOrEqual(ci.high);
      });
    }
  });

  it('too few samples: sample extremes, flagged, with the coverage they do achieve', () => {
    const set = m.sets['small100']!;
    const ci = percentileCi(sortSamples(set.samples), 0.99);
    expect(ci.insufficientSamples).toBe(true);
    expect(ci.low).toBe(set.min);
    expect(ci.high).toBe(set.max);
    expect(ci.coverage).toBeCloseTo(1 - 0.01 ** 100 - 0.99 ** 100, 12);
  });

  it('minimum sample counts for a 95% CI match the closed form', () => {
    expect(minSamplesForCi(0.5)).toBe(m.minSamples['p50']);
    expect(minSamplesForCi(0.99)).toBe(m.minSamples['p99']);
    expect(minSamplesForCi(0.999)).toBe(m.minSamples['p999']);
    expect(minSamplesForCi(0.99)).toBe(299);
  });
});

describe('exact binomial sampler (mode-outward inversion)', () => {
  // Chi-square goodness of fit against the pmf (itself checked against scipy above), tails
  // merged until every cell expects >= 5; the bound is the 0.9999 quantile (Wilson-Hilferty).
  const chi2Bound = (df: number): number => df * (1 - 2 / (9 * df) + 3.719 * Math.sqrt(2 / (9 * df))) ** 3;
  for (const [n, p] of [
    [5, 0.01],
    [20, 0.3],
    [1000, 0.999],
    [10000, 0.5],
    [7, 1],
    [7, 0],
  ] as const) {
    it(`Binomial(${n}, ${p})`, () => {
      const rng = createPrng(n * 31 + Math.round(p * 1000));
      const draws = 20_000;
      const hist = new Array<number>(n + 1).fill(0);
      for (let i = 0; i < draws; i++) {
        const x = sampleBinomial(n, p, nextDouble53(rng));
        expect(Number.isInteger(x) && x >= 0 && x <= n).toBe(true);
        hist[x] = (hist[x] ?? 0) + 1;
      }
      if (p === 0 || p === 1) {
        expect(hist[p * n]).toBe(draws);
        return;
      }
      const cells: Array<{ obs: number; exp: number }> = [];
      let cur = { obs: 0, exp: 0 };
      for (let x = 0; x <= n; x++) {
        cur.obs += hist[x] ?? 0;
        cur.exp += draws * binomialPmf(x, n, p);
        if (cur.exp >= 5) {
          cells.push(cur);
          cur = { obs: 0, exp: 0 };
        }
      }
      const lastCell = cells[cells.length - 1]!;
      lastCell.obs += cur.obs;
      lastCell.exp += cur.exp;
      const chi2 = cells.reduce((s, c) => s + (c.obs - c.exp) ** 2 / c.exp, 0);
      expect(cells.length).toBeGreaterThan(1);
      expect(chi2).toBeLessThan(chi2Bound(cells.length - 1));
    });
  }
});

describe('seeded PRNG', () => {
  it('xoshiro128** stream matches an independent Python implementation', () => {
    for (const [seed, ref] of [
      [42, m.prng.seed42],
      [0, m.prng.seed0],
    ] as const) {
      const rng = createPrng(seed);
      expect(ref.map(() => rng.nextUint32())).toEqual(ref);
    }
  });

  it('nextInt stays in range and is roughly uniform', () => {
    const rng = createPrng(3);
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i++) {
      const v = rng.nextInt(10);
      counts[v] = (counts[v] ?? 0) + 1;
    }
    // chi-square with 9 d.o.f.; 27.88 is the 0.999 quantile
    const chi2 = counts.reduce((s, c) => s + (c - 10_000) ** 2 / 10_000, 0);
    expect(chi2).toBeLessThan(27.88);
  });
});
