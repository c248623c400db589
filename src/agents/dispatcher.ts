/**
 * The dispatcher: runs the (job × repeat) matrix across runner agents. Every agent runs one
 * job at a time; the agents run concurrently. A job goes to an agent whose labels match its
 * needs and stays there for all its repeats (its statistics combine repeats of one device);
 * each agent takes the eligible job with the fewest repeats done, so repeats interleave.
 *
 * Failures of the agent (connection lost, process killed, timeout, refused) are retried on
 * another matching agent, up to `maxAttempts` per job; the repeats already done on the lost
 * agent are discarded then (another device). A failure of the job itself (the engine) is
 * final, as in a local run. Either way every other job's result is kept.
 */
import { describeError } from '../errors.js';
import type { DeviceFingerprint } from '../model/record.js';
import type { Job } from '../model/job.js';
import { RepeatFailure, type RepeatOutcome, type RunMode, type TargetFloor } from '../execution/execute-job.js';
import type { AgentDef } from '../model/agents.js';
import type { JobFailure } from '../execution/job-result.js';
import type { RepeatsStop } from '../model/measurements.js';
import type { RepeatDecision } from '../metrics/repeat-stopping.js';
import type { ProgressReporter } from './progress.js';
import type { InfoResult } from './protocol.js';
import { effectiveLabels, formatLabels, jobNeeds, labelsMatch, missingLabels } from './selection.js';
import { AgentFailure, type AgentClient } from './transports/types.js';

/** An agent as the run sees it. */
export interface AgentRunState {
  def: AgentDef;
  client: AgentClient;
  /** Configured labels merged with the agent's own; known once it answered `info`. */
  labels: Record<string, string>;
  info?: InfoResult;
  /** Why the agent is out of the run. */
  lost?: string;
  jobsRun: number;
}

/** How a job ended on the agents. */
type JobEnd =
  | { kind: 'done'; job: Job; outcomes: RepeatOutcome[]; agent: AgentRunState; attempts: number; notes: string[]; repeatsStop?: RepeatsStop }
  | { kind: 'failed'; job: Job; failure: JobFailure; agent?: AgentRunState; attempts: number; notes: string[] };
export type DispatchedJob = JobEnd & {
  /** When its first repeat started (ISO 8601); when it ended, for a job that never started. */
  startedAt: string;
};

export interface DispatchOptions {
  jobs: readonly Job[];
  repeats: number;
  mode: RunMode;
  agents: readonly AgentClient[];
  /** Attempts per job over agent failures. */
  maxAttempts: number;
  queueTimeoutMs: number;
  /** Silence past a job's timeoutMs plus this is an agent failure, ms. */
  timeoutGraceMs: number;
  progress: ProgressReporter;
  signal?: AbortSignal;
  /**
   * Match job labels against agent labels (default true). False for the implicit local agent
   * of a run without agents: every job runs here, and an engine that cannot says why itself.
   */
  matchLabels?: boolean;
  /**
   * The stopping target floor of a job's next repeat, given the repeats it has on `agent`
   * (docs/methodology.md, "Stopping"); absent or undefined: the suite's targets.
   */
  targetFloor?: (job: Job, outcomes: readonly RepeatOutcome[], agent: AgentRunState) => Promise<TargetFloor | undefined>;
  /**
   * Adaptive repeats: asked after each finished repeat from the `repeats`-th on, with the
   * job's repeats and the time they took together (ms); `more` runs one more repeat of the
   * job (docs/methodology.md, "Adaptive repeats"). Absent: exactly `repeats` repeats.
   */
  moreRepeats?: (job: Job, outcomes: readonly RepeatOutcome[], spentMs: number) => RepeatDecision;
  /** Called once per job as soon as it ends (all its repeats done, or failed); awaited. It may return the job's one-line summary for progress. */
  onJobEnd: (r: DispatchedJob) => Promise<string | void>;
}

export interface DispatchSummary {
  agents: AgentRunState[];
  /** Jobs interrupted (signal) with the repeats they had. */
  interrupted: Array<{ job: Job; outcomes: RepeatOutcome[]; agent: AgentRunState; startedAt: string }>;
  /** Some agent could not be reached or was lost. */
  agentProblems: boolean;
}

interface JobState {
  job: Job;
  index: number;
  needs: Record<string, string>;
  outcomes: RepeatOutcome[];
  pinned?: AgentRunState;
  running: boolean;
  ended: boolean;
  attempts: number;
  notes: string[];
  failures: string[];
  /** Agents that failed this job: others are preferred. */
  avoid: Set<AgentRunState>;
  startedAt?: string;
  /** Time its repeats took together (on the agent it is pinned to), ms. */
  spentMs: number;
}

