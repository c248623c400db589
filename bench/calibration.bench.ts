/**
 * Calibration of the latency intervals (docs/methodology.md, "Intervals"), `npm run bench -- calibration`.
 *
 * 1. Simulated (known truth): coverage of the in-run 95% CI of p50 over 2000 simulated runs of
 *    k = 3 and 5 repeats, for the t interval on log per-repeat percentiles (what benchalign
 *    reports) and for the hierarchical bootstrap it replaced.
 * 2. Real: N fresh `benchalign run`s (k repeats each) of a bundled model on ONNX Runtime, one
 *    after another, into one store. For each run i >= 2, whether the next-run interval that
 *    run i-1 recorded (`latency.nextRun.p50/p99`, basis history once the store holds enough
 *    runs) holds run i's p50/p99; the same for the repeats basis alone; whether each run's
 *    in-run CI holds the median of all N runs' p50 (it is not meant to: it shows how much
 *    run-to-run drift a single run cannot see); median half-widths; wall time per run against
 *    trtexec's fixed 3 s per process.
 *
 * BENCH_CALIBRATION_RUNS (default 14), BENCH_CALIBRATION_REPEATS (default 5),
 * BENCH_CALIBRATION_MODEL (cnn or transformer, a model of the suite BENCH_CALIBRATION_SUITE, or an
 * ONNX file such as a model you have not benchmarked before; default cnn), BENCH_CALIBRATION_SIMS (default 2000;
 * 0 skips the simulation), BENCH_CALIBRATION_REAL=0 skips the real runs.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { runSuite } from '../src/workflows/run.js';
import { DEFAULT_BETWEEN_PROCESS_CV, DEFAULT_RUN_TO_RUN_CV, nextRunFromRepeats, relHalfWidthLog } from '../src/metrics/intervals.js';
import { hierarchicalBootstrap, summarizeLatency } from '../src/metrics/latency.js';
import { sortSamples } from '../src/metrics/percentile.js';
import { createPrng, nextDouble53, type Prng } from '../src/metrics/prng.js';
import type { RunResults } from '../src/model/record.js';

const SMOKE = fileURLToPath(new URL('../suites/smoke.yaml', import.meta.url));

function gauss(rng: Prng): number {
  const u = nextDouble53(rng) || 1e-300;
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * nextDouble53(rng));
}

const med = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? (s[(n - 1) / 2] as number) : ((s[n / 2 - 1] as number) + (s[n / 2] as number)) / 2;
};
const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

/** Coverage of the in-run p50 CI on simulated runs: process effects sd 1%, samples lognormal sd 5%, 301 a process. */
function simulate(sims: number): void {
  for (const k of [3, 5]) {
    const rng = createPrng(900 + k);
    let tHit = 0;
    let bHit = 0;
    const tW: number[] = [];
    const bW: number[] = [];
    const t0 = Date.now();
    for (let s = 0; s < sims; s++) {
      const reps = Array.from({ length: k }, () => {
        const b = 0.01 * gauss(rng);
        return Array.from({ length: 301 }, () => Math.exp(b + 0.05 * gauss(rng)));
      });
      const t = summarizeLatency(reps).percentiles.p50;
      if (t.low <= 1 && 1 <= t.high) tHit++;
      tW.push(relHalfWidthLog(t));
      const boot = hierarchicalBootstrap(reps.map((r) => sortSamples(r)), [0.5], { resamples: 400, seed: s + 1, confidence: 0.95 })[0] as { low: number; high: number };
      if (boot.low <= 1 && 1 <= boot.high) bHit++;
      bW.push(relHalfWidthLog(boot));
    }
    console.log(
      `simulated, ${k} repeats, ${sims} runs: in-run p50 CI coverage t-log-repeats ${pct(tHit / sims)} (median ±${pct(med(tW))}), hierarchical bootstrap ${pct(bHit / sims)} (median ±${pct(med(bW))}); nominal 95% (${((Date.now() - t0) / 1000).toFixed(1)} s)`,
    );
  }
}

/**
 * A one-job suite for the calibration: `model` is a model of the bundled smoke suite (cnn,
 * transformer), a model of the suite BENCH_CALIBRATION_SUITE names, or an ONNX file (any
 * model, random inputs, no reference: latency only); on ONNX Runtime with the smoke suite's
 * engine settings and measurement (concurrency 1).
 */
function calibrationSuite(dir: string, model: string): string {
  type Raw = { models: Array<Record<string, unknown>>; engines?: unknown; measurement?: Record<string, unknown> };
  const smoke = parse(readFileSync(SMOKE, 'utf8')) as Raw;
  const source = process.env.BENCH_CALIBRATION_SUITE ?? SMOKE;
  const raw = model.endsWith('.onnx') ? { ...smoke, models: [{ name: basename(model, '.onnx'), path: resolve(model) }] } : (parse(readFileSync(source, 'utf8')) as Raw);
  const base = dirname(source);
  const abs = (p: unknown): unknown => (typeof p === 'string' ? resolve(base, p) : p);
  raw.models = raw.models
    .filter((m) => model.endsWith('.onnx') || m['name'] === model)
    .map((m) => {
      const inputs = m['inputs'] as Record<string, unknown> | undefined;
      return { ...m, path: abs(m['path']), ...(m['reference'] !== undefined ? { reference: abs(m['reference']) } : {}), ...(inputs ? { inputs: { ...inputs, ...(inputs['file'] ? { file: abs(inputs['file']) } : {}) } } : {}) };
    });
  if (raw.models.length === 0) throw new Error(`no model ${model} in ${source}`);
  raw.engines = smoke.engines;
  raw.measurement = { ...smoke.measurement, ...raw.measurement, concurrency: [1] };
  const path = join(dir, 'calibration.yaml');
  writeFileSync(path, stringify({ ...raw, name: 'calibration' }));
  return path;
}

