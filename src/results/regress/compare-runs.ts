/**
 * `benchalign regress`, the pure part: match the jobs of a baseline and a current run,
 * compare p50 and p99 of each pair (BH-controlled), check accuracy, and decide the verdicts
 * and the exit code. No I/O: the between-run noise comes in through `noiseFor`.
 */
import type { OutputAlignment } from '../../model/alignment.js';
import { ExitCode } from '../../errors.js';
import { samplesNsToMs } from '../../metrics/percentile.js';
import type { DeviceFingerprint, JobResult, RunResults } from '../../model/record.js';
import { DEFAULT_BETWEEN_RUN_CV, compareMetric, perfVerdict, repeatsNeeded, type BetweenRunNoise, type MetricComparison, type PerfVerdict, type Side } from '../../metrics/comparison.js';
import { benjaminiHochberg } from '../../metrics/distributions.js';

export type RegressMetric = 'p50' | 'p99';
export const REGRESS_METRICS: readonly RegressMetric[] = ['p50', 'p99'];
const LEVEL: Record<RegressMetric, number> = { p50: 0.5, p99: 0.99 };

export interface RegressOptions {
  minEffect?: Partial<Record<RegressMetric, number>>;
  /** FDR level of the BH procedure; default 0.01 (A/A false alarms <= 1% with 5 repeats: docs/regress.md). */
  alpha?: number;
  allowEnvChange?: boolean;
  /** Growth of mismatch% (percentage points) that counts as an accuracy regression; default 0.1. */
  mismatchGrowthPct?: number;
  /** Bootstrap resamples per side; default 1000. */
  resamples?: number;
  seed?: number;
  /** Between-run noise of a job's metric, from the store's history; default: DEFAULT_BETWEEN_RUN_CV. */
  noiseFor?: (job: JobResult, metric: RegressMetric) => BetweenRunNoise;
}

export interface PerfComparison extends MetricComparison {
  metric: RegressMetric;
  q: number;
  minEffect: number;
  verdict: PerfVerdict;
  noise: BetweenRunNoise;
  baselineRepeats: number;
  currentRepeats: number;
  recommendation?: string;
}

export interface AccuracyFinding {
  output: string;
  verdict: 'regressed' | 'improved' | 'unchanged';
  detail: string;
}

export type PairStatus = 'compared' | 'refused' | 'missing' | 'not-measured';

export interface JobComparison {
  key: string;
  model: string;
  engine: string;
  deviceHash?: string;
  status: PairStatus;
  /** Why it is refused, missing or not measured; environment notes when allowed. */
  notes: string[];
  perf: PerfComparison[];
  accuracy: AccuracyFinding[];
  /** Worst verdict of the pair. */
  verdict: PerfVerdict | 'refused' | 'missing' | 'not-measured';
}

export interface RegressReport {
  baseline: { runId: string; startedAt: string };
  current: { runId: string; startedAt: string };
  options: { minEffect: Record<RegressMetric, number>; alpha: number; allowEnvChange: boolean };
  jobs: JobComparison[];
  counts: Record<'regressed' | 'improved' | 'unchanged' | 'inconclusive' | 'refused' | 'missing' | 'not-measured', number>;
  exitCode: ExitCode;
  /** One line for humans. */
  summary: string;
}

const DEVICE_FIELDS: Array<keyof DeviceFingerprint> = ['cpuModel', 'cpuCores', 'cpuPhysicalCores', 'arch', 'memoryBytes', 'os', 'kernel', 'governor', 'gpus', 'engineVersions'];

/** Why two jobs' environments differ, in words; empty when they match. */
export function environmentChanges(base: JobResult, cur: JobResult): string[] {
  const out: string[] = [];
  if ((base.engine.version ?? '') !== (cur.engine.version ?? '')) {
    out.push(`engine version changed: ${base.engine.version ?? 'unknown'} -> ${cur.engine.version ?? 'unknown'}`);
  }
  const bh = base.device?.hash;
  const ch = cur.device?.hash;
  if (bh !== ch) {
    const fields = DEVICE_FIELDS.filter((f) => JSON.stringify(base.device?.[f]) !== JSON.stringify(cur.device?.[f]));
    const what = fields.length > 0 ? fields.map((f) => `${f}: ${JSON.stringify(base.device?.[f] ?? null)} -> ${JSON.stringify(cur.device?.[f] ?? null)}`).join('; ') : 'fields not recorded';
    out.push(`device fingerprint changed (${(bh ?? 'none').slice(0, 12)} -> ${(ch ?? 'none').slice(0, 12)}): ${what}`);
  }
  return out;
}

