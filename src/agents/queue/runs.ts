/**
 * Runs on the fleet queue (docs/fleet.md), the coordinator side: enqueue a run's jobs with
 * their artifacts, follow it, give the jobs of dead agents to others, cancel it, and finish
 * it (the run folder and the results store) from any machine, however many times.
 *
 * A fleet job is one job of the suite with all its repeats, run by one agent (its statistics
 * combine repeats of one device, as on the dispatcher). Its row in `fleet_jobs` is the truth
 * about it; the pg-boss job only delivers it to an agent. An agent owns a job by its attempt
 * number: every write of a result is conditional on `state = 'running'` and that attempt, so
 * an agent that was given up on (or a cancelled run) cannot write a result, and no result is
 * ever written twice.
 */
import { randomUUID } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { BenchalignError, describeError, type ExitCode } from '../../errors.js';
import { RESULTS_SCHEMA_VERSION, type DeviceFingerprint, type JobResult, type RunResults } from '../../model/record.js';
import type { Job } from '../../model/job.js';
import type { RunMode } from '../../execution/execute-job.js';
import { VERSION } from '../../version.js';
import { hashFileCached, modelExtraFiles } from '../artifacts.js';
import { failedJobResult } from '../../execution/job-result.js';
import { jobLocalFiles, toWireJob, type WireFile, type WireJob } from '../protocol.js';
import { jobNeeds, labelsMatch } from '../selection.js';
import { DEFAULT_QUEUE_MAX_ARTIFACT_BYTES, STALE_HEARTBEATS, queueName, type FleetDb, type FleetJobState, type FleetRunState } from './db.js';

/** What an agent needs to run a fleet job; stored in `fleet_jobs.payload`. */
export interface FleetPayload {
  /** The job as the coordinator expanded it (its paths are the coordinator's; for the record). */
  job: Job;
  /** The job as it travels (artifact refs) and its tree of files. */
  wire: { job: WireJob; files: WireFile[] };
  repeats: number;
  mode: RunMode;
}

/** What the run keeps of its coordinator's command; stored in `fleet_runs.spec`. */
export interface FleetRunSpec {
  suite: RunResults['suite'];
  startedAt: string;
  argv: string[];
  mode: RunMode;
  repeats: number;
  jobs: number;
}

export interface EnqueueOptions {
  runId: string;
  suite: RunResults['suite'];
  jobs: readonly Job[];
  repeats: number;
  mode: RunMode;
  /** Already free of passwords. */
  argv: string[];
  startedAt: Date;
  /** Attempts per job over agent failures. */
  maxAttempts: number;
  maxArtifactBytes?: number;
}

/**
 * Uploads the artifacts of every job (once per sha256, skipped when the database has it),
 * then writes the run, its jobs and their pg-boss jobs in one transaction.
 */
