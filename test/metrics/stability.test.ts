import { describe, expect, it } from 'vitest';
import { summarizeLatency } from '../../src/metrics/latency.js';
import { createPrng } from '../../src/metrics/prng.js';
import { assessStability } from '../../src/metrics/stability.js';

describe('stability flags look at tails, outliers and drift, not CI width', () => {
  it('p99/p50 = 88 (2% stalls at 88 ms): tail and outliers flagged, hand-worked figures', () => {
    // 980 samples of 1 ms, 20 of 88 ms: type-7 p99 at h = 999 × 0.99 = 989.01 lands in the 88s
    const rep = [...Array<number>(980).fill(1), ...Array<number>(20).fill(88)];
    const s = assessStability([rep, rep, rep]);
    expect(s.tailRatio).toBe(88);
    expect(s.outlierShare).toBeCloseTo(0.02, 12);
    expect(s.flags.map((f) => f.kind).sort()).toEqual(['outliers', 'tail']);
    expect(s.flags.find((f) => f.kind === 'tail')?.advice).toMatch(/p99\/p50 88\.00/);
  });

  it('a job with p99/p50 of 1.4 and no drift is stable, however wide its CI', () => {
    const rng = createPrng(3);
    // uniform on [1, 1.4): p99/p50 = 1.396/1.2 = 1.16; three processes 10% apart (a wide CI)
    const reps = [1, 1.1, 1.2].map((f) => Array.from({ length: 400 }, () => f * (1 + 0.4 * rng.nextFloat())));
    const st = summarizeLatency(reps);
    expect(st.stability?.flags).toEqual([]);
    expect((st.percentiles.p50.high - st.percentiles.p50.low) / st.percentiles.p50.value).toBeGreaterThan(0.1);
  });

  it('drift between the halves of a repeat: flagged with its size and sign', () => {
    const rng = createPrng(4);
    const steady = Array.from({ length: 200 }, () => 1 + 0.01 * rng.nextFloat());
    const drifting = [...Array.from({ length: 100 }, () => 1 + 0.01 * rng.nextFloat()), ...Array.from({ length: 100 }, () => 1.05 + 0.01 * rng.nextFloat())];
    const s = assessStability([steady, drifting]);
    expect(s.flags.map((f) => f.kind)).toEqual(['drift']);
    expect(s.drift).toBeGreaterThan(0.04);
    expect(s.drift).toBeLessThan(0.06);
    expect(s.flags[0]?.advice).toMatch(/rose/);
    expect(assessStability([steady]).flags).toEqual([]);
  });
});
