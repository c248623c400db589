import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createPrng } from '../../src/metrics/prng.js';
import { detectChangePoints } from '../../src/metrics/changepoint.js';
import { sparkline } from '../../src/reports/sparkline.js';
import { boundedMarkdown } from '../../src/reports/regress.js';
import { benjaminiHochberg, normalCdf, tCdf, tQuantile, twoSidedP, twoSidedT } from '../../src/metrics/distributions.js';
import { betweenRunNoise, compareMetric, perfVerdict, repeatsNeeded } from '../../src/metrics/comparison.js';
import { REPO } from '../agents/helpers.js';

const FIXTURE = join(REPO, 'test/fixtures/generated/regress/regress.json');

function close(actual: number, expected: number, rel = 1e-6): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(rel * Math.abs(expected) + 1e-300);
}

/** Standard normal draws (Box-Muller) from the project PRNG. */
function normals(seed: number, n: number): number[] {
  const rng = createPrng(seed);
  const out: number[] = [];
  while (out.length < n) {
    const u = 1 - rng.nextFloat();
    const v = rng.nextFloat();
    out.push(Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
  }
  return out;
}

describe('p-values and Benjamini-Hochberg against scipy (make_regress.py)', () => {
  const ref = existsSync(FIXTURE) ? (JSON.parse(readFileSync(FIXTURE, 'utf8')) as { bh: Array<{ p: number[]; q: number[] }>; normal: Array<{ z: number; cdf: number; twoSided: number }>; student: Array<{ t: number; df: number; cdf: number; twoSided: number; q975: number }> }) : undefined;

  it('has the fixture (bash scripts/setup-test-env.sh)', () => {
    expect(ref).toBeDefined();
  });

  it('BH q-values equal scipy.stats.false_discovery_control', () => {
    for (const set of ref?.bh ?? []) {
      const q = benjaminiHochberg(set.p);
      set.q.forEach((e, i) => close(q[i] as number, e, 1e-12));
    }
  });

  it('normal CDF and two-sided p equal scipy.stats.norm within 1e-6 relative', () => {
    for (const r of ref?.normal ?? []) {
      close(normalCdf(r.z), r.cdf);
      close(twoSidedP(r.z), r.twoSided);
    }
  });

  it('Student t CDF, two-sided p and quantile equal scipy.stats.t', () => {
    expect(ref?.student.length).toBeGreaterThan(0);
    for (const r of ref?.student ?? []) {
      close(tCdf(r.t, r.df), r.cdf, 1e-9);
      close(twoSidedT(r.t, r.df), r.twoSided, 1e-9);
      close(tQuantile(0.975, r.df), r.q975, 1e-9);
    }
  });

  it('BH by hand: p = [0.01, 0.04, 0.03, 0.005] gives q = [0.02, 0.04, 0.04, 0.02]', () => {
    const q = benjaminiHochberg([0.01, 0.04, 0.03, 0.005]);
    [0.02, 0.04, 0.04, 0.02].forEach((e, i) => expect(q[i]).toBeCloseTo(e, 12));
    expect(benjaminiHochberg([])).toEqual([]);
  });
});

describe('compareMetric and the verdict rule', () => {
  it('single runs: z and p follow from the binomial CIs widened by the between-run CV (hand-worked)', () => {
    const noise = { cv: 0.003, source: 'default' as const, values: 0 };
    // summaries whose CIs are symmetric in log: se_within = ln(1.01)/1.96 per side
    const f = 1.01;
    const c = compareMetric({
      level: 0.5,
      baseline: { kind: 'summary', value: 1, low: 1 / f, high: f, repeats: 1 },
      current: { kind: 'summary', value: 1.05, low: 1.05 / f, high: 1.05 * f, repeats: 1 },
      noise,
    });
    const sw = Math.log(f) / 1.959963984540054;
    const se = Math.sqrt(2 * (sw * sw + 0.003 * 0.003));
    expect(c.se).toBeCloseTo(se, 12);
    expect(c.z).toBeCloseTo(Math.log(1.05) / se, 10);
    expect(c.p).toBeCloseTo(twoSidedP(Math.log(1.05) / se), 14);
    expect(c.ratio).toBeCloseTo(1.05, 12);
    expect(c.ratioLow).toBeCloseTo(Math.exp(Math.log(1.05) - 1.959963984540054 * se), 12);
  });

  it('verdicts: regressed, improved, unchanged, inconclusive', () => {
    expect(perfVerdict({ ratio: 1.04, ratioLow: 1.03, ratioHigh: 1.05 }, 0.001, 0.03)).toBe('regressed');
    expect(perfVerdict({ ratio: 1.04, ratioLow: 1.03, ratioHigh: 1.05 }, 0.2, 0.03)).toBe('inconclusive');
    expect(perfVerdict({ ratio: 0.95, ratioLow: 0.94, ratioHigh: 0.96 }, 0.001, 0.03)).toBe('improved');
    // a real but small drift: significant, yet the CI excludes the minimum effect
    expect(perfVerdict({ ratio: 1.005, ratioLow: 1.003, ratioHigh: 1.007 }, 1e-9, 0.03)).toBe('unchanged');
    // a wide CI that is not significant
    expect(perfVerdict({ ratio: 1.01, ratioLow: 0.97, ratioHigh: 1.05 }, 0.6, 0.03)).toBe('inconclusive');
    // significant, the CI reaches 3%, but the estimate is below half the minimum effect
    expect(perfVerdict({ ratio: 1.012, ratioLow: 1.001, ratioHigh: 1.031 }, 0.01, 0.03)).toBe('inconclusive');
    expect(repeatsNeeded(0.02, 3, 0.03)).toBeGreaterThan(3);
    expect(repeatsNeeded(0.001, 3, 0.03)).toBe(3);
  });

  it('with repeats: an A/A pair of synthetic runs is unchanged, a 5% shift regressed', () => {
    const run = (seed: number, scale: number): number[][] =>
      [0, 1, 2].map((r) => {
        const level = 1 + 0.003 * (normals(seed * 10 + r, 1)[0] as number);
        return normals(seed * 100 + r, 2000).map((z) => scale * level * (1 + 0.02 * Math.abs(z)));
      });
    const noise = { cv: 0.003, source: 'default' as const, values: 0 };
    const aa = compareMetric({ level: 0.5, baseline: { kind: 'samples', repeatsMs: run(1, 1) }, current: { kind: 'samples', repeatsMs: run(2, 1) }, noise });
    expect(perfVerdict(aa, aa.p, 0.03)).toBe('unchanged');
    const slow = compareMetric({ level: 0.5, baseline: { kind: 'samples', repeatsMs: run(1, 1) }, current: { kind: 'samples', repeatsMs: run(2, 1.05) }, noise });
    expect(slow.ratio).toBeGreaterThan(1.03);
    expect(slow.p).toBeLessThan(1e-3);
    expect(perfVerdict(slow, slow.p, 0.03)).toBe('regressed');
  });

  it('history noise is the MAD of successive log differences, robust to one step; too few values use the default', () => {
    expect(betweenRunNoise([1, 1.01], 0.003)).toEqual({ cv: 0.003, source: 'default', values: 2 });
    const zs = normals(7, 60);
    const values = zs.map((z, i) => (i < 30 ? 1 : 1.2) * Math.exp(0.01 * z));
    const n = betweenRunNoise(values, 0.003);
    expect(n.source).toBe('history');
    expect(n.cv).toBeGreaterThan(0.006);
    expect(n.cv).toBeLessThan(0.015);
  });
});

describe('change points on synthetic histories', () => {
  it('finds a known +8% step at run 20 and nothing in flat noise', () => {
    const zs = normals(11, 40);
    const step = zs.map((z, i) => (i < 20 ? 2 : 2.16) * (1 + 0.005 * z));
    const cps = detectChangePoints(step);
    expect(cps).toHaveLength(1);
    expect(cps[0]?.index).toBe(20);
    expect(cps[0]?.shift).toBeGreaterThan(0.06);
    expect(cps[0]?.shift).toBeLessThan(0.1);
    const flat = normals(12, 40).map((z) => 2 * (1 + 0.005 * z));
    expect(detectChangePoints(flat)).toEqual([]);
  });

  it('finds two steps (down then up) and respects the minimum segment', () => {
    const zs = normals(13, 36);
    const v = zs.map((z, i) => (i < 12 ? 1 : i < 24 ? 0.9 : 1.05) * (1 + 0.003 * z));
    expect(detectChangePoints(v).map((c) => c.index)).toEqual([12, 24]);
    // a one-run blip is not a change point
    const blip = normals(14, 20).map((z, i) => (i === 10 ? 1.3 : 1) * (1 + 0.003 * z));
    expect(detectChangePoints(blip)).toEqual([]);
  });

  it('draws a sparkline', () => {
    expect(sparkline([1, 2, 3, 4, 5, 6, 7, 8])).toBe('▁▂▃▄▅▆▇█');
    expect(sparkline([1, undefined, 1])).toBe('▄·▄');
    expect(sparkline([])).toBe('');
  });
});

describe('GitHub step summary size', () => {
  it('cuts at a line boundary under the limit with a note', () => {
    const md = Array.from({ length: 100_000 }, (_, i) => `| row ${i} | ✔ |`).join('\n');
    const out = boundedMarkdown(md, 1024 * 1024 - 4096);
    expect(Buffer.byteLength(out, 'utf8')).toBeLessThanOrEqual(1024 * 1024 - 4096);
    expect(out).toContain('truncated');
    expect(boundedMarkdown('short')).toBe('short');
  });
});
