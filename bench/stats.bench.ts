/**
 * The statistics' own cost, with tinybench (its retained samples; the numbers printed are
 * our percentile of them): what summarising a job costs next to the job itself. A 10-repeat
 * x 10k-sample job is summarised (per-repeat percentiles, t intervals, stability flags) and,
 * for comparison, run through the hierarchical bootstrap (2000 resamples) it replaced; MSER
 * and the stopping decision run after every batch of the timing loop.
 */
import { Bench } from 'tinybench';
import { hierarchicalBootstrap, summarizeLatency } from '../src/metrics/latency.js';
import { mserTruncation } from '../src/metrics/mser.js';
import { percentile, sortSamples } from '../src/metrics/percentile.js';
import { createPrng } from '../src/metrics/prng.js';
import { decideStop } from '../src/metrics/stopping.js';

function lognormalSamples(n: number, seed: number): number[] {
  const rng = createPrng(seed);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const u = Math.max(rng.nextFloat(), 1e-12);
    const v = rng.nextFloat();
    out.push(Math.exp(-0.25 + 0.1 * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)));
  }
  return out;
}

export async function run(): Promise<void> {
  const repeats = Array.from({ length: 10 }, (_, i) => lognormalSamples(10_000, i + 1));
  const single = lognormalSamples(100_000, 99);
  const bench = new Bench({ time: 1500, warmupTime: 200 });
  bench
    .add('summarizeLatency 1 x 100k (binomial CIs)', () => void summarizeLatency([single]))
    .add('summarizeLatency 10 x 10k (t intervals)', () => void summarizeLatency(repeats))
    .add('hierarchicalBootstrap 10 x 10k, 2000 resamples', () => void hierarchicalBootstrap(repeats.map((r) => sortSamples(r)), [0.5, 0.9, 0.95, 0.99, 0.999], { resamples: 2000, seed: 1, confidence: 0.95 }))
    .add('mserTruncation 100k', () => void mserTruncation(single))
    .add('decideStop 100k', () => void decideStop({ samplesMs: single, elapsedMs: 80_000, iterations: 100_000 }));
  await bench.run();
  for (const task of bench.tasks) {
    const samplesMs = task.result?.latency.samples ?? [];
    if (samplesMs.length === 0) continue;
    const p50 = percentile(sortSamples(samplesMs), 0.5);
    console.log(`${task.name.padEnd(52)} p50 ${p50.toFixed(2)} ms over ${samplesMs.length} runs`);
  }
}
