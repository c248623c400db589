/** `benchalign runs wait`, the orchestration: wait on the fleet queue for a run's jobs to settle, then finish the run (docs/fleet.md). */
import { statusPrinter } from '../agents/queue/coordinator.js';
import { FleetDb } from '../agents/queue/db.js';
import { waitRun, type RunStatus } from '../agents/queue/runs.js';
import { finishRun, type FinishOptions, type FinishedRun } from './fleet.js';

export interface WaitAndFinishOptions extends FinishOptions {
  /** Give up after this long (the run goes on); default: wait as long as it takes. */
  timeoutMs?: number;
  /** No progress lines on stderr. */
  quiet?: boolean;
}

/** Settled: the run folder is written and the run recorded (finishRun). Not settled: the status when the wait gave up. */
export type WaitAndFinishOutcome = ({ settled: true } & FinishedRun) | { settled: false; status: RunStatus };

export async function waitAndFinishRun(queueUrl: string, runId: string, o: WaitAndFinishOptions = {}): Promise<WaitAndFinishOutcome> {
  const db = await FleetDb.open(queueUrl, { applicationName: 'benchalign-runs' });
  try {
    const s = await waitRun(db, runId, { onStatus: statusPrinter(o.quiet === true), ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}) });
    if (!s.settled) return { settled: false, status: s };
    const { timeoutMs: _t, quiet: _q, ...finish } = o;
    return { settled: true, ...(await finishRun(db, runId, finish)) };
  } finally {
    await db.close();
  }
}
