/**
 * Adaptive repeats for a run (docs/methodology.md, "Adaptive repeats"): the dispatcher's
 * `moreRepeats` hook, from each job's measurement settings (`maxRepeats`, `repeatsBudgetMs`,
 * `targetCiHalfWidthPct`) and the repeats it has.
 */
import { decideMoreRepeats, type RepeatDecision } from '../metrics/repeat-stopping.js';
import { percentileOfSorted, sortSamples } from '../metrics/percentile.js';
import type { Job } from '../model/job.js';
import type { RepeatOutcome } from './execute-job.js';

/** A repeat's own steady-state p50, ms; undefined without steady samples. */
function repeatP50(o: RepeatOutcome): number | undefined {
  const steady = o.allSamplesNs.slice(o.warmupDiscarded);
  if (steady.length === 0) return undefined;
  return percentileOfSorted(sortSamples(steady.map((ns) => ns / 1e6)), 0.5);
}

/** The most repeats of `job` in a run of `repeats` planned repeats (`maxOverride`: `run --max-repeats`). */
export function maxRepeatsOf(job: Job, repeats: number, maxOverride?: number): number {
  return Math.max(repeats, maxOverride ?? job.measurement.maxRepeats ?? repeats);
}

/** Whether any job of the run may get added repeats. */
export function adaptiveRepeatsOn(jobs: readonly Job[], repeats: number, maxOverride?: number): boolean {
  return jobs.some((j) => maxRepeatsOf(j, repeats, maxOverride) > repeats);
}

/** The dispatcher's `moreRepeats` hook for a run of `repeats` planned repeats. */
export function moreRepeatsHook(repeats: number, maxOverride?: number): (job: Job, outcomes: readonly RepeatOutcome[], spentMs: number) => RepeatDecision {
  return (job, outcomes, spentMs) => {
    const p50s = outcomes.map(repeatP50).filter((v): v is number => v !== undefined && v > 0);
    return decideMoreRepeats({
      perRepeatP50: p50s,
      ran: outcomes.length,
      planned: repeats,
      maxRepeats: maxRepeatsOf(job, repeats, maxOverride),
      targetRelHalfWidth: job.measurement.targetCiHalfWidthPct / 100,
      spentMs,
      ...(job.measurement.repeatsBudgetMs !== undefined ? { budgetMs: job.measurement.repeatsBudgetMs } : {}),
    });
  };
}
