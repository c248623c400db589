/**
 * `benchalign agent work --queue postgres://...`: the pull agent (docs/fleet.md). It connects
 * out to the queue database (no listening port), registers its labels and engines, and takes
 * one job at a time from the queues whose needs it meets. Each job runs through the agent
 * core (runner-agents/agent/core.ts), exactly as a `job.run` of the daemon: the same payload
 * validation, the same --allow-code rule, the same exclusive device lease and execution code.
 * Artifacts come from the database by sha256 and are verified before use. The finished job's
 * record (JobResult) is written to the database once, only while the job is still this
 * agent's; the agent heartbeats meanwhile, and stops a job that was taken from it.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { buildJobResult, failedJobResult, type JobFailure } from '../../src/execution/job-result.js';
import { Methods, decodeOutcome, failureFromError, fromWireJob, parseArtifactRef, sha256Hex, type InfoResult, type JobRunParams, type JobRunResult } from '../../src/agents/protocol.js';
import { RpcCode, RpcError } from '../../src/rpc/index.js';
import { DEFAULT_HEARTBEAT_MS, FleetDb, checkQueueUrl } from '../../src/agents/queue/db.js';
import { reapStaleJobs, type FleetPayload } from '../../src/agents/queue/runs.js';
import { loadReference } from '../../src/execution/inputs.js';
import { labelsMatch } from '../../src/agents/selection.js';
import { BenchalignError, describeError } from '../../src/errors.js';
import type { JobResult } from '../../src/model/record.js';
import type { NamedTensors } from '../../src/tensors/tensor.js';
import type { RepeatOutcome } from '../../src/execution/execute-job.js';
import { AgentCore, type AgentOptions, type AgentSession } from './core.js';

export interface QueueWorkerOptions extends AgentOptions {
  /** postgres:// URL of the queue database. */
  queue: string;
  /** Name in records and `runs status`; default <hostname>-<pid>. */
  name?: string;
  /** Take only jobs of these engines (they must be available here). Default: every available engine. */
  engines?: string[];
  /** Heartbeat period, ms; the agent is taken for dead after 3 missed. */
  heartbeatMs?: number;
  /** Idle poll period of the queues, ms. */
  pollMs?: number;
}

export interface RunningWorker {
  agentId: string;
  name: string;
  /** Resolves when the worker has stopped. */
  done: Promise<void>;
  /** Stops taking jobs, gives the running one back to the queue, closes. */
  stop(): Promise<void>;
}

/** A job this agent claimed: its repeats so far, until it ends. */
interface Owned {
  runId: string;
  key: string;
  attempt: number;
  queue: string;
  bossId: string;
  payload: FleetPayload;
  startedAt: Date;
  /** Why earlier attempts failed, for the record's notes. */
  failures: string[];
  outcomes: RepeatOutcome[];
  /** Time spent executing its repeats, ms. */
  execMs: number;
  /** The agent-protocol id of its running repeat. */
  jobId?: string;
  /** Set when the job is no longer this agent's (cancelled, given to another). */
  takenAway?: string;
}