export async function enqueueRun(db: FleetDb, o: EnqueueOptions): Promise<void> {
  const limit = o.maxArtifactBytes ?? DEFAULT_QUEUE_MAX_ARTIFACT_BYTES;
  const payloads: Array<{ job: Job; payload: FleetPayload; queue: string; engine: string; labels: Record<string, string> }> = [];
  const files = new Map<string, string>();
  for (const job of o.jobs) {
    const layout = jobLocalFiles(job, await modelExtraFiles(job.model.path));
    const shas = new Map<string, string>();
    for (const f of layout.files) {
      const sha = f.localPath === job.model.path ? job.model.sha256 : await hashFileCached(f.localPath);
      shas.set(f.localPath, sha);
      files.set(sha, f.localPath);
    }
    const wire = toWireJob(job, layout, (p) => shas.get(p) as string);
    const needs = jobNeeds(job);
    payloads.push({ job, payload: { job, wire, repeats: o.repeats, mode: o.mode }, queue: queueName(job.engine.name, needs), engine: job.engine.name, labels: needs });
  }
  for (const [sha, path] of files) {
    const [have] = await db.query('SELECT 1 FROM fleet_artifacts WHERE sha256 = $1', [sha]).catch((e: unknown) => {
      throw db.infra('artifacts', e);
    });
    if (have) continue;
    const size = (await stat(path)).size;
    if (size > limit) throw new BenchalignError('E_CONFIG', `${path} is ${size} bytes, over the queue's artifact limit of ${limit} bytes`, { file: path, expected: `files of at most ${limit} bytes (each is one row of the queue database)` });
    const data = await readFile(path);
    await db.query('INSERT INTO fleet_artifacts (sha256, size, data) VALUES ($1, $2, $3) ON CONFLICT (sha256) DO NOTHING', [sha, size, data]).catch((e: unknown) => {
      throw db.infra(`uploading ${path}`, e);
    });
  }
  const queues = new Map(payloads.map((p) => [p.queue, p] as const));
  try {
    for (const [name, p] of queues) {
      await db.query('INSERT INTO fleet_queues (name, engine, labels) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING', [name, p.engine, JSON.stringify(p.labels)]);
      if ((await db.boss.getQueue(name)) === null) {
        await db.boss.createQueue(name, { name, policy: 'standard' }).catch(async (e: unknown) => {
          if ((await db.boss.getQueue(name)) === null) throw e;
        });
      }
    }
    const spec: FleetRunSpec = { suite: o.suite, startedAt: o.startedAt.toISOString(), argv: o.argv, mode: o.mode, repeats: o.repeats, jobs: o.jobs.length };
    // a day past the job's own limits (a job waits between its repeats while the agent runs
    // others): pg-boss's expiry only catches what the heartbeats miss
    const expireFor = (job: Job): number => Math.ceil((o.repeats * job.measurement.timeoutMs) / 1000) + 86_400;
    await db.transaction(async (client, tx) => {
      await client.query('INSERT INTO fleet_runs (run_id, state, spec) VALUES ($1, $2, $3)', [o.runId, 'running' satisfies FleetRunState, JSON.stringify(spec)]);
      const inserts = payloads.map((p, idx) => ({ ...p, idx, bossId: randomUUID() }));
      for (const p of inserts) {
        await client.query('INSERT INTO fleet_jobs (run_id, job_key, idx, queue, boss_id, payload, state, max_attempts) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
          o.runId,
          p.job.key,
          p.idx,
          p.queue,
          p.bossId,
          JSON.stringify(p.payload),
          'queued' satisfies FleetJobState,
          o.maxAttempts,
        ]);
      }
      await db.boss.insert(
        inserts.map((p) => ({ id: p.bossId, name: p.queue, data: { runId: o.runId, key: p.job.key }, priority: inserts.length - p.idx, retryLimit: o.maxAttempts + PGBOSS_SPARE_RETRIES, retryDelay: 0, expireInSeconds: expireFor(p.job) })),
        tx,
      );
    });
  } catch (e) {
    if (e instanceof BenchalignError) throw e;
    if ((e as { code?: string }).code === '23505') throw new BenchalignError('E_USAGE', `a run with the id ${o.runId} is already on the queue`, { expected: 'a new run id' });
    throw db.infra('enqueueing the run', e);
  }
}

/**
 * pg-boss retries beyond the job's attempts: the attempts are counted in fleet_jobs (a job is
 * claimed only below its max_attempts, and failed for good there), and a pg-boss job taken but
 * never claimed (its taker died or lost the database in between) is retried without using one.
 */
const PGBOSS_SPARE_RETRIES = 20;
/** A pg-boss job active this long without its fleet job being claimed is given back, s. */
const UNCLAIMED_S = 60;

interface JobRow {
  run_id: string;
  job_key: string;
  idx: number;
  queue: string;
  boss_id: string;
  state: FleetJobState;
  attempt: number;
  max_attempts: number;
  agent_id: string | null;
  failures: string[];
  started_at: Date | null;
  exec_ms: number | null;
  result: JobResult | null;
}

/** A job failed for good: its record, from the job as enqueued. */
export function fleetFailure(job: Job, reason: string, startedAt: Date | null, device?: DeviceFingerprint): JobResult {
  return failedJobResult(job, { status: 'errored', reason }, (startedAt ?? new Date()).toISOString(), device);
}

/**
 * Gives the jobs of agents that stopped heartbeating (or stopped cleanly mid-job) back to the
 * queue: the pg-boss job fails, pg-boss retries it on the next matching agent, and the reason
 * is kept; after the job's last attempt it fails for good with every reason. Any coordinator
 * and every agent calls this; the conditional update makes each give-up happen once.
 * Returns how many jobs were given back or failed.
 */
