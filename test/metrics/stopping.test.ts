import { describe, expect, it } from 'vitest';
import { DEFAULT_STOPPING_POLICY, decideStop } from '../../src/metrics/stopping.js';
import { createPrng } from '../../src/metrics/prng.js';
import { loadStatsManifest } from './fixture.js';

const m = loadStatsManifest();

function noisy(n: number, seed: number, base = 1, spread = 0.002): number[] {
  const rng = createPrng(seed);
  return Array.from({ length: n }, () => base * (1 + spread * rng.nextFloat()));
}

describe('decideStop', () => {
  it('defaults: ±1% p50, ±5% p99, p99 needs the 299 samples scipy gives for a 95% CI', () => {
    expect(DEFAULT_STOPPING_POLICY.targetRelHalfWidthP50).toBe(0.01);
    expect(DEFAULT_STOPPING_POLICY.targetRelHalfWidthP99).toBe(0.05);
    expect(DEFAULT_STOPPING_POLICY.p99MinSamples).toBe(m.minSamples['p99']);
  });

  it('reports the p50 half-width of the scipy order-statistic CI', () => {
    const set = m.sets['lognormal']!;
    const ref = set.percentiles.p50;
    const want = ((ref.high - ref.low) / 2 / ref.value) * 100;
    const d = decideStop({ samplesMs: set.samples, elapsedMs: 5000, iterations: set.count });
    expect(d.info.p50HalfWidthPct).toBeCloseTo(want, 10);
    const r99 = set.percentiles.p99;
    expect(d.info.p99HalfWidthPct).toBeCloseTo(((r99.high - r99.low) / 2 / r99.value) * 100, 10);
  });

  it('stops on the CI target once the minimum duration and iterations are met', () => {
    const xs = noisy(400, 1);
    expect(decideStop({ samplesMs: xs, elapsedMs: 400, iterations: 400 }).stop).toBe(false);
    const d = decideStop({ samplesMs: xs, elapsedMs: 1200, iterations: 400 });
    expect(d).toMatchObject({ stop: true, nextBatch: 0, info: { reason: 'ci-target', stable: true } });
    expect(d.info.recommendation).toBeUndefined();
  });

  it('checks p99 only once there are enough samples to bound it', () => {
    // tight body, a wide tail above the 97th percentile
    const body = noisy(298, 2);
    const xs = body.map((x, i) => (i % 33 === 0 ? x * (1.5 + (i % 7) / 10) : x));
    const few = decideStop({ samplesMs: xs, elapsedMs: 2000, iterations: 298 });
    expect(few.info.p99HalfWidthPct).toBeUndefined();
    expect(few.stop).toBe(true);
    const more = decideStop({ samplesMs: [...xs, 1.0005], elapsedMs: 2000, iterations: 299 });
    expect(more.info.p99HalfWidthPct).toBeGreaterThan(5);
    expect(more.stop).toBe(false);
    expect(more.nextBatch).toBeGreaterThan(0);
  });

  it('marks a run that reaches maxDurationMs first unstable, with a recommendation', () => {
    const set = m.sets['lognormal']!;
    const d = decideStop(
      { samplesMs: set.samples, elapsedMs: 20_000, iterations: set.count },
      { targetRelHalfWidthP50: 0.001 },
    );
    expect(d).toMatchObject({ stop: true, info: { reason: 'max-duration', stable: false } });
    expect(d.info.recommendation).toMatch(/increase maxDurationMs to about \d+/);
  });

  it('recommends pinning the CPU frequency when p50 drifts, and isolation for heavy tails', () => {
    const drift = noisy(2000, 3).map((x, i) => x * (1 + (0.05 * i) / 2000));
    const d1 = decideStop({ samplesMs: drift, elapsedMs: 30_000, iterations: 2000 }, { targetRelHalfWidthP50: 0.0001 });
    expect(d1.info.recommendation).toMatch(/governor "performance"/);
    const heavy = noisy(2000, 4).map((x, i) => (i % 20 === 0 ? x * 3 : x));
    const d2 = decideStop({ samplesMs: heavy, elapsedMs: 30_000, iterations: 2000 }, { targetRelHalfWidthP50: 0.00001 });
    expect(d2.info.recommendation).toMatch(/high dispersion \(p99\/p50 3\.\d\d/);
    expect(d2.info.recommendation).not.toMatch(/governor/);
  });

  it('stops at maxIterations and says which limit to raise', () => {
    const d = decideStop(
      { samplesMs: noisy(100, 5, 1, 0.5), elapsedMs: 100, iterations: 100 },
      { maxIterations: 100, minDurationMs: 0 },
    );
    expect(d).toMatchObject({ stop: true, info: { reason: 'max-iterations', stable: false } });
    expect(d.info.recommendation).toMatch(/increase maxIterations to about \d+/);
  });

  it('sizes the next batch: initial batch, then bounded by maxBatchMs and the remaining time', () => {
    expect(decideStop({ samplesMs: [], elapsedMs: 0, iterations: 0 }).nextBatch).toBe(10);
    const xs = noisy(50, 6, 1, 0.5);
    const d = decideStop({ samplesMs: xs, elapsedMs: 50, iterations: 50 });
    expect(d.stop).toBe(false);
    expect(d.nextBatch).toBe(500); // 1 ms per iteration, 500 ms batches at most
    const nearEnd = decideStop({ samplesMs: xs, elapsedMs: 19_990, iterations: 50 });
    expect(nearEnd.nextBatch).toBe(1); // 399.8 ms per iteration: one more fits before 20 s
  });

  it('no samples at the time limit: unstable, says nothing was measured', () => {
    const d = decideStop({ samplesMs: [], elapsedMs: 25_000, iterations: 3 });
    expect(d.info.stable).toBe(false);
    expect(d.info.recommendation).toMatch(/no steady-state samples/);
  });
});
