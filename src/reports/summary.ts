/** Per-job values the reporters show, derived from a JobResult without new statistics. */
import type { JobResult } from '../results/record.js';

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

/** The status shown to people: `ok`, `unstable`, `failed`, `errored`, `skipped`. */
export function displayStatus(job: JobResult): string {
  if (job.status === 'ok' && job.unstable) return 'ok (unstable)';
  return job.status;
}