export async function reapStaleJobs(db: FleetDb): Promise<number> {
  const rows = await db.query<JobRow & { agent_name: string | null; agent_state: string | null; job: Job }>(
    `SELECT j.run_id, j.job_key, j.queue, j.boss_id, j.attempt, j.max_attempts, j.agent_id, j.started_at, j.payload->'job' AS job, a.name AS agent_name, a.state AS agent_state
       FROM fleet_jobs j LEFT JOIN fleet_agents a ON a.agent_id = j.agent_id
      WHERE j.state = 'running'
        AND (a.agent_id IS NULL OR a.state <> 'up' OR a.last_seen < now() - make_interval(secs => a.heartbeat_ms * ${STALE_HEARTBEATS} / 1000.0))`,
  );
  let n = 0;
  for (const r of rows) {
    const who = r.agent_name ?? r.agent_id ?? '?';
    const reason = r.agent_state === 'stopped' ? `agent ${who} stopped during the job` : `agent ${who} stopped heartbeating (lost)`;
    const final = r.attempt >= r.max_attempts;
    const done = await db.transaction(async (client, tx) => {
      const res = await client.query(
        `UPDATE fleet_jobs SET state = $5, agent_id = NULL, failures = failures || to_jsonb($6::text), result = $7, ended_at = CASE WHEN $5 = 'failed' THEN now() END
          WHERE run_id = $1 AND job_key = $2 AND state = 'running' AND attempt = $3 AND agent_id = $4`,
        [
          r.run_id,
          r.job_key,
          r.attempt,
          r.agent_id,
          final ? 'failed' : 'queued',
          reason,
          final ? JSON.stringify(fleetFailure(r.job, `${r.attempt} attempt(s) on runner agents failed: ${[...((await jobFailures(db, r.run_id, r.job_key)) ?? []), reason].join('; ')}`, r.started_at)) : null,
        ],
      );
      if (res.rowCount !== 1) return false;
      if (r.agent_state === 'up') await client.query("UPDATE fleet_agents SET state = 'lost' WHERE agent_id = $1 AND state = 'up'", [r.agent_id]);
      await db.boss.fail(r.queue, r.boss_id, { reason }, tx);
      if (final) await db.boss.cancel(r.queue, r.boss_id, tx);
      return true;
    });
    if (done) n++;
  }
  // taken from pg-boss but never claimed: back to the queue (pg-boss's own tables, read only)
  const unclaimed = await db.query<{ queue: string; boss_id: string }>(
    `SELECT j.queue, j.boss_id FROM fleet_jobs j JOIN pgboss.job b ON b.name = j.queue AND b.id = j.boss_id
      WHERE j.state = 'queued' AND b.state = 'active' AND b.started_on < now() - interval '${UNCLAIMED_S} seconds'`,
  );
  for (const u of unclaimed) {
    await db.boss.fail(u.queue, u.boss_id, { reason: 'taken from the queue but never claimed' });
    n++;
  }
  return n;
}

async function jobFailures(db: FleetDb, runId: string, key: string): Promise<string[] | undefined> {
  const [row] = await db.query<{ failures: string[] }>('SELECT failures FROM fleet_jobs WHERE run_id = $1 AND job_key = $2', [runId, key]);
  return row?.failures;
}

export interface RunStatus {
  runId: string;
  state: FleetRunState;
  spec: FleetRunSpec;
  counts: Record<FleetJobState, number>;
  jobs: Array<{ key: string; state: FleetJobState; attempt: number; repeatsDone: number; agent?: string; status?: JobResult['status']; reason?: string }>;
  /** Every job is in a final state. */
  settled: boolean;
}

/** The run's state, from the database. Throws E_USAGE for an unknown run id. */
export async function runStatus(db: FleetDb, runId: string): Promise<RunStatus> {
  const [run] = await db.query<{ state: FleetRunState; spec: FleetRunSpec }>('SELECT state, spec FROM fleet_runs WHERE run_id = $1', [runId]).catch((e: unknown) => {
    throw db.infra('reading the run', e);
  });
  if (!run) throw new BenchalignError('E_USAGE', `no run ${JSON.stringify(runId)} on the queue ${db.shown}`, { expected: 'a run id printed by `benchalign run --queue`' });
  const rows = await db.query<{ job_key: string; state: FleetJobState; attempt: number; repeats_done: number; agent: string | null; status: JobResult['status'] | null; reason: string | null }>(
    `SELECT j.job_key, j.state, j.attempt, j.repeats_done, COALESCE(a.name, j.result->'agent'->>'name') AS agent, j.result->>'status' AS status, j.result->>'reason' AS reason
       FROM fleet_jobs j LEFT JOIN fleet_agents a ON a.agent_id = j.agent_id WHERE j.run_id = $1 ORDER BY j.idx`,
    [runId],
  );
  const counts: Record<FleetJobState, number> = { queued: 0, running: 0, done: 0, failed: 0, cancelled: 0 };
  for (const r of rows) counts[r.state]++;
  return {
    runId,
    state: run.state,
    spec: run.spec,
    counts,
    jobs: rows.map((r) => ({ key: r.job_key, state: r.state, attempt: r.attempt, repeatsDone: r.repeats_done, ...(r.agent !== null ? { agent: r.agent } : {}), ...(r.status !== null ? { status: r.status } : {}), ...(r.reason !== null ? { reason: r.reason } : {}) })),
    settled: counts.queued === 0 && counts.running === 0,
  };
}

