/**
 * `benchalign signoff`, the pure part: match the policy's selectors to the run's jobs and
 * decide every check. No I/O: the regression comparison against the baseline comes in
 * already computed (compareForRegress), or with the reason there is none.
 */
import type { DeviceFingerprint, JobResult, RunResults } from '../../model/record.js';
import type { JobComparison, PerfComparison, RegressReport } from '../regress/compare-runs.js';
import type { CheckName, Criterion, PolicyFile, Required } from './policy.js';

/** One line of the checklist. */
export interface SignoffCheck {
  /** Where in the policy it comes from: `run`, `require[0]`, `criteria[2]`. */
  source: string;
  check: 'run-complete' | 'required' | 'matched' | 'measured' | CheckName;
  /** The job it is about (its key), when it is about one job. */
  job?: string;
  deviceHash?: string;
  passed: boolean;
  /** What was measured against what limit, in words: `p99 1.23 ms ≤ 5 ms`. */
  text: string;
  /** The measured number, when there is one (unit in `unit`). */
  measured?: number;
  limit?: number;
  unit?: string;
  /** Why it failed (or, for a pass, a note such as a missing baseline allowed by the policy). */
  why?: string;
  /** Latency budgets, judged with the CI: `inconclusive` when the CI straddles the budget (not a pass). */
  verdict?: 'pass' | 'fail' | 'inconclusive';
}

/** The baseline side of noRegression. */
export interface BaselineContext {
  tag: string;
  /** The baseline run id, when one was found. */
  runId?: string;
  /** compareForRegress(baseline, current) when a baseline was found. */
  report?: RegressReport;
  /** Why there is no baseline (no store, no run with the tag, store unreadable). */
  missing?: string;
}

/** A glob ("*" any characters, "?" one) as an anchored RegExp. */
export function globToRegExp(glob: string, caseInsensitive = false): RegExp {
  const body = [...glob].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&'))).join('');
  return new RegExp(`^${body}$`, caseInsensitive ? 'is' : 's');
}

/** The job key after the model name: `<engine>/<precision>[/<label>]`. */
export function variantOf(job: JobResult): string {
  const prefix = `${job.model.name}/`;
  return job.key.startsWith(prefix) ? job.key.slice(prefix.length) : `${job.engine.name}/${job.engine.precision}`;
}

export function deviceOf(job: JobResult, run: RunResults): DeviceFingerprint | undefined {
  return job.device ?? run.device;
}

export function deviceMatches(glob: string, device: DeviceFingerprint | undefined): boolean {
  if (glob === '*') return true;
  if (!device) return false;
  if (/^[0-9a-f]{6,}$/i.test(glob) && device.hash.toLowerCase().startsWith(glob.toLowerCase())) return true;
  const re = globToRegExp(glob, true);
  return [device.hostname, device.cpuModel, device.arch, device.os, device.hash, ...device.gpus.map((g) => g.model)].some((v) => typeof v === 'string' && re.test(v));
}

/** True when the job is one the selector (model, engine or variant, device, precision) names. */
export function selects(sel: Required & { precision?: string }, job: JobResult, run: RunResults): boolean {
  if (!globToRegExp(sel.model).test(job.model.name)) return false;
  const e = globToRegExp(sel.engine);
  if (!e.test(job.engine.name) && !e.test(variantOf(job))) return false;
  if (sel.precision !== undefined && job.engine.precision !== sel.precision) return false;
  return deviceMatches(sel.device, deviceOf(job, run));
}

function selectorText(sel: Required & { precision?: string }): string {
  return `model ${sel.model} × engine ${sel.engine}${sel.precision ? ` ${sel.precision}` : ''} × device ${sel.device}`;
}

const measured = (j: JobResult): boolean => j.status === 'ok' || j.status === 'failed';

function num(x: number, digits = 4): string {
  if (!Number.isFinite(x)) return String(x);
  if (x !== 0 && (Math.abs(x) < 1e-3 || Math.abs(x) >= 1e6)) return x.toExponential(2);
  return Number(x.toPrecision(digits)).toString();
}

/** A limit as the policy wrote it. */
const lim = (x: number): string => String(x);

function overBy(measuredV: number, limit: number): string {
  const d = (measuredV / limit - 1) * 100;
  return `${d >= 0 ? '+' : ''}${d.toFixed(1)}%`;
}

