/**
 * `benchalign run --queue postgres://...`: the coordinator of a run on the fleet queue. It
 * enqueues the run's jobs (with their artifacts), then, unless detached, follows them and
 * finishes the run with the caller's `finish` (workflows/fleet.ts: run folder, results store),
 * as `benchalign runs wait` does. Killing it
 * loses nothing: the agents go on, and `runs wait <id>` finishes the run later.
 */
import { randomBytes } from 'node:crypto';
import { ExitCode } from '../../errors.js';
import { RESULTS_SCHEMA_VERSION, type RunResults } from '../../model/record.js';
import { redactStoreUrls } from '../../config/postgres-url.js';
import type { Job } from '../../model/job.js';
import type { Suite } from '../../suite/index.js';
import type { RunMode } from '../../execution/execute-job.js';
import { VERSION } from '../../version.js';
import { DEFAULT_MAX_ATTEMPTS } from '../../config/agents-file.js';
import { FleetDb } from './db.js';
import { cancelRun, enqueueRun, unservedJobs, waitRun, type FinishedRun, type RunStatus } from './runs.js';

export interface QueueRunOptions {
  queue: string;
  detach?: boolean;
  maxAttempts?: number;
  maxArtifactBytes?: number;
  argv?: string[];
  quiet?: boolean;
  /** Aborting it cancels the run (Ctrl-C); a coordinator killed outright leaves it running. */
  signal?: AbortSignal;
  pollMs?: number;
}

export interface QueueRunOutcome {
  runId: string;
  results: RunResults;
  runDir: string;
  exitCode: ExitCode;
  detached: boolean;
}

function timestamp(d: Date): string {
  return d.toISOString().replace(/[:]/g, '').replace(/\.\d+Z$/, 'Z');
}

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 120);
}

/** Prints each job's change of state, for a run followed in the terminal. */
export function statusPrinter(quiet: boolean): (s: RunStatus) => void {
  const seen = new Map<string, string>();
  return (s) => {
    if (quiet) return;
    for (const j of s.jobs) {
      const reps = j.state === 'running' && s.spec.repeats > 1 ? ` (${j.repeatsDone}/${s.spec.repeats} repeats)` : '';
      const line = `${j.state}${j.agent !== undefined ? ` on ${j.agent}` : ''}${reps}${j.attempt > 1 ? ` (attempt ${j.attempt})` : ''}${j.status !== undefined && j.state !== 'running' ? `: ${j.status}${j.reason ? ` - ${j.reason.split('\n')[0]}` : ''}` : ''}`;
      if (seen.get(j.key) === line) continue;
      seen.set(j.key, line);
      if (j.state !== 'queued') process.stderr.write(`  ${j.key}: ${line}\n`);
    }
    const c = s.counts;
    process.stderr.write(`run ${s.runId}: ${c.done + c.failed + c.cancelled}/${s.jobs.length} finished (${c.running} running, ${c.queued} queued)\n`);
  };
}

/** Writes a settled run (its folder, the store); `runOnQueue` calls it with its open database. */
export type FinishQueuedRun = (db: FleetDb, runId: string) => Promise<FinishedRun>;

export async function runOnQueue(o: QueueRunOptions, suite: Suite, jobs: Job[], repeats: number, mode: RunMode, started: Date, finish: FinishQueuedRun): Promise<QueueRunOutcome> {
  const runId = `${timestamp(started)}-${safeName(suite.name)}-${randomBytes(3).toString('hex')}`;
  const db = await FleetDb.open(o.queue, { applicationName: 'benchalign-run' });
  try {
    const argv = (o.argv ?? []).map(redactStoreUrls);
    await enqueueRun(db, {
      runId,
      suite: { name: suite.name, path: suite.path, sha256: suite.sha256 },
      jobs,
      repeats,
      mode,
      argv,
      startedAt: started,
      maxAttempts: o.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      ...(o.maxArtifactBytes !== undefined ? { maxArtifactBytes: o.maxArtifactBytes } : {}),
    });
    const unserved = await unservedJobs(db, jobs);
    if (unserved.length > 0) {
      process.stderr.write(`benchalign: warning: no live agent on the queue can take ${unserved.length} job(s) yet (they wait for one): ${unserved.slice(0, 5).join(', ')}${unserved.length > 5 ? ', ...' : ''}\n`);
    }
    process.stderr.write(`benchalign: run ${runId}: ${jobs.length} job(s) queued on ${db.shown}\n`);
    if (o.detach) {
      const results: RunResults = {
        schemaVersion: RESULTS_SCHEMA_VERSION,
        tool: { name: 'benchalign', version: VERSION },
        suite: { name: suite.name, path: suite.path, sha256: suite.sha256 },
        run: { id: runId, startedAt: started.toISOString(), status: 'running', argv, mode },
        jobs: [],
      };
      return { runId, results, runDir: '', exitCode: ExitCode.Ok, detached: true };
    }
    const status = await waitRun(db, runId, { ...(o.signal ? { signal: o.signal } : {}), ...(o.pollMs !== undefined ? { pollMs: o.pollMs } : {}), onStatus: statusPrinter(o.quiet === true) });
    if (!status.settled) {
      // interrupted (Ctrl-C): the run is cancelled, and what finished is kept
      await cancelRun(db, runId);
    }
    const finished = await finish(db, runId);
    return { runId, ...finished, detached: false };
  } finally {
    await db.close();
  }
}