/**
 * Cancels a run: its queued jobs leave the queue, its running jobs are marked cancelled (their
 * agents see it at their next heartbeat and stop the engine), the run is final.
 * Returns how many jobs it stopped.
 */
export async function cancelRun(db: FleetDb, runId: string): Promise<number> {
  await runStatus(db, runId);
  return db.transaction(async (client, tx) => {
    await client.query("UPDATE fleet_runs SET state = 'cancelled', ended_at = now() WHERE run_id = $1 AND state = 'running'", [runId]);
    const res = await client.query<{ job_key: string; queue: string; boss_id: string; job: Job; started_at: Date | null; state: FleetJobState }>(
      "SELECT job_key, queue, boss_id, payload->'job' AS job, started_at, state FROM fleet_jobs WHERE run_id = $1 AND state IN ('queued', 'running') FOR UPDATE",
      [runId],
    );
    for (const r of res.rows) {
      const result = fleetFailure(r.job, r.state === 'running' ? 'cancelled while running (benchalign runs cancel)' : 'cancelled before it started (benchalign runs cancel)', r.started_at);
      await client.query("UPDATE fleet_jobs SET state = 'cancelled', result = $3, ended_at = now() WHERE run_id = $1 AND job_key = $2", [runId, r.job_key, JSON.stringify(result)]);
      await db.boss.cancel(r.queue, r.boss_id, tx);
    }
    return res.rows.length;
  });
}

export interface WaitOptions {
  pollMs?: number;
  signal?: AbortSignal;
  /** Give up after this long, ms (the run goes on). */
  timeoutMs?: number;
  /** Called with each status whose counts changed. */
  onStatus?: (s: RunStatus) => void;
}

/** Waits until every job of the run is final, giving the jobs of dead agents to others meanwhile. */
export async function waitRun(db: FleetDb, runId: string, o: WaitOptions = {}): Promise<RunStatus> {
  const poll = o.pollMs ?? 500;
  const deadline = o.timeoutMs !== undefined ? Date.now() + o.timeoutMs : Infinity;
  let last = '';
  for (;;) {
    await reapStaleJobs(db).catch((e: unknown) => process.stderr.write(`benchalign: warning: ${describeError(db.infra('giving back the jobs of lost agents', e))}\n`));
    const s = await runStatus(db, runId);
    const sig = JSON.stringify(s.jobs.map((j) => [j.state, j.attempt, j.agent, j.repeatsDone]));
    if (sig !== last) {
      last = sig;
      o.onStatus?.(s);
    }
    if (s.settled) {
      if (s.state === 'running') await db.query("UPDATE fleet_runs SET state = 'finished', ended_at = now() WHERE run_id = $1 AND state = 'running'", [runId]);
      return { ...s, state: s.state === 'running' ? 'finished' : s.state };
    }
    if (o.signal?.aborted) return s;
    if (Date.now() > deadline) return s;
    await new Promise((r) => setTimeout(r, poll));
  }
}

/** A settled run as the database has it: every job's record, the agents that ran them. */
export interface CollectedRun {
  /** The run's results with no job yet (`jobs` has them, in the suite's order). */
  results: RunResults;
  jobs: JobResult[];
  cancelled: boolean;
  /** When the run became final in the database. */
  endedAt?: string;
}

/** A finished run: its results (as written to its folder), the folder, the exit code. */
export interface FinishedRun {
  results: RunResults;
  runDir: string;
  exitCode: ExitCode;
}

/**
 * Builds a settled run's results from the database (the agents wrote every job's record).
 * Writing them (the run folder, the results store) is workflows/fleet.ts's `finishRun`.
 */
