/**
 * Detector quality of `benchalign regress` on REAL ONNX Runtime latency samples.
 *
 * Records the bundled CNN (suites/smoke.yaml settings, the default sample sizes) in 12 fresh
 * worker processes, so that run-to-run drift is real. Each trial draws, without replacement,
 * 3 recorded processes as the baseline run, 3 others as the current run and the remaining 6
 * as the stored history (the between-run noise floor), then runs the full comparison (p50
 * and p99, BH across both). Then again with 5 processes per side (2 left as history). Scenarios: A/A (false-positive rate, target <= 1%), the current
 * run's samples slowed by 5% (power, target >= 95%) and by 3% (power, target >= 80%).
 *
 *   npm run bench -- regress
 * BENCH_REGRESS_TRIALS (default 200) sets the trials per scenario; BENCH_REGRESS_RUNS=<results.json>
 * reuses a recorded run (with >= 12 repeats) instead of measuring.
 */
import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSuite } from '../src/workflows/run.js';
import { percentileOfSorted, samplesNsToMs, sortSamples } from '../src/metrics/percentile.js';
import { createPrng, type Prng } from '../src/metrics/prng.js';
import type { JobResult, RunResults } from '../src/model/record.js';
import { compareForRegress, type RegressMetric } from '../src/results/regress/compare-runs.js';
import { DEFAULT_BETWEEN_RUN_CV, betweenRunNoise } from '../src/metrics/comparison.js';

const SUITE = fileURLToPath(new URL('../suites/smoke.yaml', import.meta.url));
const PROCESSES = 12;

function shuffle(n: number, rng: Prng): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    [a[i], a[j]] = [a[j] as number, a[i] as number];
  }
  return a;
}

function runOf(id: string, template: JobResult, samplesNs: number[][]): RunResults {
  // compareForRegress reads the samples; of the summary only that it exists and its repeat count
  const job: JobResult = { ...template, samplesNs, latency: { ...(template.latency as NonNullable<JobResult['latency']>), repeats: samplesNs.length } };
  delete job.alignment;
  return {
    schemaVersion: 1,
    tool: { name: 'benchalign', version: 'bench' },
    suite: { name: 'smoke', path: SUITE, sha256: '' },
    run: { id, startedAt: '', status: 'complete', argv: [], mode: 'benchmark' },
    jobs: [job],
  };
}

async function record(): Promise<JobResult> {
  const reuse = process.env.BENCH_REGRESS_RUNS;
  let results: RunResults;
  if (reuse) results = JSON.parse(readFileSync(reuse, 'utf8')) as RunResults;
  else {
    const out = mkdtempSync(join(tmpdir(), 'benchalign-regress-bench-'));
    const t0 = Date.now();
    results = (await runSuite({ suitePath: SUITE, models: ['cnn'], repeats: PROCESSES, outDir: out, quiet: true })).results;
    console.log(`recorded ${PROCESSES} worker processes of cnn × onnxruntime in ${((Date.now() - t0) / 1000).toFixed(0)} s (${out}/results.json)`);
  }
  const job = results.jobs.find((j) => j.samplesNs && j.samplesNs.length >= PROCESSES);
  if (!job?.samplesNs) throw new Error(`no job with ${PROCESSES} repeats of raw samples`);
  return job;
}

export async function run(): Promise<void> {
  const trials = Number(process.env.BENCH_REGRESS_TRIALS ?? 200);
  const job = await record();
  const reps = (job.samplesNs as number[][]).slice(0, PROCESSES);
  const p50s = reps.map((r) => percentileOfSorted(sortSamples(samplesNsToMs(r)), 0.5));
  const p99s = reps.map((r) => percentileOfSorted(sortSamples(samplesNsToMs(r)), 0.99));
  const spread = (xs: number[]): string => `${Math.min(...xs).toFixed(4)}..${Math.max(...xs).toFixed(4)} ms (±${(((Math.max(...xs) - Math.min(...xs)) / 2 / (xs.reduce((a, b) => a + b, 0) / xs.length)) * 100).toFixed(2)}%)`;
  console.log(`samples per process: ${reps.map((r) => r.length).join(', ')}`);
  console.log(`per-process p50 ${spread(p50s)}; p99 ${spread(p99s)}`);

  const scenarios: Array<{ name: string; factor: number; target: string; ok: (rate: number) => boolean }> = [
    { name: 'A/A false-positive rate', factor: 1, target: '<= 1%', ok: (r) => r <= 0.01 },
    { name: 'power, 5% slowdown', factor: 1.05, target: '>= 95%', ok: (r) => r >= 0.95 },
    { name: 'power, 3% slowdown', factor: 1.03, target: '>= 80%', ok: (r) => r >= 0.8 },
  ];
  // 3 repeats per side is the smoke suite's default; 5 shows how power grows with repeats
  const ks = (process.env.BENCH_REGRESS_K ?? '3,5').split(',').map(Number);
  for (const K of ks) {
    for (const sc of scenarios) {
      const rng = createPrng(20260 + Math.round(sc.factor * 1000));
      let flagged = 0;
      let falseAlarm = 0;
      const verdicts: Record<string, number> = {};
      const byMetric: Record<string, number> = {};
      const t0 = Date.now();
      for (let t = 0; t < trials; t++) {
        const order = shuffle(PROCESSES, rng);
        const base = order.slice(0, K).map((i) => reps[i] as number[]);
        const cur = order.slice(K, 2 * K).map((i) => (reps[i] as number[]).map((ns) => Math.round(ns * sc.factor)));
        const hist = order.slice(2 * K);
        const history: Record<RegressMetric, number[]> = { p50: hist.map((i) => p50s[i] as number), p99: hist.map((i) => p99s[i] as number) };
        const report = compareForRegress(runOf('base', job, base), runOf('cur', job, cur), {
          seed: t + 1,
          ...(process.env.BENCH_REGRESS_ALPHA ? { alpha: Number(process.env.BENCH_REGRESS_ALPHA) } : {}),
          noiseFor: (_j, m) => betweenRunNoise(history[m], DEFAULT_BETWEEN_RUN_CV[m]),
        });
        const v = report.jobs[0]?.verdict ?? 'none';
        for (const p of report.jobs[0]?.perf ?? []) byMetric[`${p.metric} ${p.verdict}`] = (byMetric[`${p.metric} ${p.verdict}`] ?? 0) + 1;
        verdicts[v] = (verdicts[v] ?? 0) + 1;
        if (v === 'regressed') flagged++;
        if (v === 'regressed' || v === 'improved') falseAlarm++;
      }
      const rate = sc.factor === 1 ? falseAlarm / trials : flagged / trials;
      const dist = Object.entries(verdicts).map(([k, n]) => `${k} ${n}`).join(', ');
      const per = Object.entries(byMetric).sort().map(([k, n]) => `${k} ${n}`).join(', ');
      console.log(
        `${K} repeats per side, ${sc.name}: ${(rate * 100).toFixed(1)}% over ${trials} trials (target ${sc.target}: ${sc.ok(rate) ? 'met' : 'MISSED'}); verdicts: ${dist} (per metric: ${per}); ${((Date.now() - t0) / trials).toFixed(1)} ms/trial`,
      );
    }
  }
}