async function real(runs: number, repeats: number, model: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'benchalign-calibration-'));
  const suitePath = calibrationSuite(dir, model);
  const store = join(dir, 'store.db');
  const results: RunResults[] = [];
  const seconds: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = Date.now();
    const r = await runSuite({ suitePath, repeats, outDir: join(dir, `run-${String(i + 1).padStart(2, '0')}`), quiet: true, store });
    seconds.push((Date.now() - t0) / 1000);
    results.push(r.results);
    const j = r.results.jobs[0];
    const p = j?.latency?.percentiles.p50;
    const nr = j?.latency?.nextRun?.p50;
    console.log(
      `run ${i + 1}/${runs}: ${seconds[i]?.toFixed(1)} s, ${j?.status}${j?.unstable ? ' (unstable)' : ''}, p50 ${p?.value.toFixed(4)} ms [${p?.low.toFixed(4)}, ${p?.high.toFixed(4)}], next run p50 [${nr?.low.toFixed(4)}, ${nr?.high.toFixed(4)}] (${nr?.basis}, ${nr?.runs} runs)`,
    );
    // a run id is a timestamp to the second
    await new Promise((res) => setTimeout(res, 1100));
  }
  console.log(`runs in ${dir} (store ${store})`);
  const jobs = results.map((r) => r.jobs[0]);
  if (jobs.some((j) => !j?.latency)) throw new Error('a run has no latency');
  const lat = jobs.map((j) => j!.latency!);
  const allP50 = med(lat.map((l) => l.percentiles.p50.value));
  for (const metric of ['p50', 'p99'] as const) {
    const rows: Array<{ basis: string; hit: boolean; hw: number; i: number }> = [];
    const repeatsRows: Array<{ hit: boolean; hw: number }> = [];
    for (let i = 1; i < runs; i++) {
      const prev = lat[i - 1]!;
      const next = lat[i]!.percentiles[metric].value;
      const iv = prev.nextRun?.[metric];
      if (iv) rows.push({ basis: iv.basis, hit: iv.low <= next && next <= iv.high, hw: relHalfWidthLog(iv), i: i + 1 });
      const per = metric === 'p50' ? prev.betweenRepeats?.p50PerRepeatMs : prev.betweenRepeats?.p99PerRepeatMs;
      if (per) {
        const rep = nextRunFromRepeats({ perRepeat: per, runToRunCv: DEFAULT_RUN_TO_RUN_CV[metric], betweenProcessCv: DEFAULT_BETWEEN_PROCESS_CV[metric] });
        repeatsRows.push({ hit: rep.low <= next && next <= rep.high, hw: relHalfWidthLog(rep) });
      }
    }
    const hist = rows.filter((r) => r.basis === 'history');
    const late = rows.filter((r) => r.i >= 5);
    console.log(
      `${metric} next-run interval as recorded, runs 5..${runs}: ${late.filter((r) => r.hit).length}/${late.length} held the next run (${late.map((r) => r.basis[0]).join('')}), median half-width ±${pct(med(late.map((r) => r.hw)))}; all history-basis checks ${hist.filter((r) => r.hit).length}/${hist.length}`,
    );
    console.log(
      `${metric} next-run interval, repeats basis only, runs 2..${runs}: ${repeatsRows.filter((r) => r.hit).length}/${repeatsRows.length} held the next run, median half-width ±${pct(med(repeatsRows.map((r) => r.hw)))}`,
    );
  }
  const inRun = lat.map((l) => l.percentiles.p50);
  console.log(
    `in-run p50 CIs holding the median of all ${runs} runs' p50 (${allP50.toFixed(4)} ms): ${inRun.filter((e) => e.low <= allP50 && allP50 <= e.high).length}/${runs}, median half-width ±${pct(med(inRun.map((e) => relHalfWidthLog(e))))}; runs' p50 spread ${pct(Math.max(...inRun.map((e) => e.value)) / Math.min(...inRun.map((e) => e.value)) - 1)}`,
  );
  const steady = jobs.map((j) => (j!.samplesNs ?? []).reduce((a, r) => a + r.reduce((x, y) => x + y, 0), 0) / 1e9);
  console.log(
    `time per run: median ${med(seconds).toFixed(1)} s wall (${repeats} fresh processes: load, first inference, warm-up, adaptive steady state ${med(steady).toFixed(1)} s in all); trtexec's fixed 3 s per process would be ${(3 * repeats).toFixed(0)} s of steady state; stopping reasons ${[...new Set(jobs.flatMap((j) => (j!.stoppingPerRepeat ?? []).map((s) => s.reason)))].join(', ')}; unstable runs ${jobs.filter((j) => j!.unstable).length}/${runs} (${[...new Set(lat.flatMap((l) => (l.stability?.flags ?? []).map((f) => f.kind)))].join(', ') || 'no flags'})`,
  );
}

export async function run(): Promise<void> {
  const sims = Number(process.env.BENCH_CALIBRATION_SIMS ?? 2000);
  if (sims > 0) simulate(sims);
  if (process.env.BENCH_CALIBRATION_REAL === '0') return;
  await real(Number(process.env.BENCH_CALIBRATION_RUNS ?? 14), Number(process.env.BENCH_CALIBRATION_REPEATS ?? 5), process.env.BENCH_CALIBRATION_MODEL ?? 'cnn');
}