export async function collectRun(db: FleetDb, runId: string): Promise<CollectedRun> {
  const status = await runStatus(db, runId);
  if (!status.settled) throw new BenchalignError('E_USAGE', `run ${runId} is not finished: ${status.counts.queued} job(s) queued, ${status.counts.running} running`, { expected: '`benchalign runs wait` first' });
  const rows = await db.query<JobRow & { agent_name: string | null; labels: Record<string, string> | null; fingerprint: DeviceFingerprint | null }>(
    `SELECT j.*, a.name AS agent_name, a.labels, a.fingerprint FROM fleet_jobs j LEFT JOIN fleet_agents a ON a.agent_id = (j.result->'agent'->>'id') WHERE j.run_id = $1 ORDER BY j.idx`,
    [runId],
  );
  // agents that took a job of the run but ended none (lost before their first result)
  const others = await db.query<{ agent_id: string; name: string; labels: Record<string, string>; fingerprint: DeviceFingerprint | null; state: string }>(
    `SELECT a.agent_id, a.name, a.labels, a.fingerprint, a.state FROM fleet_agents a
      WHERE a.agent_id IN (SELECT jsonb_array_elements_text(agents) FROM fleet_jobs WHERE run_id = $1)`,
    [runId],
  );
  const [run] = await db.query<{ ended_at: Date | null }>('SELECT ended_at FROM fleet_runs WHERE run_id = $1', [runId]);
  const spec = status.spec;
  const jobs: JobResult[] = [];
  const agents = new Map<string, { name: string; url: string; labels: Record<string, string>; fingerprintHash?: string; jobsRun: number; lost?: string; device?: DeviceFingerprint }>();
  for (const r of rows) {
    const result = r.result;
    if (!result) continue;
    const a = (result as JobResult & { agent?: { id?: string } }).agent;
    const clean: JobResult = { ...result };
    if (a) {
      const { id, ...rest } = a as { id?: string; name: string; url: string };
      clean.agent = rest;
      if (id !== undefined) {
        const seen = agents.get(id) ?? { name: a.name, url: a.url, labels: r.labels ?? {}, ...(r.fingerprint?.hash !== undefined ? { fingerprintHash: r.fingerprint.hash } : {}), jobsRun: 0, ...(r.fingerprint ? { device: r.fingerprint } : {}) };
        if (r.state === 'done') seen.jobsRun++;
        agents.set(id, seen);
      }
    }
    jobs.push(clean);
  }
  for (const a of others) {
    const known = agents.get(a.agent_id);
    if (known) {
      if (a.state === 'lost') known.lost = 'lost: stopped heartbeating';
      continue;
    }
    agents.set(a.agent_id, { name: a.name, url: `queue:${a.name}`, labels: a.labels, ...(a.fingerprint?.hash !== undefined ? { fingerprintHash: a.fingerprint.hash } : {}), jobsRun: 0, ...(a.state === 'lost' ? { lost: 'lost: stopped heartbeating' } : {}) });
  }
  const cancelled = status.state === 'cancelled';
  const results: RunResults = {
    schemaVersion: RESULTS_SCHEMA_VERSION,
    tool: { name: 'benchalign', version: VERSION },
    suite: spec.suite,
    run: { id: runId, startedAt: spec.startedAt, status: 'running', argv: spec.argv, mode: spec.mode },
    jobs: [],
  };
  if (agents.size > 0) results.run.agents = [...agents.values()].map(({ device: _d, ...a }) => a);
  const devices = [...agents.values()].map((a) => a.device).filter((d) => d !== undefined);
  if (agents.size === 1 && devices[0]) results.device = devices[0];
  return { results, jobs, cancelled, ...(run?.ended_at ? { endedAt: run.ended_at.toISOString() } : {}) };
}

/** The live agents that could take each queue of a run, for a warning when a job has none. */
export async function unservedJobs(db: FleetDb, jobs: readonly Job[]): Promise<string[]> {
  const agents = await db.query<{ labels: Record<string, string>; engines: string[] }>(
    `SELECT labels, engines FROM fleet_agents WHERE state = 'up' AND last_seen > now() - make_interval(secs => heartbeat_ms * ${STALE_HEARTBEATS} / 1000.0)`,
  );
  return jobs.filter((j) => !agents.some((a) => a.engines.includes(j.engine.name) && labelsMatch(a.labels, jobNeeds(j)))).map((j) => j.key);
}