function sideOf(job: JobResult, metric: RegressMetric): Side | undefined {
  if (job.samplesNs && job.samplesNs.some((r) => r.length > 0)) return { kind: 'samples', repeatsMs: job.samplesNs.map(samplesNsToMs) };
  const est = job.latency?.percentiles[metric];
  if (!est || !job.latency) return undefined;
  return { kind: 'summary', value: est.value, low: est.low, high: est.high, repeats: job.latency.repeats };
}

function measured(job: JobResult): boolean {
  return (job.status === 'ok' || job.status === 'failed') && job.latency !== undefined;
}

/** Accuracy: verdict flips, and error growth beyond the output's tolerance. */
export function compareAlignment(base: readonly OutputAlignment[] | undefined, cur: readonly OutputAlignment[] | undefined, mismatchGrowthPct = 0.1): AccuracyFinding[] {
  if (!base || base.length === 0) return [];
  const byName = new Map((cur ?? []).map((o) => [o.name, o] as const));
  return base.map((b): AccuracyFinding => {
    const c = byName.get(b.name);
    if (!c) return { output: b.name, verdict: 'regressed', detail: 'output not checked in the current run' };
    if (b.passed && !c.passed) return { output: b.name, verdict: 'regressed', detail: `alignment flipped to FAIL: ${c.reasons.join('; ') || 'no reason recorded'}` };
    if (!b.passed && c.passed) return { output: b.name, verdict: 'improved', detail: 'alignment flipped to pass' };
    const grew: string[] = [];
    const atol = c.tolerance.atol;
    if (c.maxAbsError - b.maxAbsError > atol) grew.push(`max abs error grew ${fmtNum(b.maxAbsError)} -> ${fmtNum(c.maxAbsError)}, by more than atol ${fmtNum(atol)}`);
    if (c.mismatchPct - b.mismatchPct > mismatchGrowthPct) grew.push(`mismatch grew ${b.mismatchPct.toFixed(3)}% -> ${c.mismatchPct.toFixed(3)}%, by more than ${mismatchGrowthPct} points`);
    if (grew.length > 0) return { output: b.name, verdict: 'regressed', detail: grew.join('; ') };
    return { output: b.name, verdict: 'unchanged', detail: c.passed ? 'passes' : 'still fails, no worse' };
  });
}

function fmtNum(x: number): string {
  return Number.isFinite(x) ? x.toPrecision(3) : String(x);
}

const RANK: Record<string, number> = { regressed: 6, inconclusive: 4, improved: 3, unchanged: 2, refused: 5, missing: 5, 'not-measured': 1 };

