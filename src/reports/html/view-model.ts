/**
 * The data embedded in report.html: a compact, bounded projection of one or more runs.
 * Formatting only (no new statistics): raw samples are reduced for drawing, never for numbers
 * shown in the table, which come from the result record as they are.
 */
import type { DeviceFingerprint, JobResult, RunResults } from '../../model/record.js';
import { displayStatus, singleStreamThroughput, summarizeAlignment } from '../summary.js';

/** Points of each job's latency CDF (quantiles at k / (CDF_POINTS - 1)). */
export const CDF_POINTS = 512;
/** Resource samples kept per job for the timeline chart (every k-th sample). */
export const TIMELINE_POINTS = 240;
/** Buckets of the latency-over-time chart (mean and max of consecutive samples). */
export const LATENCY_BUCKETS = 300;
/** Characters of a worker's stderr tail kept. */
const STDERR_CHARS = 4000;

/** A run that took part in the comparison. */
export interface ViewRun {
  id: string;
  suite: string;
  /** Where it was read from, as given on the command line. */
  source: string;
  startedAt: string;
  endedAt?: string;
  status: RunResults['run']['status'];
  mode: RunResults['run']['mode'];
  toolVersion: string;
}

export interface ViewDevice {
  /** Fingerprint hash, or `unknown`. */
  id: string;
  /** Short name for tables and legends: hostname and the CPU or GPU model. */
  label: string;
  fingerprint?: DeviceFingerprint;
}

/** `[value, low, high]` of a percentile, milliseconds. */
export type ViewEstimate = [number, number, number];

export interface ViewOutput {
  name: string;
  passed: boolean;
  maxAbs: number;
  maxRel: number;
  cosine: number;
  /** Infinity is carried as null (JSON). */
  snrDb: number | null;
  mismatchPct: number;
  atol: number;
  rtol: number;
  top1?: number;
  reasons: string[];
}

export interface ViewJob {
  /** Index in `jobs`. */
  i: number;
  key: string;
  /** Index in `runs`. */
  run: number;
  /** Index in `devices`. */
  device: number;
  model: string;
  /** Engine variant: the job key without the model, e.g. `onnxruntime/fp32` or `onnxruntime/fp32/t2` (with a suite label). */
  variant: string;
  engine: string;
  version?: string;
  precision: string;
  effectivePrecision?: string;
  engineOptions: Record<string, unknown>;
  engineNotes: string[];
  status: JobResult['status'];
  /** `ok (unstable)` etc. */
  statusText: string;
  reason?: string;
  stderrTail?: string;
  /** Why an `ok` job is unstable: the stopping recommendation. */
  unstableWhy?: string;
  notes: string[];
  p50?: ViewEstimate;
  p90?: ViewEstimate;
  p95?: ViewEstimate;
  p99?: ViewEstimate;
  p999?: ViewEstimate;
  minMs?: number;
  meanMs?: number;
  maxMs?: number;
  count?: number;
  repeats?: number;
  coldStartMs?: number;
  firstInferenceMs?: number;
  /** Single-stream items/s. */
  throughput?: number;
  /** `[concurrency, batchSize, itemsPerSec, p50Ms]`. */
  throughputPoints: Array<[number, number, number, number]>;
  peakRssBytes?: number;
  cpuPct?: number;
  gpuUtilPct?: number;
  gpuMemPeakBytes?: number;
  energyPerInferenceJ?: number;
  verdict: 'pass' | 'FAIL' | '–';
  failedOutputs: number;
  maxAbsError?: number;
  minCosine?: number;
  /** null for an infinite SNR (identical outputs). */
  minSnrDb?: number | null;
  outputs: ViewOutput[];
  /** Latency (ms) at probability k / (CDF_POINTS - 1), all repeats pooled; empty when unmeasured. */
  cdf: number[];
  /** Resource timeline, downsampled: milliseconds on the job clock and the series present. */
  timeline?: { tMs: number[]; cpuPct?: Array<number | null>; rssBytes?: Array<number | null>; gpuUtilPct?: Array<number | null>; gpuMemBytes?: Array<number | null> };
  /**
   * Latency samples of the first repeat, bucketed, at their time on the job clock (s) when the
   * record has the steady window (then the x axis is shared with `timeline`), else over
   * cumulative inference time.
   */
  latencyTimeline?: { tS: number[]; meanMs: number[]; maxMs: number[]; samples: number; onJobClock: boolean };
}

