/**
 * The next-run intervals of a run's jobs from the store's history (docs/methodology.md,
 * "Intervals"): for each measured job, the run values of the earlier runs of the same job key
 * on the same device fingerprint, plus this run's, give a Student t prediction interval for
 * the next run's p50 and p99 once there are MIN_HISTORY_RUNS of them (`basis: "history"`).
 * Otherwise the job keeps the interval summarizeLatency gave it from its repeats.
 */
import { describeError } from '../errors.js';
import { nextRunFromHistory, repeatTargetFloor } from '../metrics/intervals.js';
import type { RunResults } from '../model/record.js';
import { displayStoreLocation, openStore, type ResultsStore } from './store/store.js';

/** Sets `latency.nextRun` from the history in `store` (this run left out of the history). */
export async function applyHistoryNextRun(store: ResultsStore, results: RunResults): Promise<void> {
  for (const job of results.jobs) {
    const lat = job.latency;
    if (!lat || (job.status !== 'ok' && job.status !== 'failed')) continue;
    const hash = job.device?.hash ?? results.device?.hash;
    const points = (await store.jobHistory({ key: job.key, ...(hash ? { deviceHash: hash } : {}) })).filter(
      (p) => p.runId !== results.run.id && (p.status === 'ok' || p.status === 'failed') && p.latency !== undefined && (hash === undefined || p.deviceHash === hash),
    );
    for (const metric of ['p50', 'p99'] as const) {
      const values = [...points.map((p) => p.latency?.percentiles[metric].value as number), lat.percentiles[metric].value];
      const iv = nextRunFromHistory(values);
      if (!iv) continue;
      if (lat.nextRun) lat.nextRun[metric] = iv;
    }
  }
}

/** applyHistoryNextRun on the store at `path`; a store that cannot be read only warns (the repeats basis stays). */
export async function attachHistoryNextRun(path: string, results: RunResults): Promise<void> {
  try {
    const store = await openStore(path);
    try {
      await applyHistoryNextRun(store, results);
    } finally {
      await store.close();
    }
  } catch (e) {
    process.stderr.write(`benchalign: warning: next-run intervals from the repeats only: the store ${displayStoreLocation(path)} could not be read: ${describeError(e)}\n`);
  }
}

/**
 * Stopping target floors for the first repeats of each job (before two of its own repeats
 * exist): the spread between the repeats of the most recent earlier run of the same job key on
 * the same device (repeatTargetFloor over its per-repeat p50s and p99s). Keyed by job key;
 * a job without such a run is absent. A store that cannot be read gives an empty map.
 */
export async function historyTargetFloors(path: string, keys: readonly string[], deviceHash: string | undefined, excludeRunId?: string): Promise<Map<string, { p50?: number; p99?: number }>> {
  const out = new Map<string, { p50?: number; p99?: number }>();
  try {
    const store = await openStore(path);
    try {
      for (const key of keys) {
        const points = await store.jobHistory({ key, ...(deviceHash ? { deviceHash } : {}) });
        const last = [...points].reverse().find((p) => p.runId !== excludeRunId && (deviceHash === undefined || p.deviceHash === deviceHash) && (p.latency?.betweenRepeats?.p50PerRepeatMs.length ?? 0) >= 2);
        const br = last?.latency?.betweenRepeats;
        if (!br) continue;
        const p50 = repeatTargetFloor(br.p50PerRepeatMs);
        const p99 = repeatTargetFloor(br.p99PerRepeatMs);
        out.set(key, { ...(p50 !== undefined ? { p50 } : {}), ...(p99 !== undefined ? { p99 } : {}) });
      }
    } finally {
      await store.close();
    }
  } catch {
    // no history: the suite's targets (the run records into the store later and warns there)
  }
  return out;
}
