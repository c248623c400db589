/**
 * Raw repeat outcomes -> a JobResult. Pure apart from reading the reference file: the
 * statistics come from src/metrics and the verdicts from src/alignment.
 */
import { alignJobOutputs, referenceWithoutInputs } from './align-job.js';
import type { OutputAlignment } from '../model/alignment.js';
import type { OutputReconciliation } from '../model/model-ref.js';
import { repeatTargetFloor } from '../metrics/intervals.js';
import { summarizeLatency } from '../metrics/latency.js';
import { percentileOfSorted, sortSamples } from '../metrics/percentile.js';
import { summarizeProfile } from '../metrics/profile.js';
import { summarizeResources } from '../metrics/resources.js';
import type { ThroughputPoint } from '../model/measurements.js';
import type { BudgetCheck, DeviceFingerprint, JobResult } from '../model/record.js';
import type { Job } from '../model/job.js';
import type { NamedTensors } from '../tensors/tensor.js';
import type { RepeatOutcome } from './execute-job.js';

export interface JobFailure {
  status: 'errored' | 'skipped';
  reason: string;
  stderrTail?: string;
  code?: string;
}

function base(job: Job, startedAt: string, device: DeviceFingerprint | undefined): Omit<JobResult, 'status'> {
  const r: Omit<JobResult, 'status'> = {
    key: job.key,
    model: { name: job.model.name, path: job.model.path, sha256: job.model.sha256 },
    engine: { name: job.engine.name, options: job.engine.options, precision: job.engine.precision },
    startedAt,
    endedAt: new Date().toISOString(),
  };
  if (device) r.device = device;
  return r;
}

export function failedJobResult(job: Job, failure: JobFailure, startedAt: string, device?: DeviceFingerprint): JobResult {
  const r: JobResult = { ...base(job, startedAt, device), status: failure.status, reason: failure.reason };
  if (failure.stderrTail) r.stderrTail = failure.stderrTail;
  return r;
}

function mergeThroughput(repeats: readonly RepeatOutcome[]): ThroughputPoint[] {
  const byKey = new Map<string, ThroughputPoint[]>();
  for (const r of repeats) for (const p of r.throughput) byKey.set(`${p.concurrency}/${p.batchSize}`, [...(byKey.get(`${p.concurrency}/${p.batchSize}`) ?? []), p]);
  return [...byKey.values()].map((pts) => {
    const first = pts[0] as ThroughputPoint;
    const mid = [...pts].sort((a, b) => a.itemsPerSec - b.itemsPerSec)[Math.floor(pts.length / 2)] as ThroughputPoint;
    return { ...mid, concurrency: first.concurrency, batchSize: first.batchSize, requests: pts.reduce((s, p) => s + p.requests, 0) };
  });
}

export interface BuildOptions {
  /** Reference outputs, read once per model. */
  reference?: NamedTensors;
  device?: DeviceFingerprint;
  /** Keep raw samples in the record. Default true. */
  keepSamples?: boolean;
}

/**
 * Puts what the engine's worker did to each output (its own output name, layout steps such as
 * a restored batch dim) in front of the harness's own mapping, so the report shows all of it.
 */
export function withEngineReconciliation(alignment: OutputAlignment[], rec: Record<string, OutputReconciliation> | undefined): OutputAlignment[] {
  if (!rec) return alignment;
  return alignment.map((o) => {
    const actual = o.mapping?.name.actual ?? o.name;
    const r = rec[actual];
    if (!r || (r.engineName === undefined && r.layout.length === 0)) return o;
    const name = r.engineName !== undefined ? { reference: o.name, actual: r.engineName, by: 'engine' as const } : (o.mapping?.name ?? { reference: o.name, actual, by: 'name' as const });
    return { ...o, mapping: { name, layout: [...r.layout, ...(o.mapping?.layout ?? [])] } };
  });
}

/**
 * The stopping target floor of a job's next repeat from its finished repeats: the log sd of
 * their steady-state p50s and p99s (repeatTargetFloor); empty before two repeats.
 */
export function nextRepeatTargetFloor(repeats: readonly RepeatOutcome[]): { p50?: number; p99?: number } {
  const sorted = repeats.map((x) => x.allSamplesNs.slice(x.warmupDiscarded)).filter((s) => s.length > 0).map((s) => sortSamples(s));
  const p50 = repeatTargetFloor(sorted.map((s) => percentileOfSorted(s, 0.5)));
  const p99 = repeatTargetFloor(sorted.map((s) => percentileOfSorted(s, 0.99)));
  return { ...(p50 !== undefined ? { p50 } : {}), ...(p99 !== undefined ? { p99 } : {}) };
}

