/** The I/O side of regress and history: resolving run references and reading history noise. */
import { existsSync, statSync } from 'node:fs';
import type { JobResult, RunResults } from '../../model/record.js';
import { readRunFile } from '../run-file.js';
import type { HistoryPoint, ResultsStore } from '../store/store.js';
import type { RegressMetric } from './compare-runs.js';
import { DEFAULT_BETWEEN_RUN_CV, betweenRunNoise, type BetweenRunNoise } from './stats.js';

/** True when `ref` names a results.json file or a run folder rather than a run id or tag. */
export function isFileRef(ref: string): boolean {
  return ref.endsWith('.json') || (existsSync(ref) && statSync(ref).isDirectory());
}

/** Reads a results.json (or <dir>/results.json), its shape checked (see readRunFile). */
export function readResultsFile(ref: string): RunResults {
  return readRunFile(ref);
}

/**
 * Between-run noise of a job's metric from the store: the metric of every earlier recorded
 * job with the same key and device hash (each repeat's own value when it had repeats),
 * leaving out the runs given. Falls back to DEFAULT_BETWEEN_RUN_CV.
 */
export async function historyNoise(
  store: ResultsStore | undefined,
  exclude: readonly string[],
  jobs: readonly JobResult[],
): Promise<(job: JobResult, metric: RegressMetric) => BetweenRunNoise> {
  const histories = new Map<string, HistoryPoint[]>();
  const keyOf = (job: JobResult): string => `${job.key}\u0000${job.device?.hash ?? ''}`;
  if (store) {
    for (const job of jobs) {
      const k = keyOf(job);
      if (histories.has(k)) continue;
      const points = await store.jobHistory({ key: job.key, ...(job.device?.hash ? { deviceHash: job.device.hash } : {}) });
      histories.set(k, points.filter((p) => !exclude.includes(p.runId)));
    }
  }
  return (job, metric) => {
    const fallback = DEFAULT_BETWEEN_RUN_CV[metric];
    const points = histories.get(keyOf(job));
    if (!store || !points) return { cv: fallback, source: 'default', values: 0 };
    const values = points.flatMap((p) => {
      if (!p.latency || (p.status !== 'ok' && p.status !== 'failed')) return [];
      const per = metric === 'p50' ? p.latency.betweenRepeats?.p50PerRepeatMs : p.latency.betweenRepeats?.p99PerRepeatMs;
      return per && per.length > 1 ? per : [p.latency.percentiles[metric].value];
    });
    return betweenRunNoise(values, fallback);
  };
}
