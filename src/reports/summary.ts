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
  return {
    verdict: failed === 0 ? 'pass' : 'FAIL',
    outputs: outs.length,
    failed,
    maxAbsError: Math.max(...outs.map((o) => o.maxAbsError)),
    minCosine: Math.min(...outs.map((o) => o.cosine)),
    minSnrDb: Math.min(...outs.map((o) => o.snrDb)),
  };
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