const UNSUPPORTED_CODES = new Set(['E_UNSUPPORTED']);

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Starts the pull agent; it runs until stop(). */
export async function startQueueWorker(o: QueueWorkerOptions): Promise<RunningWorker> {
  const log = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const heartbeatMs = o.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const pollMs = o.pollMs ?? 250;
  if (!(Number.isInteger(heartbeatMs) && heartbeatMs >= 100)) throw new BenchalignError('E_USAGE', `--heartbeat-ms ${heartbeatMs}`, { expected: 'an integer of at least 100' });
  checkQueueUrl(o.queue);
  const name = o.name ?? `${hostname()}-${process.pid}`;
  if (!/^[A-Za-z0-9._:@+-]{1,100}$/.test(name)) throw new BenchalignError('E_USAGE', `--name ${JSON.stringify(name)}`, { expected: '1-100 characters of [A-Za-z0-9._:@+-]' });
  const core = new AgentCore({ ...o, log });
  await core.init();
  const info: InfoResult = await core.info();
  const available = info.engines.filter((e) => e.available).map((e) => e.name);
  let engines = available;
  if (o.engines !== undefined) {
    const missing = o.engines.filter((e) => !available.includes(e));
    if (missing.length > 0) {
      await core.shutdown();
      const why = missing.map((m) => `${m} (${info.engines.find((e) => e.name === m)?.reason ?? 'unknown engine'})`).join(', ');
      throw new BenchalignError('E_ENGINE_MISSING', `--engines: not available on this machine: ${why}`, { expected: `some of: ${available.join(', ')}` });
    }
    engines = o.engines;
  }
  let db: FleetDb;
  try {
    db = await FleetDb.open(o.queue, { worker: true, applicationName: `benchalign-agent-${name}` });
  } catch (e) {
    await core.shutdown();
    throw e;
  }
  const agentId = randomUUID();
  await db.query("INSERT INTO fleet_agents (agent_id, name, labels, engines, fingerprint, heartbeat_ms, state) VALUES ($1, $2, $3, $4, $5, $6, 'up')", [
    agentId,
    name,
    JSON.stringify(info.labels),
    JSON.stringify(engines),
    JSON.stringify(info.fingerprint),
    heartbeatMs,
  ]);
  log(`benchalign agent: ${name} working on the queue ${db.shown} (labels ${Object.entries(info.labels).map(([k, v]) => `${k}=${v}`).join(',')}; engines ${engines.join(', ') || '(none)'})`);

  const stopping = new AbortController();
  /** Jobs this agent owns (claimed, not ended): the one running and those between repeats. */
  const owned = new Map<string, Owned>();
  let current: Owned | undefined;
  const session: AgentSession = { id: `queue-${agentId}`, notify: () => undefined };
  const ownKey = (runId: string, key: string): string => `${runId}\n${key}`;

  let ticks = 0;
  const heartbeat = async (): Promise<void> => {
    try {
      // an agent given up on (a network partition) that is back takes jobs again; its old jobs are already elsewhere
      await db.query("UPDATE fleet_agents SET last_seen = now(), state = 'up' WHERE agent_id = $1 AND state IN ('up', 'lost')", [agentId]);
      if (owned.size > 0) {
        const mine = new Set(
          (await db.query<{ run_id: string; job_key: string; attempt: number }>("SELECT run_id, job_key, attempt FROM fleet_jobs WHERE agent_id = $1 AND state = 'running'", [agentId])).map((r) => `${ownKey(r.run_id, r.job_key)}\n${r.attempt}`),
        );
        for (const [k, c] of owned) {
          if (c.takenAway !== undefined || mine.has(`${k}\n${c.attempt}`)) continue;
          const [row] = await db.query<{ state: string }>('SELECT state FROM fleet_jobs WHERE run_id = $1 AND job_key = $2', [c.runId, c.key]);
          c.takenAway = row?.state === 'cancelled' ? 'the run was cancelled' : 'the job was given to another agent';
          log(`benchalign agent: job ${c.key} of run ${c.runId}: ${c.takenAway}; stopping it`);
          if (c === current && c.jobId !== undefined) core.cancel(c.jobId, { code: 'E_INFRA', message: c.takenAway });
          else {
            owned.delete(k);
            log(`benchalign agent: job ${c.key} of run ${c.runId} stopped: ${c.takenAway}; no result written`);
          }
        }
      }
      if (++ticks % 2 === 0) await reapStaleJobs(db);
    } catch (e) {
      log(`benchalign agent: heartbeat: ${describeError(db.infra('heartbeat', e))}`);
    }
  };
  let beating = false;
  const timer = setInterval(() => {
    if (beating) return;
    beating = true;
    void heartbeat().finally(() => {
      beating = false;
    });
  }, heartbeatMs);

  /** Puts the job's artifacts in the agent's store, each verified against its sha256. */
  const verified = new Set<string>();
  const fetchArtifacts = async (shas: Set<string>): Promise<void> => {
    for (const sha of shas) {
      if (verified.has(sha)) continue;
      if ((await core.store.has(sha)).present) {
        verified.add(sha);
        continue;
      }
      const [row] = await db.query<{ size: string; data: Buffer }>('SELECT size, data FROM fleet_artifacts WHERE sha256 = $1', [sha]);
      if (!row) throw new RpcError(RpcCode.ArtifactMissing, `artifact ${sha} is not in the queue database`);
      if (Number(row.size) !== row.data.length || sha256Hex(row.data) !== sha) throw new RpcError(RpcCode.ArtifactRefused, `artifact ${sha} in the queue database does not match its sha256 or size: refused`);
      await core.store.putStream(sha, Readable.from([row.data]), row.data.length);
      verified.add(sha);
    }
  };

  /** The job's reference outputs, from its artifacts (the same reader as a local run). */
  const references = new Map<string, NamedTensors | undefined>();
  const reference = async (p: FleetPayload): Promise<NamedTensors | undefined> => {
    if (p.wire.job.model.reference === undefined) return undefined;
    // read once for the same reference and files (the same model on several engines); a few are kept
    const refKey = JSON.stringify([p.wire.job.model.reference, p.wire.files]);
    if (references.has(refKey)) return references.get(refKey);
    const tensors = await readReference(p);
    if (references.size >= 8) references.delete(references.keys().next().value as string);
    references.set(refKey, tensors);
    return tensors;
  };
  const readReference = async (p: FleetPayload): Promise<NamedTensors | undefined> => {
    const dir = await mkdtemp(join(core.store.tmpDir, 'ref-'));
    try {
      const bySha = new Map<string, string>();
      const dirs = new Set<string>();
      for (const f of p.wire.files) {
        const dest = join(dir, 'tree', ...f.path.split('/'));
        await mkdir(dirname(dest), { recursive: true });
        await core.store.materialize(f.sha256, dest);
        bySha.set(f.sha256, dest);
        const segs = f.path.split('/');
        for (let i = 1; i < segs.length; i++) dirs.add(segs.slice(0, i).join('/'));
      }
      const local = fromWireJob(
        p.wire.job,
        (ref, field) => {
          const path = bySha.get(parseArtifactRef(ref) ?? '');
          if (path === undefined) throw new BenchalignError('E_INFRA', `${field}: ${ref} is not among the job's files`);
          return path;
        },
        (ref, field) => {
          const rel = ref.startsWith('tree:') ? ref.slice(5).replace(/\/+$/, '') : '';
          if (!dirs.has(rel)) throw new BenchalignError('E_INFRA', `${field}: ${ref} is not a folder of the job's files`);
          return join(dir, 'tree', ...rel.split('/'));
        },
      );
      return await loadReference(local);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };

  const agentRecord = (attempt: number): NonNullable<JobResult['agent']> & { id: string } => ({
    id: agentId,
    name,
    url: `queue:${name}`,
    fingerprintHash: info.fingerprint.hash,
    ...(attempt > 1 ? { attempts: attempt } : {}),
  });

  /**
   * Runs the next repeat of an owned job. Returns the job's record once it ended (all repeats
   * done, or failed), undefined while it has repeats left or when it was taken away.
   */
  const step = async (c: Owned): Promise<JobResult | undefined> => {
    const p = c.payload;
    const fail = (f: JobFailure): JobResult => failedJobResult(p.job, f, c.startedAt.toISOString(), info.fingerprint);
    try {
      if (c.outcomes.length === 0) await fetchArtifacts(new Set(p.wire.files.map((f) => f.sha256)));
      const r = c.outcomes.length;
      c.jobId = `fleet-${c.bossId}-${c.attempt}-${r}`;
      const params: JobRunParams = { jobId: c.jobId, job: p.wire.job, files: p.wire.files, mode: p.mode, fresh: p.repeats > 1, timeoutMs: p.job.measurement.timeoutMs };
      const t0 = performance.now();
      try {
        const res = (await core.handle(session, Methods.jobRun, params)) as JobRunResult;
        c.outcomes.push(decodeOutcome(res.outcome));
      } finally {
        c.execMs += performance.now() - t0;
      }
    } catch (e) {
      if (c.takenAway !== undefined) return undefined;
      if (e instanceof RpcError && e.code === RpcCode.JobFailed) {
        const f = failureFromError({ code: e.code, message: e.message, data: e.data });
        const status = f.code !== undefined && UNSUPPORTED_CODES.has(f.code) ? 'skipped' : f.status;
        return fail({ status, reason: f.message, ...(f.stderrTail ? { stderrTail: f.stderrTail } : {}), ...(f.code ? { code: f.code } : {}) });
      }
      if (e instanceof RpcError) return fail({ status: 'errored', reason: `agent ${name} refused the job: ${e.message}` });
      return fail({ status: 'errored', reason: `agent ${name}: ${describeError(e)}` });
    }
    if (c.takenAway !== undefined) return undefined;
    if (c.outcomes.length < p.repeats) {
      await db.query('UPDATE fleet_jobs SET repeats_done = $5 WHERE run_id = $1 AND job_key = $2 AND attempt = $3 AND agent_id = $4', [c.runId, c.key, c.attempt, agentId, c.outcomes.length]);
      return undefined;
    }
    let ref: NamedTensors | undefined;
    try {
      ref = await reference(p);
    } catch (e) {
      return fail({ status: 'errored', reason: `reference: ${describeError(e)}` });
    }
    return buildJobResult(p.job, c.outcomes, c.startedAt.toISOString(), { ...(ref ? { reference: ref } : {}), device: info.fingerprint });
  };

  /** Writes the record of an ended job, only while the job is still this agent's. */
  const record = async (c: Owned, ended: JobResult): Promise<void> => {
    const result = { ...ended, agent: agentRecord(c.attempt) };
    if (c.failures.length > 0) result.notes = [...(result.notes ?? []), ...c.failures.map((f) => `an earlier attempt failed: ${f}; the job was run again from its first repeat`)];
    // one statement: the result only while the job is still ours, the agent's count, the run's
    // end when it was its last job (the snapshot still sees this job running: it is left out)
    const [row] = await db.query<{ n: number }>(
      `WITH j AS (
         UPDATE fleet_jobs SET state = $5, result = $6, ended_at = now(), exec_ms = $7, repeats_done = $8
          WHERE run_id = $1 AND job_key = $2 AND state = 'running' AND attempt = $3 AND agent_id = $4
          RETURNING 1),
       a AS (UPDATE fleet_agents SET jobs_run = jobs_run + 1 WHERE agent_id = $4 AND EXISTS (SELECT 1 FROM j)),
       r AS (UPDATE fleet_runs SET state = 'finished', ended_at = now()
              WHERE run_id = $1 AND state = 'running' AND EXISTS (SELECT 1 FROM j)
                AND NOT EXISTS (SELECT 1 FROM fleet_jobs WHERE run_id = $1 AND job_key <> $2 AND state IN ('queued', 'running')))
       SELECT count(*)::int AS n FROM j`,
      [c.runId, c.key, c.attempt, agentId, result.status === 'errored' || result.status === 'skipped' ? 'failed' : 'done', JSON.stringify(result), c.execMs, c.outcomes.length],
    );
    const written = row?.n === 1;
    // a failure here leaves the pg-boss job active: its expiry or a later fetch completes it (the job is final)
    if (written) await db.boss.complete(c.queue, c.bossId);
    log(`benchalign agent: job ${c.key} of run ${c.runId} ${written ? result.status : 'was taken away meanwhile: result dropped'}`);
  };

  /** Claims a pg-boss job in fleet_jobs; undefined when it is not to be run (final, cancelled, owned elsewhere). */
  const claim = async (queue: string, bossId: string, data: { runId?: unknown; key?: unknown }): Promise<Owned | undefined> => {
    if (typeof data.runId !== 'string' || typeof data.key !== 'string') {
      log(`benchalign agent: queue job ${bossId} on ${queue} has no run id and key: dropped`);
      await db.boss.cancel(queue, bossId);
      return undefined;
    }
    const [row] = await db.query<{ payload: FleetPayload; attempt: number; started_at: Date; failures: string[] }>(
      `UPDATE fleet_jobs j SET state = 'running', agent_id = $4, agents = j.agents || to_jsonb($4::text), attempt = j.attempt + 1, repeats_done = 0, taken_at = now(), started_at = COALESCE(j.started_at, now())
         FROM fleet_runs r
        WHERE j.run_id = $1 AND j.job_key = $2 AND j.boss_id = $3 AND j.state = 'queued' AND j.attempt < j.max_attempts AND r.run_id = j.run_id AND r.state = 'running'
        RETURNING j.payload, j.attempt, j.started_at, j.failures`,
      [data.runId, data.key, bossId, agentId],
    );
    if (!row) {
      const [now] = await db.query<{ state: string }>('SELECT state FROM fleet_jobs WHERE run_id = $1 AND job_key = $2 AND boss_id = $3', [data.runId, data.key, bossId]);
      // final (cancelled, done) or unknown: nothing to run; 'running' elsewhere: its agent completes it
      if (!now || now.state !== 'running') await db.boss.complete(queue, bossId).catch(() => undefined);
      return undefined;
    }
    const c: Owned = { runId: data.runId, key: data.key, attempt: row.attempt, queue, bossId, payload: row.payload, startedAt: row.started_at, failures: row.failures, outcomes: [], execMs: 0 };
    owned.set(ownKey(c.runId, c.key), c);
    log(`benchalign agent: job ${c.key} of run ${c.runId} taken (attempt ${c.attempt}, ${c.payload.repeats} repeat(s))`);
    return c;
  };

  /** Runs one repeat of `c` and records the job when it ended. */
  const advance = async (c: Owned): Promise<void> => {
    current = c;
    try {
      const ended = await step(c);
      if (c.takenAway !== undefined) {
        owned.delete(ownKey(c.runId, c.key));
        log(`benchalign agent: job ${c.key} of run ${c.runId} stopped: ${c.takenAway}; no result written`);
        return;
      }
      if (ended) {
        owned.delete(ownKey(c.runId, c.key));
        await record(c, ended);
      }
    } finally {
      current = undefined;
    }
  };

  /** A pg-boss job from a queue this agent serves, or undefined when all are empty. */
  let turn = 0;
  let served: { names: string[]; at: number } = { names: [], at: -Infinity };
  const fetchOne = async (): Promise<{ queue: string; id: string; data: { runId?: unknown; key?: unknown } } | undefined> => {
    // the queues this agent serves: listed again once a second, and whenever they were all empty
    if (performance.now() - served.at > 1000) {
      const rows = await db.query<{ name: string; engine: string; labels: Record<string, string> }>('SELECT name, engine, labels FROM fleet_queues ORDER BY name');
      served = { names: rows.filter((q) => engines.includes(q.engine) && labelsMatch(info.labels, q.labels)).map((q) => q.name), at: performance.now() };
    }
    const queues = served.names.map((name) => ({ name }));
    turn++;
    for (let i = 0; i < queues.length && !stopping.signal.aborted; i++) {
      const q = queues[(i + turn) % queues.length] as { name: string };
      const [job] = await db.boss.fetch<{ runId?: unknown; key?: unknown }>(q.name, { batchSize: 1 });
      if (job) return { queue: q.name, id: job.id, data: job.data ?? {} };
    }
    served.at = -Infinity;
    return undefined;
  };

  /**
   * One job at a time; among the jobs it may run, the agent takes the one with the fewest
   * repeats done (as the dispatcher): a new job from the queue first, else the owned job with
   * the fewest repeats, so the repeats of its jobs interleave.
   */
  const loop = async (): Promise<void> => {
    while (!stopping.signal.aborted) {
      let did = false;
      try {
        const job = await fetchOne();
        if (job) {
          did = true;
          const c = await claim(job.queue, job.id, job.data);
          if (c) await advance(c);
        } else if (owned.size > 0) {
          did = true;
          const next = [...owned.values()].sort((a, b) => a.outcomes.length - b.outcomes.length)[0] as Owned;
          await advance(next);
        }
      } catch (e) {
        log(`benchalign agent: ${describeError(db.infra('taking a job', e))}`);
        await sleep(Math.max(pollMs, 1000), stopping.signal);
      }
      if (!did) await sleep(pollMs, stopping.signal);
    }
  };

  const done = loop().finally(async () => {
    clearInterval(timer);
    await core.shutdown();
    try {
      await db.query("UPDATE fleet_agents SET state = 'stopped', last_seen = now() WHERE agent_id = $1", [agentId]);
      await reapStaleJobs(db);
    } catch (e) {
      log(`benchalign agent: ${describeError(db.infra('signing off', e))}`);
    }
    await db.close();
  });

  return {
    agentId,
    name,
    done,
    stop: async () => {
      // the jobs it owns go back to the queue (its row says 'stopped'), including the running one
      for (const c of owned.values()) c.takenAway ??= 'the agent is stopping';
      if (current?.jobId !== undefined) core.cancel(current.jobId, { code: 'E_INFRA', message: 'the agent is stopping' });
      stopping.abort();
      await done;
    },
  };
}