export interface ReportData {
  title: string;
  generatedAt: string;
  toolVersion: string;
  /** Engine variant the speedups are relative to. */
  baseline: string;
  cdfPoints: number;
  runs: ViewRun[];
  devices: ViewDevice[];
  jobs: ViewJob[];
}

/** A run as read for a comparison, with the path it was read from. */
export interface LoadedRun {
  source: string;
  results: RunResults;
}

/** Four significant digits are plenty for drawing and shrink the page. */
const r4 = (x: number): number => (Number.isFinite(x) ? Number(x.toPrecision(4)) : x);

/** The engine variant of a job: its key without the model name. */
export function jobVariant(job: JobResult): string {
  const prefix = `${job.model.name}/`;
  return job.key.startsWith(prefix) ? job.key.slice(prefix.length) : job.engine.name;
}

/** Latency quantiles for drawing a CDF: `points` values at probabilities k / (points - 1). */
export function cdfQuantiles(samplesNs: readonly (readonly number[])[], points = CDF_POINTS): number[] {
  const n = samplesNs.reduce((s, a) => s + a.length, 0);
  if (n === 0) return [];
  const all = new Float64Array(n);
  let o = 0;
  for (const rep of samplesNs) for (const x of rep) all[o++] = x;
  all.sort();
  const out: number[] = new Array<number>(points);
  for (let k = 0; k < points; k++) {
    const idx = Math.round((k / (points - 1)) * (n - 1));
    out[k] = r4((all[idx] ?? 0) / 1e6);
  }
  return out;
}

function bucketLatency(samplesNs: readonly number[], startMs: number | undefined, buckets = LATENCY_BUCKETS): ViewJob['latencyTimeline'] {
  const n = samplesNs.length;
  if (n === 0) return undefined;
  const per = Math.max(1, Math.ceil(n / buckets));
  const tS: number[] = [];
  const meanMs: number[] = [];
  const maxMs: number[] = [];
  let elapsedNs = (startMs ?? 0) * 1e6;
  for (let start = 0; start < n; start += per) {
    const end = Math.min(n, start + per);
    let sum = 0;
    let max = 0;
    for (let i = start; i < end; i++) {
      const x = samplesNs[i] ?? 0;
      sum += x;
      if (x > max) max = x;
    }
    elapsedNs += sum;
    tS.push(r4(elapsedNs / 1e9));
    meanMs.push(r4(sum / (end - start) / 1e6));
    maxMs.push(r4(max / 1e6));
  }
  return { tS, meanMs, maxMs, samples: n, onJobClock: startMs !== undefined };
}

function downsampleTimeline(job: JobResult, points = TIMELINE_POINTS): ViewJob['timeline'] {
  const s = job.resourceTimeline ?? [];
  if (s.length === 0) return undefined;
  const stride = Math.max(1, Math.ceil(s.length / points));
  const picked = s.filter((_, i) => i % stride === 0 || i === s.length - 1);
  const t: NonNullable<ViewJob['timeline']> = { tMs: picked.map((x) => r4(x.tMs)) };
  const field = (f: 'cpuPct' | 'rssBytes' | 'gpuUtilPct' | 'gpuMemBytes'): void => {
    if (picked.some((x) => x[f] !== undefined)) t[f] = picked.map((x) => (x[f] === undefined ? null : r4(x[f])));
  };
  field('cpuPct');
  field('rssBytes');
  field('gpuUtilPct');
  field('gpuMemBytes');
  return t;
}

function deviceLabel(d: DeviceFingerprint): string {
  const chip = d.gpus[0]?.model ?? d.cpuModel;
  return `${d.hostname} · ${chip}`;
}

const est = (e: { value: number; low: number; high: number } | undefined): ViewEstimate | undefined => (e ? [e.value, e.low, e.high] : undefined);
const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