function statusText(j: JobResult): string {
  return `${j.status}${j.reason ? `: ${j.reason.split('\n')[0]}` : ''}`;
}

function checkAlignment(j: JobResult): Omit<SignoffCheck, 'source' | 'job'> {
  const outs = j.alignment ?? [];
  if (outs.length === 0) return { check: 'alignment', passed: false, text: 'alignment: not checked', why: 'no alignment recorded for this job (the suite gives no reference for the model)' };
  const bad = outs.filter((o) => !o.passed);
  const worst = Math.max(...outs.map((o) => o.maxAbsError));
  const minCos = Math.min(...outs.map((o) => o.cosine));
  const text = `alignment: ${outs.length - bad.length}/${outs.length} outputs pass (max abs err ${num(worst, 3)}, min cosine ${Number.isFinite(minCos) ? minCos.toFixed(6) : String(minCos)})`;
  if (bad.length === 0) return { check: 'alignment', passed: true, text };
  return { check: 'alignment', passed: false, text, why: bad.map((o) => `${o.name}: ${o.reasons.join('; ') || 'failed'}`).join(' | ') };
}

/**
 * A latency budget judged with the percentile's 95% CI (one set of numbers: the job's own
 * `latency.percentiles`): pass when the whole CI is under the budget, fail when it is all
 * over, inconclusive (not a pass) when it straddles, with the repeats that would decide.
 */
function checkLatency(j: JobResult, check: 'p50Ms' | 'p99Ms', limit: number): Omit<SignoffCheck, 'source' | 'job'> {
  const level = check === 'p50Ms' ? 'p50' : 'p99';
  const est = j.latency?.percentiles[level];
  if (!est) return { check, passed: false, limit, unit: 'ms', text: `${level}: not measured, budget ${lim(limit)} ms`, why: j.latency ? `no ${level} recorded` : 'no latency recorded (an accuracy-only run?)' };
  const ci = `[95% CI ${num(est.low)}, ${num(est.high)}]`;
  const verdict = budgetVerdict(est, limit);
  const base = { check, measured: est.value, limit, unit: 'ms', verdict };
  if (verdict === 'pass') return { ...base, passed: true, text: `${level} ${num(est.value)} ms ${ci} ≤ ${lim(limit)} ms` };
  if (verdict === 'fail') return { ...base, passed: false, text: `${level} ${num(est.value)} ms ${ci} > ${lim(limit)} ms`, why: `over budget by ${overBy(est.value, limit)}` };
  const k = j.latency?.repeats ?? 1;
  const need = repeatsToDecide(est, limit, k);
  return {
    ...base,
    passed: false,
    text: `${level} ${num(est.value)} ms ${ci} straddles ${lim(limit)} ms`,
    why: `inconclusive: the 95% CI straddles the budget (point estimate ${overBy(est.value, limit)} against it); ${need === undefined ? 'the estimate sits on the budget: no number of repeats decides it' : `about --repeats ${Math.max(need, k + 1)} would decide it`}`,
  };
}

/** pass: the CI is under (or at) the budget; fail: all over it; inconclusive: it straddles. */
export function budgetVerdict(est: { low: number; high: number }, limit: number): 'pass' | 'fail' | 'inconclusive' {
  if (est.high <= limit) return 'pass';
  if (est.low > limit) return 'fail';
  return 'inconclusive';
}

/**
 * Repeats that would bring the CI's half-width (log scale) under the distance from the
 * estimate to the budget, assuming it shrinks as 1 / sqrt(repeats); undefined when the
 * estimate equals the budget.
 */
export function repeatsToDecide(est: { value: number; low: number; high: number }, limit: number, repeats: number): number | undefined {
  const d = Math.abs(Math.log(limit / est.value));
  if (!(d > 0) || !(est.low > 0)) return undefined;
  const hw = Math.log(est.high / est.low) / 2;
  return Math.ceil(Math.max(1, repeats) * (hw / d) ** 2);
}

