/**
 * The local transport: this process is the agent (no RPC, no uploads). Each engine has one
 * Runner (one worker process), ended after a repeat when a fresh process is asked, exactly as
 * `benchalign run` does without agents.
 */
import os from 'node:os';
import { describeError } from '../../errors.js';
import { collectFingerprint } from '../../metrics/fingerprint.js';
import type { DeviceFingerprint } from '../../model/record.js';
import { findOnPath } from '../../metrics/samplers/nvidia-smi.js';
import { getRunner, listEngines } from '../../runners/registry.js';
import type { Runner } from '../../runners/types.js';
import type { Job } from '../../model/job.js';
import { VERSION } from '../../version.js';
import { executeRepeat, type RepeatOutcome } from '../../execution/execute-job.js';
import type { AgentDef } from '../../model/agents.js';
import { AGENT_PROTOCOL_VERSION, type AgentEngineInfo, type InfoResult } from '../protocol.js';
import type { AgentClient, RepeatRequest } from './types.js';

/** The labels every agent reports about itself: arch, os, and gpu=nvidia when nvidia-smi is there. */
export function automaticLabels(): Record<string, string> {
  const labels: Record<string, string> = { arch: process.arch, os: process.platform };
  if (findOnPath('nvidia-smi') !== undefined) labels.gpu = 'nvidia';
  return labels;
}

export class LocalAgentClient implements AgentClient {
  private runners = new Map<string, Runner>();
  private busy = false;
  readonly uploadStats = { bytes: 0, uploaded: 0, skipped: 0 };

  private infoOnce: Promise<InfoResult> | undefined;

  /**
   * `listEngines`: also report every engine (starts each engine's worker once; for probe).
   * `engineJobs`: report the engines of these jobs (one job per engine), through the runners
   * the jobs will use, so the device fingerprint names their versions (a run on this machine).
   */
  constructor(
    readonly def: AgentDef,
    private readonly options: { listEngines?: boolean; engineJobs?: readonly Job[] } = {},
  ) {}

  /** Collected once: the fingerprint does not change during a run. */
  info(): Promise<InfoResult> {
    this.infoOnce ??= this.collectInfo();
    return this.infoOnce;
  }

  private async collectInfo(): Promise<InfoResult> {
    const engines: AgentEngineInfo[] = [];
    if (this.options.listEngines) {
      for (const e of await listEngines()) {
        engines.push(e.availability.available ? { name: e.name, available: true, version: e.availability.version, devices: e.availability.devices } : { name: e.name, available: false, reason: e.availability.reason });
      }
    }
    for (const job of this.options.engineJobs ?? []) {
      const a = await this.runnerFor(job).available();
      engines.push(a.available ? { name: job.engine.name, available: true, version: a.version, devices: a.devices } : { name: job.engine.name, available: false, reason: a.reason });
    }
    const versions = Object.fromEntries(engines.filter((e) => e.version !== undefined).map((e) => [e.name, e.version as string]));
    let fingerprint: DeviceFingerprint;
    try {
      fingerprint = await collectFingerprint(versions);
    } catch (e) {
      // A run here goes on without the full fingerprint; what node:os knows is recorded instead.
      process.stderr.write(`benchalign: warning: could not fingerprint the device: ${describeError(e)}\n`);
      fingerprint = { hostname: os.hostname(), cpuModel: os.cpus()[0]?.model ?? 'unknown', cpuCores: os.cpus().length, arch: process.arch, memoryBytes: os.totalmem(), os: process.platform, kernel: os.release(), gpus: [], engineVersions: versions, hash: 'unknown' };
    }
    return {
      agentVersion: VERSION,
      protocolVersion: AGENT_PROTOCOL_VERSION,
      fingerprint,
      engines,
      labels: automaticLabels(),
      busy: this.busy,
      queued: 0,
    };
  }

  private runnerFor(job: Job): Runner {
    let r = this.runners.get(job.engine.name);
    if (!r) {
      r = getRunner(job.engine.name, { requestTimeoutMs: job.measurement.timeoutMs });
      this.runners.set(job.engine.name, r);
    }
    return r;
  }

  private async dispose(name: string): Promise<void> {
    const r = this.runners.get(name) as (Runner & { dispose?: () => Promise<void> }) | undefined;
    this.runners.delete(name);
    await r?.dispose?.();
  }

  async runRepeat(job: Job, request: RepeatRequest): Promise<RepeatOutcome> {
    this.busy = true;
    try {
      const o = await executeRepeat(job, this.runnerFor(job), {
        mode: request.mode,
        ...(request.onProgress ? { onProgress: request.onProgress } : {}),
        ...(request.signal ? { signal: request.signal } : {}),
      });
      if (request.fresh) await this.dispose(job.engine.name);
      return o;
    } finally {
      this.busy = false;
    }
  }

  async close(): Promise<void> {
    for (const name of [...this.runners.keys()]) await this.dispose(name).catch(() => undefined);
  }
}