/** Builds the result of a job whose repeats all finished. */
export function buildJobResult(job: Job, repeats: readonly RepeatOutcome[], startedAt: string, options: BuildOptions = {}): JobResult {
  const first = repeats[0];
  if (!first) throw new Error('buildJobResult needs at least one repeat');
  const r: JobResult = { ...base(job, startedAt, options.device), status: 'ok' };
  r.engine.version = first.engineVersion;
  if (first.activation.effectivePrecision) r.engine.effectivePrecision = first.activation.effectivePrecision;
  if (first.activation.notes && first.activation.notes.length > 0) r.engine.notes = first.activation.notes;
  if (first.activation.appliedOptions) r.engine.appliedOptions = first.activation.appliedOptions;
  const spec = job.model.inputs;
  r.inputs = {
    source: spec.source === 'random' ? 'random' : 'reference',
    shapes: Object.fromEntries(first.activation.inputs.map((m) => [m.name, job.model.shapes[m.name] ?? m.dims.map(Number)])),
  };
  if (spec.source === 'random') r.inputs.seed = spec.seed;
  r.coldStart = { loadMs: first.activation.loadMs, totalMs: first.activation.loadMs + (first.convertMs ?? 0) };
  if (first.convertMs !== undefined) r.coldStart.convertMs = first.convertMs;
  if (first.tuneMs !== undefined) r.coldStart.tuneMs = first.tuneMs;
  if (first.cacheHit !== undefined) r.coldStart.cacheHit = first.cacheHit;
  if (first.firstInferenceMs !== undefined) r.firstInferenceMs = first.firstInferenceMs;

  const steadyNs = repeats.map((x) => x.allSamplesNs.slice(x.warmupDiscarded));
  if (steadyNs.some((s) => s.length > 0)) {
    r.latency = summarizeLatency(steadyNs.map((s) => s.map((ns) => ns / 1e6)));
    r.warmup = { discarded: repeats.reduce((s, x) => s + x.warmupDiscarded, 0), method: 'mser-5', hitMax: repeats.some((x) => x.warmupHitMax) };
    const stops = repeats.map((x) => x.stopping).filter((s) => s !== undefined);
    r.stopping = stops.find((s) => !s.stable) ?? stops[stops.length - 1];
    if (stops.length > 0) r.stoppingPerRepeat = stops;
    const windows = repeats.map((x) => x.steadyWindow).filter((w) => w !== undefined);
    if (windows.length > 1) r.steadyWindowsMs = windows;
    // unstable: the samples are not a steady state (tails, outliers, drift), whatever the CI width
    if ((r.latency.stability?.flags.length ?? 0) > 0) r.unstable = true;
    if (options.keepSamples !== false) r.samplesNs = steadyNs;
    if (repeats.every((x) => x.phasesNs !== undefined)) {
      const phase = (k: 'h2d' | 'compute' | 'd2h') => summarizeLatency(repeats.map((x) => (x.phasesNs as NonNullable<typeof x.phasesNs>)[k].slice(x.warmupDiscarded).map((ns) => ns / 1e6)));
      r.latencyPhases = { h2d: phase('h2d'), compute: phase('compute'), d2h: phase('d2h') };
    }
    r.throughput = mergeThroughput(repeats);
    if (first.profile) r.profile = summarizeProfile(first.profile, r.latency.meanMs);
    if (first.steadyWindow) {
      r.steadyWindowMs = first.steadyWindow;
      r.resources = summarizeResources(first.resourceSamples, first.steadyWindow, first.steadyInferences, first.resourceMarks);
    }
  }
  if (first.resourceSamples.length > 0) r.resourceTimeline = first.resourceSamples;
  const notes = [...new Set(repeats.flatMap((x) => x.notes))];
  // `run --profile` asked, yet the repeat came back with neither a profile nor a note on why:
  // a runner agent older than `run --profile` ignores measurement.profile.
  if (job.measurement.profile === true && r.latency !== undefined && !first.profile && !notes.some((n) => n.startsWith('profile:'))) {
    notes.push('profile: none came back (a runner agent that predates `run --profile` does not profile)');
  }
  if (notes.length > 0) r.notes = notes;

  if (options.reference) {
    const { reference, leftOut } = referenceWithoutInputs(options.reference, first.activation.inputs.map((t) => t.name), first.outputs);
    if (leftOut.length > 0) r.notes = [...(r.notes ?? []), `reference tensor(s) ${leftOut.join(', ')} left out of the comparison: they are model inputs, not outputs`];
    const alignment = withEngineReconciliation(alignJobOutputs(job, first.outputs, reference), first.activation.reconciliation);
    r.alignment = alignment;
    if (alignment.some((o) => !o.passed)) {
      r.status = 'failed';
      const bad = alignment.filter((o) => !o.passed).map((o) => o.name);
      r.reason = `${bad.length} output(s) not aligned: ${bad.join(', ')}`;
    }
  }
  const budgets = checkBudgets(job, r);
  if (budgets.length > 0) {
    r.budgets = budgets;
    const missed = budgets.filter((b) => !b.passed);
    if (missed.length > 0 && r.status === 'ok') {
      r.status = 'failed';
      r.reason = `budget missed: ${missed.map((b) => `${b.name} ${b.measured === undefined ? 'not measured' : fmt(b.measured)} vs ${fmt(b.limit)}`).join(', ')}`;
    }
  }
  r.endedAt = new Date().toISOString();
  return r;
}

const fmt = (x: number): string => Number(x.toPrecision(4)).toString();

/** Checks the model's budgets against the job's measurements (none in accuracy-only mode). */
export function checkBudgets(job: Job, r: JobResult): BudgetCheck[] {
  const b = job.model.budgets;
  if (!b || !r.latency) return [];
  const best = r.throughput && r.throughput.length > 0 ? Math.max(...r.throughput.map((t) => t.itemsPerSec)) : undefined;
  const peakMiB = r.resources?.peakRssBytes !== undefined ? r.resources.peakRssBytes / 2 ** 20 : undefined;
  const out: BudgetCheck[] = [];
  const atMost = (name: string, limit: number | undefined, measured: number | undefined): void => {
    if (limit !== undefined) out.push({ name, limit, ...(measured !== undefined ? { measured } : {}), passed: measured !== undefined && measured <= limit });
  };
  atMost('p50MaxMs', b.p50MaxMs, r.latency.percentiles.p50.value);
  atMost('p99MaxMs', b.p99MaxMs, r.latency.percentiles.p99.value);
  atMost('peakRssMaxMiB', b.peakRssMaxMiB, peakMiB);
  if (b.throughputMinPerSec !== undefined) {
    out.push({ name: 'throughputMinPerSec', limit: b.throughputMinPerSec, ...(best !== undefined ? { measured: best } : {}), passed: best !== undefined && best >= b.throughputMinPerSec });
  }
  return out;
}