function checkThroughput(j: JobResult, t: NonNullable<Criterion['throughput']>): Omit<SignoffCheck, 'source' | 'job'> {
  const at = `at concurrency ${t.concurrency}${t.batchSize !== undefined ? `, batch ${t.batchSize}` : ''}`;
  const points = (j.throughput ?? []).filter((p) => p.concurrency === t.concurrency && (t.batchSize === undefined || p.batchSize === t.batchSize));
  if (points.length === 0) {
    const levels = [...new Set((j.throughput ?? []).map((p) => `${p.concurrency}${t.batchSize !== undefined ? ` (batch ${p.batchSize})` : ''}`))];
    return {
      check: 'throughput',
      passed: false,
      limit: t.minPerSec,
      unit: 'inf/s',
      text: `throughput ${at}: not measured, floor ${lim(t.minPerSec)} inf/s`,
      why: levels.length > 0 ? `the run measured concurrency ${levels.join(', ')} only: add ${t.concurrency} to the suite's measurement.concurrency` : 'no throughput recorded',
    };
  }
  const best = Math.max(...points.map((p) => p.itemsPerSec));
  const ok = best >= t.minPerSec;
  return {
    check: 'throughput',
    passed: ok,
    measured: best,
    limit: t.minPerSec,
    unit: 'inf/s',
    text: `throughput ${at}: ${num(best)} inf/s ${ok ? '≥' : '<'} ${lim(t.minPerSec)} inf/s`,
    ...(ok ? {} : { why: `below the floor by ${overBy(best, t.minPerSec)}` }),
  };
}

function checkMemory(j: JobResult, limit: number): Omit<SignoffCheck, 'source' | 'job'> {
  const bytes = j.resources?.peakRssBytes;
  if (bytes === undefined) return { check: 'peakMemoryMiB', passed: false, limit, unit: 'MiB', text: `peak memory: not measured, budget ${lim(limit)} MiB`, why: 'no peak RSS recorded (/proc not readable?)' };
  const mib = bytes / 2 ** 20;
  const ok = mib <= limit;
  return {
    check: 'peakMemoryMiB',
    passed: ok,
    measured: mib,
    limit,
    unit: 'MiB',
    text: `peak memory (RSS) ${num(mib)} MiB ${ok ? '≤' : '>'} ${lim(limit)} MiB`,
    ...(ok ? {} : { why: `over budget by ${overBy(mib, limit)}` }),
  };
}

function signed(ratio: number): string {
  const d = (ratio - 1) * 100;
  return `${d >= 0 ? '+' : ''}${d.toFixed(1)}%`;
}

function perfText(p: PerfComparison): string {
  return `${p.metric} ${signed(p.ratio)} [${signed(p.ratioLow)}, ${signed(p.ratioHigh)}] ${p.verdict}`;
}

function checkRegression(j: JobResult, policy: PolicyFile, base: BaselineContext): Omit<SignoffCheck, 'source' | 'job'> {
  const vs = `vs ${base.tag}${base.runId ? ` (${base.runId})` : ''}`;
  const allowMissing = policy.regress.missingBaseline === 'pass';
  const missing = (why: string): Omit<SignoffCheck, 'source' | 'job'> => ({
    check: 'noRegression',
    passed: allowMissing,
    text: `no regression ${vs}: no baseline${allowMissing ? ' (allowed: regress.missingBaseline is pass)' : ''}`,
    why,
  });
  if (!base.report) return missing(base.missing ?? `no run tagged ${base.tag}`);
  const jc: JobComparison | undefined = base.report.jobs.find((c) => c.key === j.key);
  if (!jc) return missing(`the job is not in the baseline run ${base.runId ?? ''}`.trim());
  if (jc.status === 'refused') return { check: 'noRegression', passed: false, text: `no regression ${vs}: not compared`, why: `${jc.notes.join('; ')} (or set regress.allowEnvChange in the policy)` };
  if (jc.status === 'not-measured' || jc.status === 'missing') return missing(jc.notes.join('; ') || 'the baseline job was not measured');
  const counted = jc.perf.filter((p) => policy.regress.metrics.includes(p.metric));
  const perf = counted.map(perfText);
  const acc = jc.accuracy.filter((a) => a.verdict !== 'unchanged').map((a) => `${a.output} ${a.verdict}: ${a.detail}`);
  const same = jc.accuracy.length - acc.length;
  if (same > 0) acc.push(`accuracy of ${same} output${same === 1 ? '' : 's'} unchanged`);
  if (perf.length === 0) perf.push('latency not compared');
  const text = `no regression ${vs}: ${[...perf, ...acc].join('; ')}`;
  const env = jc.notes.length > 0 ? ` (${jc.notes.join('; ')})` : '';
  const verdicts = [...counted.map((p) => p.verdict), ...jc.accuracy.map((a) => a.verdict)];
  if (verdicts.includes('regressed')) {
    const why = [...counted.filter((p) => p.verdict === 'regressed').map((p) => `${p.metric} regressed ${signed(p.ratio)} (q ${p.q.toPrecision(2)}, minimum effect ${(p.minEffect * 100).toFixed(1)}%)`), ...jc.accuracy.filter((a) => a.verdict === 'regressed').map((a) => `accuracy of ${a.output}: ${a.detail}`)];
    return { check: 'noRegression', passed: false, text, why: why.join('; ') + env };
  }
  if (verdicts.includes('inconclusive')) {
    const ok = policy.regress.inconclusive === 'pass';
    const rec = counted.find((p) => p.recommendation)?.recommendation;
    return { check: 'noRegression', passed: ok, text, why: `inconclusive${ok ? ' (allowed: regress.inconclusive is pass)' : ''}${rec ? `: ${rec}` : ''}${env}` };
  }
  return { check: 'noRegression', passed: true, text, ...(env ? { why: env.trim() } : {}) };
}

