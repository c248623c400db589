/**
 * The end of a run on the fleet queue (docs/fleet.md): its results, collected from the queue
 * database, written to the run folder and recorded in the results store. `benchalign run
 * --queue` does it when its jobs settle, `benchalign runs wait` on any machine later.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { collectRun, type FinishedRun } from '../agents/queue/runs.js';
import type { FleetDb } from '../agents/queue/db.js';
import { ExitCode, describeError } from '../errors.js';
import type { JobResult } from '../model/record.js';
import { RunDirectory } from '../reports/run-dir.js';
import { attachHistoryNextRun } from '../results/next-run.js';
import { displayStoreLocation, openStore } from '../results/store/store.js';

export type { FinishedRun } from '../agents/queue/runs.js';

/** Exit code of a finished run (as `benchalign run`), from its job records. */
function exitCodeOf(jobs: readonly JobResult[], cancelled: boolean, infra: boolean): ExitCode {
  if (cancelled) return ExitCode.Infra;
  const measured = jobs.filter((j) => j.status === 'ok' || j.status === 'failed');
  if (measured.length === 0) return infra ? ExitCode.Infra : ExitCode.NothingMeasured;
  if (jobs.some((j) => j.status === 'failed' || j.status === 'errored')) return ExitCode.GateFailed;
  return ExitCode.Ok;
}

export interface FinishOptions {
  /** Run folder; default reports/<run id>/. */
  outDir?: string;
  /** Record into this results store (a failure only warns: the run folder is complete). */
  store?: string;
  tags?: string[];
}

/**
 * Builds the run's results from the database (the agents wrote every job's record), writes
 * the run folder and records the run in the store. Safe to repeat and to run from several
 * machines: the store keeps one run per run id.
 */
export async function finishRun(db: FleetDb, runId: string, o: FinishOptions = {}): Promise<FinishedRun> {
  const { results, jobs, cancelled, endedAt } = await collectRun(db, runId);
  // Next-run intervals from the store's history, as a run on the push path gets them (docs/methodology.md).
  if (o.store !== undefined) await attachHistoryNextRun(o.store, results);
  const runDir = resolve(o.outDir ?? join('reports', runId));
  await mkdir(runDir, { recursive: true });
  const out = new RunDirectory(runDir, results);
  for (const j of jobs) out.addJob(j);
  out.finish(cancelled ? 'interrupted' : 'complete');
  if (endedAt !== undefined) results.run.endedAt = endedAt;
  if (o.store !== undefined) {
    try {
      const store = await openStore(o.store);
      try {
        await store.recordRun(results, { tags: o.tags ?? [] });
      } finally {
        await store.close();
      }
      await db.query('UPDATE fleet_runs SET recorded_at = now() WHERE run_id = $1', [runId]);
    } catch (e) {
      process.stderr.write(`benchalign: warning: the run was not recorded in the store ${displayStoreLocation(o.store)}: ${describeError(e)} (results.json is complete)\n`);
    }
  }
  const infra = jobs.some((j) => j.status === 'errored' && /runner agents failed|no agent/.test(j.reason ?? ''));
  return { results, runDir, exitCode: exitCodeOf(results.jobs, cancelled, infra) };
}