/** Compares `current` against `baseline` (docs/regress.md). */
export function compareForRegress(baseline: RunResults, current: RunResults, options: RegressOptions = {}): RegressReport {
  const minEffect: Record<RegressMetric, number> = { p50: options.minEffect?.p50 ?? 0.03, p99: options.minEffect?.p99 ?? 0.05 };
  const alpha = options.alpha ?? 0.01;
  const allowEnvChange = options.allowEnvChange === true;
  const noiseFor = options.noiseFor ?? ((_j: JobResult, m: RegressMetric): BetweenRunNoise => ({ cv: DEFAULT_BETWEEN_RUN_CV[m], source: 'default', values: 0 }));
  const curByKey = new Map(current.jobs.map((j) => [j.key, j] as const));
  const jobs: JobComparison[] = [];
  const pending: Array<{ job: JobComparison; c: MetricComparison; metric: RegressMetric; noise: BetweenRunNoise; kb: number; kc: number }> = [];
  let seed = options.seed ?? 1;
  for (const b of baseline.jobs) {
    const c = curByKey.get(b.key);
    const jc: JobComparison = {
      key: b.key,
      model: b.model.name,
      engine: b.engine.name,
      ...(b.device?.hash ? { deviceHash: b.device.hash } : {}),
      status: 'compared',
      notes: [],
      perf: [],
      accuracy: [],
      verdict: 'unchanged',
    };
    jobs.push(jc);
    if (!c) {
      jc.status = 'missing';
      jc.notes.push('not in the current run');
      continue;
    }
    const env = environmentChanges(b, c);
    if (env.length > 0 && !allowEnvChange) {
      jc.status = 'refused';
      jc.notes.push(...env, 'not compared: pass --allow-env-change to compare across environments');
      continue;
    }
    if (env.length > 0) jc.notes.push(...env.map((e) => `${e} (compared anyway: --allow-env-change)`));
    jc.accuracy = compareAlignment(b.alignment, c.alignment, options.mismatchGrowthPct);
    if (!measured(b) || !measured(c)) {
      const which = !measured(c) ? `current job is ${c.status}${c.reason ? `: ${c.reason}` : ''}` : `baseline job is ${b.status}`;
      jc.notes.push(`latency not compared: ${which}`);
      if (jc.accuracy.length === 0) jc.status = 'not-measured';
      continue;
    }
    for (const metric of REGRESS_METRICS) {
      const sb = sideOf(b, metric);
      const sc = sideOf(c, metric);
      if (!sb || !sc) continue;
      const noise = noiseFor(c, metric);
      const cmp = compareMetric({ level: LEVEL[metric], baseline: sb, current: sc, noise, ...(options.resamples ? { resamples: options.resamples } : {}), seed: seed++ });
      pending.push({ job: jc, c: cmp, metric, noise, kb: b.latency?.repeats ?? 1, kc: c.latency?.repeats ?? 1 });
    }
  }
  const qs = benjaminiHochberg(pending.map((p) => p.c.p));
  pending.forEach((p, i) => {
    const q = qs[i] as number;
    const verdict = perfVerdict(p.c, q, minEffect[p.metric], alpha);
    const pc: PerfComparison = { ...p.c, metric: p.metric, q, minEffect: minEffect[p.metric], verdict, noise: p.noise, baselineRepeats: p.kb, currentRepeats: p.kc };
    if (verdict === 'inconclusive') {
      const k = Math.max(p.kb, p.kc);
      const need = repeatsNeeded(p.c.se, k, minEffect[p.metric]);
      pc.recommendation = `CI ${pct(p.c.ratioLow)}..${pct(p.c.ratioHigh)} is too wide for a ${(minEffect[p.metric] * 100).toFixed(1)}% minimum effect: measure both sides with --repeats ${Math.max(need, k + 1)} (or longer runs)`;
    }
    p.job.perf.push(pc);
  });
  const counts: RegressReport['counts'] = { regressed: 0, improved: 0, unchanged: 0, inconclusive: 0, refused: 0, missing: 0, 'not-measured': 0 };
  for (const j of jobs) {
    if (j.status !== 'compared') j.verdict = j.status;
    else {
      const vs: string[] = [...j.perf.map((p) => p.verdict), ...j.accuracy.map((a) => a.verdict)];
      if (vs.length === 0) j.verdict = 'unchanged';
      else j.verdict = vs.reduce((w, v) => ((RANK[v] ?? 0) > (RANK[w] ?? 0) ? v : w)) as JobComparison['verdict'];
    }
    counts[j.verdict] += 1;
  }
  const comparable = jobs.filter((j) => j.status === 'compared').length;
  const regressed = counts.regressed;
  const exitCode = regressed > 0 ? ExitCode.GateFailed : comparable === 0 ? ExitCode.NothingMeasured : ExitCode.Ok;
  const parts = Object.entries(counts).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`);
  const summary =
    comparable === 0
      ? `nothing comparable between ${baseline.run.id} and ${current.run.id}${counts.refused > 0 ? ` (${counts.refused} refused: environment changed)` : ''}`
      : `${regressed > 0 ? 'REGRESSION' : 'no regression'}: ${parts.join(', ')}`;
  return {
    baseline: { runId: baseline.run.id, startedAt: baseline.run.startedAt },
    current: { runId: current.run.id, startedAt: current.run.startedAt },
    options: { minEffect, alpha, allowEnvChange },
    jobs,
    counts,
    exitCode,
    summary,
  };
}

function pct(ratio: number): string {
  const d = (ratio - 1) * 100;
  return `${d >= 0 ? '+' : ''}${d.toFixed(1)}%`;
}
