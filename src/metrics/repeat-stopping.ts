/**
 * Adaptive repeats (docs/methodology.md, "Adaptive repeats"): after a job's planned repeats,
 * the run adds one repeat at a time while the combined in-run interval of p50 (the t interval
 * on the logs of the per-repeat p50s, `logTInterval`) is wider than the job's target, up to
 * `maxRepeats` and within the job's time budget. Pure: no I/O.
 */
import type { RepeatsStop } from '../model/measurements.js';
import { logTInterval, relHalfWidthLog } from './intervals.js';

export interface RepeatDecisionInput {
  /** Each finished repeat's own steady-state p50, ms (repeats without steady samples left out). */
  perRepeatP50: readonly number[];
  /** Repeats run; default `perRepeatP50.length`. */
  ran?: number;
  /** Repeats planned (`repeats`). */
  planned: number;
  /** Most repeats (`maxRepeats`, at least `planned`). */
  maxRepeats: number;
  /** Target relative half-width of the combined p50 interval (fraction). */
  targetRelHalfWidth: number;
  /** Time the job's repeats took so far, all together, ms. */
  spentMs: number;
  /** The job's time budget for its repeats, ms; undefined: none. */
  budgetMs?: number;
  confidence?: number;
}

/** The decision after a finished repeat: run one more, or stop with why. */
export type RepeatDecision = { more: true; halfWidthPct?: number } | { more: false; stop: RepeatsStop };

/**
 * Whether the job needs another repeat. Before `planned` repeats: always (the fixed plan).
 * Then, in this order: `target` when the combined p50 interval (needs 2 repeats) is within
 * the target; `max-repeats` at `maxRepeats`; `time-budget` when the repeats so far took the
 * budget, or one more repeat of their mean length would overrun it; else one more.
 * With `maxRepeats === planned` (adaptive repeats off) it stops at `planned` with `planned`.
 */
export function decideMoreRepeats(input: RepeatDecisionInput): RepeatDecision {
  const ran = input.ran ?? input.perRepeatP50.length;
  const max = Math.max(input.planned, input.maxRepeats);
  const hw = input.perRepeatP50.length >= 2 ? relHalfWidthLog(logTInterval(input.perRepeatP50, input.confidence ?? 0.95)) : undefined;
  const base = {
    planned: input.planned,
    max,
    ran,
    targetHalfWidthPct: input.targetRelHalfWidth * 100,
    spentMs: input.spentMs,
    ...(input.budgetMs !== undefined ? { budgetMs: input.budgetMs } : {}),
    ...(hw !== undefined ? { p50HalfWidthPct: hw * 100 } : {}),
  };
  if (ran < input.planned) return { more: true, ...(hw !== undefined ? { halfWidthPct: hw * 100 } : {}) };
  if (max === input.planned) return { more: false, stop: { ...base, reason: 'planned' } };
  if (hw !== undefined && hw <= input.targetRelHalfWidth) return { more: false, stop: { ...base, reason: 'target' } };
  if (ran >= max) return { more: false, stop: { ...base, reason: 'max-repeats' } };
  if (input.budgetMs !== undefined && (input.spentMs >= input.budgetMs || input.spentMs + input.spentMs / Math.max(1, ran) > input.budgetMs)) {
    return { more: false, stop: { ...base, reason: 'time-budget' } };
  }
  return { more: true, ...(hw !== undefined ? { halfWidthPct: hw * 100 } : {}) };
}