/** The url and fingerprint of the agent, for a job's record. */
export function agentRecord(a: AgentRunState, attempts: number): { name: string; url: string; fingerprintHash?: string; attempts?: number } {
  return {
    name: a.def.name,
    url: a.def.url,
    ...(a.info?.fingerprint.hash !== undefined ? { fingerprintHash: a.info.fingerprint.hash } : {}),
    ...(attempts > 1 ? { attempts } : {}),
  };
}

export function agentDevice(a: AgentRunState): DeviceFingerprint | undefined {
  return a.info?.fingerprint;
}

export async function dispatch(options: DispatchOptions): Promise<DispatchSummary> {
  const { repeats, progress } = options;
  const agents: AgentRunState[] = options.agents.map((client) => ({ def: client.def, client, labels: { ...client.def.labels }, jobsRun: 0 }));
  let agentProblems = false;

  await Promise.all(
    agents.map(async (a) => {
      try {
        a.info = await a.client.info();
        a.labels = effectiveLabels(a.def.labels, a.info.labels);
        progress.agentStatus?.(a.def.name, `ready (${formatLabels(a.labels)}${a.info.busy ? `; busy, ${a.info.queued} queued` : ''})`);
      } catch (e) {
        a.lost = `unreachable: ${describeError(e).replace(/^agent \S+: /, '')}`;
        agentProblems = true;
        progress.agentStatus?.(a.def.name, a.lost);
      }
    }),
  );

  const states: JobState[] = options.jobs.map((job, index) => ({ job, index, needs: jobNeeds(job), outcomes: [], running: false, ended: false, attempts: 0, notes: [], failures: [], avoid: new Set(), spentMs: 0 }));
  const live = (): AgentRunState[] => agents.filter((a) => a.lost === undefined);
  const canRun = (a: AgentRunState, s: JobState): boolean => a.lost === undefined && (options.matchLabels === false || labelsMatch(a.labels, s.needs));

  let wake: () => void = () => undefined;
  let changed = new Promise<void>((r) => (wake = r));
  const notify = (): void => {
    const w = wake;
    changed = new Promise<void>((r) => (wake = r));
    w();
  };

  const end = async (s: JobState, r: JobEnd, label: string, summary: string, agent?: string): Promise<void> => {
    s.ended = true;
    s.running = false;
    const recorded = await options.onJobEnd({ ...r, startedAt: s.startedAt ?? new Date().toISOString() });
    progress.jobFinished(label, recorded ?? summary, agent);
  };

  /** Why no agent can run `s`, for its record. */
  const noAgentReason = (s: JobState): string => {
    const parts = agents.map((a) => {
      if (a.lost !== undefined) return `${a.def.name}: ${a.lost}`;
      const miss = missingLabels(a.labels, s.needs);
      return `${a.def.name}: lacks ${miss.join(', ')}`;
    });
    const needs = Object.keys(s.needs).length > 0 ? `labels ${formatLabels(s.needs)}` : 'no labels';
    const tried = s.failures.length > 0 ? `; agent failures: ${s.failures.join('; ')}` : '';
    return `no runner agent can run this job (needs ${needs}): ${parts.join('; ')}${tried}`;
  };

  const failUnrunnable = async (): Promise<void> => {
    for (const s of states) {
      if (s.ended || s.running || s.pinned !== undefined) continue;
      if (live().some((a) => canRun(a, s))) continue;
      await end(s, { kind: 'failed', job: s.job, failure: { status: 'errored', reason: noAgentReason(s), code: 'E_INFRA' }, attempts: s.attempts, notes: s.notes }, s.job.key, 'errored: no matching agent');
    }
  };

  let step = 0;
  const pick = (a: AgentRunState): JobState | undefined => {
    let best: JobState | undefined;
    for (const s of states) {
      if (s.ended || s.running || !canRun(a, s)) continue;
      if (s.pinned !== undefined && s.pinned !== a) continue;
      if (s.avoid.has(a) && live().some((b) => b !== a && !s.avoid.has(b) && canRun(b, s))) continue;
      if (!best || s.outcomes.length < best.outcomes.length) best = s;
    }
    return best;
  };

  const agentLoop = async (a: AgentRunState): Promise<void> => {
    while (a.lost === undefined && !options.signal?.aborted) {
      const s = pick(a);
      if (!s) {
        const mayGetWork = states.some((x) => !x.ended && canRun(a, x));
        if (!mayGetWork) return;
        await changed;
        continue;
      }
      s.running = true;
      s.pinned = a;
      s.startedAt ??= new Date().toISOString();
      const rep = s.outcomes.length;
      const label = `${s.job.model.name} × ${s.job.engine.name}${repeats > 1 || rep > 0 ? ` (repeat ${rep + 1}/${repeats}${rep >= repeats ? ', added' : ''})` : ''}`;
      progress.jobStarted(step++, label, a.def.name);
      try {
        const floor = options.targetFloor ? await options.targetFloor(s.job, s.outcomes, a) : undefined;
        const t0 = performance.now();
        const o = await a.client.runRepeat(s.job, {
          mode: options.mode,
          fresh: repeats > 1 || options.moreRepeats !== undefined,
          timeoutMs: s.job.measurement.timeoutMs,
          queueTimeoutMs: options.queueTimeoutMs,
          timeoutGraceMs: options.timeoutGraceMs,
          ...(floor ? { targetFloor: floor } : {}),
          onProgress: (p) => progress.jobProgress(p, a.def.name),
          ...(options.signal ? { signal: options.signal } : {}),
        });
        a.jobsRun++;
        s.spentMs += performance.now() - t0;
        s.outcomes.push(o);
        s.running = false;
        const decision = s.outcomes.length >= repeats && options.moreRepeats ? options.moreRepeats(s.job, s.outcomes, s.spentMs) : undefined;
        if (s.outcomes.length >= repeats && decision?.more !== true) {
          const repeatsStop = decision?.more === false ? decision.stop : undefined;
          await end(s, { kind: 'done', job: s.job, outcomes: s.outcomes, agent: a, attempts: s.attempts + 1, notes: s.notes, ...(repeatsStop ? { repeatsStop } : {}) }, label, 'done', a.def.name);
        } else {
          if (decision?.more === true) progress.addSteps?.(1);
          progress.jobFinished(label, decision?.more === true ? `repeat done; one more${decision.halfWidthPct !== undefined ? ` (p50 ±${decision.halfWidthPct.toFixed(2)}%)` : ''}` : 'repeat done', a.def.name);
        }
      } catch (e) {
        s.running = false;
        if (options.signal?.aborted) break;
        if (e instanceof AgentFailure) {
          s.attempts++;
          const why = describeError(e);
          s.failures.push(why);
          if (e.fatal) {
            a.lost = `lost: ${why.replace(/^agent \S+: /, '')}`;
            agentProblems = true;
            progress.agentStatus?.(a.def.name, a.lost);
          }
          s.avoid.add(a);
          if (s.outcomes.length > 0) s.notes.push(`${s.outcomes.length} repeat(s) run on agent ${a.def.name} were discarded when it failed (${why}); the job was run again from its first repeat`);
          s.outcomes = [];
          s.spentMs = 0;
          s.pinned = undefined;
          if (s.attempts >= options.maxAttempts) {
            const reason = `${s.attempts} attempt(s) on runner agents failed: ${s.failures.join('; ')}`;
            await end(s, { kind: 'failed', job: s.job, failure: { status: 'errored', reason, code: 'E_INFRA' }, agent: a, attempts: s.attempts, notes: s.notes }, label, `errored: ${why}`, a.def.name);
          } else {
            progress.jobFinished(label, `agent failure, retrying elsewhere (${s.attempts}/${options.maxAttempts}): ${why}`, a.def.name);
          }
        } else {
          const f = e instanceof RepeatFailure ? e : new RepeatFailure('errored', describeError(e));
          const failure: JobFailure = { status: f.status, reason: f.message, ...(f.stderrTail ? { stderrTail: f.stderrTail } : {}), ...(f.code ? { code: f.code } : {}) };
          await end(s, { kind: 'failed', job: s.job, failure, agent: a, attempts: s.attempts + 1, notes: s.notes }, label, `${f.status}: ${f.message.split('\n')[0]}`, a.def.name);
        }
        await failUnrunnable();
      } finally {
        notify();
      }
    }
  };

  await failUnrunnable();
  await Promise.all(live().map(agentLoop));
  // Agents all gone (or none could ever run them): what is left cannot run.
  if (!options.signal?.aborted) {
    for (const s of states) {
      if (!s.ended) await end(s, { kind: 'failed', job: s.job, failure: { status: 'errored', reason: noAgentReason(s), code: 'E_INFRA' }, attempts: s.attempts, notes: s.notes }, s.job.key, 'errored: no agent left');
    }
  }
  const interrupted = states.filter((s) => !s.ended && s.outcomes.length > 0 && s.pinned !== undefined).map((s) => ({ job: s.job, outcomes: s.outcomes, agent: s.pinned as AgentRunState, startedAt: s.startedAt ?? new Date().toISOString() }));
  return { agents, interrupted, agentProblems };
}
