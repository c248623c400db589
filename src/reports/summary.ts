/** Per-job values the reporters show, derived from a JobResult without new statistics. */
import type { JobResult } from '../model/record.js';

export interface AlignmentSummary {
  /** `pass`, `FAIL`, or `–` when nothing was compared. */
  verdict: 'pass' | 'FAIL' | '–';
  outputs: number;
  failed: number;
  maxAbsError?: number;
  minCosine?: number;
  minSnrDb?: number;
}

export function summarizeAlignment(job: JobResult): AlignmentSummary {
  const outs = job.alignment ?? [];
  if (outs.length === 0) return { verdict: '–', outputs: 0, failed: 0 };
  const failed = outs.filter((o) => !o.passed).length;
  const out: AlignmentSummary = { verdict: failed === 0 ? 'pass' : 'FAIL', outputs: outs.length, failed };
  // Only outputs that were compared have figures; a missing output (NaN, or null after JSON) is not a figure.
  const compared = outs.filter((o) => o.count > 0);
  const figures = (f: (o: (typeof outs)[number]) => number): number[] => compared.map(f).filter((x) => typeof x === 'number' && !Number.isNaN(x));
  const maxAbs = figures((o) => o.maxAbsError);
  const cos = figures((o) => o.cosine);
  const snr = figures((o) => o.snrDb);
  if (maxAbs.length > 0) out.maxAbsError = Math.max(...maxAbs);
  if (cos.length > 0) out.minCosine = Math.min(...cos);
  if (snr.length > 0) out.minSnrDb = Math.min(...snr);
  return out;
}

/** A per-output figure for a table, or undefined where the output was not compared (no NaN in reports). */
export function outputFigure(o: { count: number }, x: number | null | undefined): number | undefined {
  return o.count > 0 && typeof x === 'number' && !Number.isNaN(x) ? x : undefined;
}

/** Single-stream throughput (concurrency 1, batch 1 when measured), items per second. */
export function singleStreamThroughput(job: JobResult): number | undefined {
  const pts = job.throughput ?? [];
  const single = pts.find((p) => p.concurrency === 1) ?? pts[0];
  return single?.itemsPerSec;
}

export function bestThroughput(job: JobResult): number | undefined {
  const pts = job.throughput ?? [];
  if (pts.length === 0) return undefined;
  return Math.max(...pts.map((p) => p.itemsPerSec));
}

/**
 * The precision a job asked for, and what the engine really ran when that differs
 * (`fp16 (ran bf16)`: OpenVINO's f16 hint on a CPU without f16, MNN "low" kept at fp32).
 */
export function precisionText(engine: { precision: string; effectivePrecision?: string }): string {
  const eff = engine.effectivePrecision;
  return eff !== undefined && eff !== '' && eff !== engine.precision ? `${engine.precision} (ran ${eff})` : engine.precision;
}

/**
 * One line saying why a job errored: the reason's first line, and when that line only
 * introduces what follows (`…; its last output:`), the last non-empty line of what follows,
 * where a tool's error usually is.
 */
export function reasonLine(reason: string | undefined): string {
  if (reason === undefined) return '';
  const lines = reason.split('\n').map((l) => l.trim());
  const first = lines[0] ?? '';
  const rest = lines.slice(1).filter((l) => l !== '');
  if (!first.endsWith(':') || rest.length === 0) return first;
  return `${first} ${rest[rest.length - 1]}`;
}

/** The worst element of an output that was compared, as `[0, 3] actual 0.5 reference 0.1 (abs diff 0.4)`. */
export function worstText(o: { worst?: Array<{ index: number[]; actual: number; reference: number; absError: number }> }): string | undefined {
  const w = o.worst?.[0];
  if (w === undefined) return undefined;
  const n = (x: number): string => (typeof x === 'number' ? Number(x.toPrecision(6)).toString() : String(x));
  return `[${w.index.join(', ')}] actual ${n(w.actual)} reference ${n(w.reference)} (abs diff ${n(w.absError)})`;
}

/** Why a job is unstable: its stability flags' advice (older records: the stopping recommendation). */
export function unstableWhy(job: JobResult): string {
  const flags = job.latency?.stability?.flags ?? [];
  if (flags.length > 0) return flags.map((f) => f.advice).join('; ');
  return job.stopping?.recommendation ?? 'unstable';
}

/** The status shown to people: `ok`, `unstable`, `failed`, `errored`, `skipped`. */
export function displayStatus(job: JobResult): string {
  if (job.status === 'ok' && job.unstable) return 'ok (unstable)';
  return job.status;
}