function viewJob(job: JobResult, i: number, run: number, device: number): ViewJob {
  const a = summarizeAlignment(job);
  const l = job.latency;
  const p = l?.percentiles;
  const v: ViewJob = {
    i,
    key: job.key,
    run,
    device,
    model: job.model.name,
    variant: jobVariant(job),
    engine: job.engine.name,
    precision: job.engine.precision,
    engineOptions: job.engine.options,
    engineNotes: job.engine.notes ?? [],
    status: job.status,
    statusText: displayStatus(job),
    notes: job.notes ?? [],
    throughputPoints: (job.throughput ?? []).map((t) => [t.concurrency, t.batchSize, t.itemsPerSec, t.p50Ms]),
    verdict: a.verdict,
    failedOutputs: a.failed,
    outputs: (job.alignment ?? []).map((o) => {
      const out: ViewOutput = {
        name: o.name,
        passed: o.passed,
        maxAbs: o.maxAbsError,
        maxRel: o.maxRelError,
        cosine: o.cosine,
        snrDb: finiteOrNull(o.snrDb),
        mismatchPct: o.mismatchPct,
        atol: o.tolerance.atol,
        rtol: o.tolerance.rtol,
        reasons: o.reasons,
      };
      if (o.topk) out.top1 = o.topk.top1Agreement;
      return out;
    }),
    cdf: job.samplesNs ? cdfQuantiles(job.samplesNs) : [],
  };
  const opt = <K extends keyof ViewJob>(k: K, x: ViewJob[K] | undefined): void => {
    if (x !== undefined) v[k] = x;
  };
  opt('version', job.engine.version);
  opt('effectivePrecision', job.engine.effectivePrecision);
  opt('reason', job.reason);
  opt('stderrTail', job.stderrTail?.slice(-STDERR_CHARS));
  if (job.unstable) opt('unstableWhy', job.stopping?.recommendation ?? 'stopping reached a limit before the CI target');
  opt('p50', est(p?.p50));
  opt('p90', est(p?.p90));
  opt('p95', est(p?.p95));
  opt('p99', est(p?.p99));
  opt('p999', est(p?.p999));
  opt('minMs', l?.minMs);
  opt('meanMs', l?.meanMs);
  opt('maxMs', l?.maxMs);
  opt('count', l?.count);
  opt('repeats', l?.repeats);
  opt('coldStartMs', job.coldStart?.totalMs);
  opt('firstInferenceMs', job.firstInferenceMs);
  opt('throughput', singleStreamThroughput(job));
  opt('peakRssBytes', job.resources?.peakRssBytes);
  opt('cpuPct', job.resources?.cpuPctMean);
  opt('gpuUtilPct', job.resources?.gpuUtilPctMean);
  opt('gpuMemPeakBytes', job.resources?.gpuMemPeakBytes);
  opt('energyPerInferenceJ', job.resources?.energyPerInferenceJ);
  opt('maxAbsError', a.maxAbsError);
  opt('minCosine', a.minCosine);
  if (a.minSnrDb !== undefined) v.minSnrDb = finiteOrNull(a.minSnrDb);
  opt('timeline', downsampleTimeline(job));
  const first = job.samplesNs?.[0];
  if (first) opt('latencyTimeline', bucketLatency(first, job.steadyWindowMs?.startMs));
  return v;
}

/** Builds the embedded data of report.html from the runs, in the order given. */
export function buildReportData(runs: readonly LoadedRun[], baseline: string, title: string, toolVersion: string, now = new Date()): ReportData {
  const devices: ViewDevice[] = [];
  const deviceIndex = new Map<string, number>();
  const deviceOf = (d: DeviceFingerprint | undefined): number => {
    const id = d?.hash ?? 'unknown';
    const known = deviceIndex.get(id);
    if (known !== undefined) return known;
    const dev: ViewDevice = { id, label: d ? deviceLabel(d) : 'unknown device' };
    if (d) dev.fingerprint = d;
    devices.push(dev);
    deviceIndex.set(id, devices.length - 1);
    return devices.length - 1;
  };
  const jobs: ViewJob[] = [];
  const viewRuns: ViewRun[] = runs.map((r, ri) => {
    for (const j of r.results.jobs) jobs.push(viewJob(j, jobs.length, ri, deviceOf(j.device ?? r.results.device)));
    const vr: ViewRun = {
      id: r.results.run.id,
      suite: r.results.suite.name,
      source: r.source,
      startedAt: r.results.run.startedAt,
      status: r.results.run.status,
      mode: r.results.run.mode,
      toolVersion: r.results.tool.version,
    };
    if (r.results.run.endedAt !== undefined) vr.endedAt = r.results.run.endedAt;
    return vr;
  });
  // Two devices that print alike are told apart by their fingerprint.
  const labels = new Map<string, number>();
  for (const d of devices) labels.set(d.label, (labels.get(d.label) ?? 0) + 1);
  for (const d of devices) if ((labels.get(d.label) ?? 0) > 1) d.label = `${d.label} (${d.id.slice(0, 8)})`;
  return { title, generatedAt: now.toISOString(), toolVersion, baseline, cdfPoints: CDF_POINTS, runs: viewRuns, devices, jobs };
}
