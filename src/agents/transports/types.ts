/**
 * What the dispatcher needs of an agent, whatever the transport: its `info`, and one repeat
 * of one job. Failures come in two kinds: a RepeatFailure is the job's own outcome (the
 * engine failed; not retried), an AgentFailure is the agent's (transport closed, process
 * died, timeout, refused connection; retried on another agent).
 */
import { BenchalignError } from '../../errors.js';
import type { Job } from '../../model/job.js';
import type { JobProgress, RepeatOutcome, RunMode } from '../../execution/execute-job.js';
import type { AgentDef } from '../../model/agents.js';
import type { InfoResult } from '../protocol.js';

export interface RepeatRequest {
  mode: RunMode;
  /** End the engine worker after this repeat, so the next repeat starts a fresh process. */
  fresh: boolean;
  /** The job's own time limit (the agent kills the worker past it), ms. */
  timeoutMs: number;
  /** Longest wait for the agent's device while another client holds it, ms. */
  queueTimeoutMs: number;
  /** Once the job started, silence past `timeoutMs` plus this is an agent failure (stuck agent), ms. */
  timeoutGraceMs: number;
  onProgress?: (p: JobProgress) => void;
  /** Aborting cancels the job on the agent. */
  signal?: AbortSignal;
}

export interface AgentClient {
  readonly def: AgentDef;
  /** Connects when needed. Throws AgentFailure. */
  info(): Promise<InfoResult>;
  /** Uploads what the job needs (once per agent), runs one repeat. Throws RepeatFailure or AgentFailure. */
  runRepeat(job: Job, request: RepeatRequest): Promise<RepeatOutcome>;
  /** Bytes uploaded so far, and artifacts skipped because the agent had them. */
  readonly uploadStats: { bytes: number; uploaded: number; skipped: number };
  close(): Promise<void>;
}

/** The agent, not the job, failed: unreachable, closed, died, timed out, refused. Retried elsewhere. */
export class AgentFailure extends BenchalignError {
  constructor(
    readonly agent: string,
    message: string,
    /** The agent is unusable for the rest of the run (its connection is gone). */
    readonly fatal = true,
  ) {
    super('E_INFRA', `agent ${agent}: ${message}`);
    this.name = 'AgentFailure';
  }
}
