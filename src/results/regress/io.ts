/** The I/O side of regress and history: resolving run references and reading history noise. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BenchalignError, describeError } from '../../errors.js';
import type { JobResult, RunResults } from '../record.js';
import type { ResultsStore } from '../store/store.js';
import type { RegressMetric } from './compare-runs.js';
import { DEFAULT_BETWEEN_RUN_CV, betweenRunNoise, type BetweenRunNoise } from './stats.js';

/** True when `ref` names a results.json file or a run folder rather than a run id or tag. */
export function isFileRef(ref: string): boolean {
  return ref.endsWith('.json') || (existsSync(ref) && statSync(ref).isDirectory());
}

/** Reads a results.json (or <dir>/results.json). */
export function readResultsFile(ref: string): RunResults {
  const path = existsSync(ref) && statSync(ref).isDirectory() ? join(ref, 'results.json') : ref;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new BenchalignError('E_IO', `cannot read ${path}: ${describeError(e)}`, { expected: 'a results.json file' });
  }
  try {
    const r = JSON.parse(text) as RunResults;
    if (!r || typeof r !== 'object' || !Array.isArray(r.jobs) || typeof r.run?.id !== 'string') throw new Error('not a run record');
    return r;
  } catch (e) {
    throw new BenchalignError('E_IO', `${path}: ${describeError(e)}`, { expected: 'a benchalign results.json' });
  }
}

/**
 * Between-run noise of a job's metric from the store: the metric of every earlier recorded
 * job with the same key and device hash (each repeat's own value when it had repeats),
 * leaving out the runs given. Falls back to DEFAULT_BETWEEN_RUN_CV.
 */
export function historyNoise(store: ResultsStore | undefined, exclude: readonly string[]): (job: JobResult, metric: RegressMetric) => BetweenRunNoise {
  const cache = new Map<string, number[]>();
  return (job, metric) => {
    const fallback = DEFAULT_BETWEEN_RUN_CV[metric];
    if (!store) return { cv: fallback, source: 'default', values: 0 };
    const ck = `${job.key}\u0000${job.device?.hash ?? ''}\u0000${metric}`;
    let values = cache.get(ck);
    if (!values) {
      const points = store.jobHistory({ key: job.key, ...(job.device?.hash ? { deviceHash: job.device.hash } : {}) }).filter((p) => !exclude.includes(p.runId));
      values = points.flatMap((p) => {
        if (!p.latency || (p.status !== 'ok' && p.status !== 'failed')) return [];
        const per = metric === 'p50' ? p.latency.betweenRepeats?.p50PerRepeatMs : p.latency.betweenRepeats?.p99PerRepeatMs;
        return per && per.length > 1 ? per : [p.latency.percentiles[metric].value];
      });
      cache.set(ck, values);
    }
    return betweenRunNoise(values, fallback);
  };
}