/** Every check of the policy on the run, in policy order: run complete, required, then criteria. */
export function evaluateSignoff(run: RunResults, policy: PolicyFile, baseline: BaselineContext): SignoffCheck[] {
  const checks: SignoffCheck[] = [];
  const complete = run.run.status === 'complete';
  checks.push({ source: 'run', check: 'run-complete', passed: complete, text: `run ${run.run.id} ${run.run.status}`, ...(complete ? {} : { why: 'the run did not finish: every job must be measured' }) });
  policy.require.forEach((req, i) => {
    const jobs = run.jobs.filter((j) => selects(req, j, run));
    const ok = jobs.filter((j) => j.status === 'ok');
    const base = { source: `require[${i}]`, check: 'required' as const };
    if (ok.length > 0) {
      checks.push({ ...base, passed: true, text: `required ${selectorText(req)}: ${ok.length} ok job${ok.length === 1 ? '' : 's'} (${ok.map((j) => j.key).join(', ')})` });
    } else if (jobs.length === 0) {
      checks.push({ ...base, passed: false, text: `required ${selectorText(req)}: not measured`, why: `no job of the run matches (jobs: ${run.jobs.map((j) => j.key).join(', ') || 'none'})` });
    } else {
      checks.push({ ...base, passed: false, text: `required ${selectorText(req)}: no ok job`, why: jobs.map((j) => `${j.key} ${statusText(j)}`).join('; ') });
    }
  });
  policy.criteria.forEach((c, i) => {
    const source = `criteria[${i}]`;
    const jobs = run.jobs.filter((j) => selects(c, j, run));
    if (jobs.length === 0) {
      checks.push({ source, check: 'matched', passed: false, text: `${selectorText(c)}: no job matches`, why: `the criterion applies to nothing (jobs: ${run.jobs.map((j) => j.key).join(', ') || 'none'})` });
      return;
    }
    for (const j of jobs) {
      const at = { source, job: j.key, ...(deviceOf(j, run)?.hash ? { deviceHash: deviceOf(j, run)?.hash as string } : {}) };
      if (!measured(j)) {
        checks.push({ ...at, check: 'measured', passed: false, text: `job ${j.status}: nothing checked`, why: statusText(j) });
        continue;
      }
      if (c.alignment) checks.push({ ...at, ...checkAlignment(j) });
      if (c.p50Ms !== undefined) checks.push({ ...at, ...checkLatency(j, 'p50Ms', c.p50Ms) });
      if (c.p99Ms !== undefined) checks.push({ ...at, ...checkLatency(j, 'p99Ms', c.p99Ms) });
      if (c.throughput !== undefined) checks.push({ ...at, ...checkThroughput(j, c.throughput) });
      if (c.peakMemoryMiB !== undefined) checks.push({ ...at, ...checkMemory(j, c.peakMemoryMiB) });
      if (c.noRegression) checks.push({ ...at, ...checkRegression(j, policy, baseline) });
    }
  });
  return checks;
}
