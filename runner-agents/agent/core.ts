/**
 * The agent core, shared by the stdio transport and the daemon: the method handlers of the
 * agent protocol (src/agents/protocol.ts), the artifact store, the exclusive device lease,
 * and job execution (one repeat of one job, through executeRepeat, with one engine runner
 * per engine, disposed after the repeat when the client asks for a fresh process).
 */
import { execFile } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describeError } from '../../src/errors.js';
import { collectFingerprint } from '../../src/metrics/fingerprint.js';
import type { DeviceFingerprint } from '../../src/model/record.js';
import { getRunner, listEngines } from '../../src/runners/registry.js';
import type { Runner } from '../../src/runners/types.js';
import type { WorkerRunnerConfig } from '../../src/runners/worker-runner.js';
import type { Job } from '../../src/model/job.js';
import { VERSION } from '../../src/version.js';
import {
  AGENT_PROTOCOL_VERSION,
  DEFAULT_MAX_ARTIFACT_BYTES,
  MAX_OUTPUTS_BASE64_BYTES,
  Methods,
  encodeOutcome,
  failureData,
  fromWireJob,
  isSafeTreePath,
  isSha256,
  parseArtifactRef,
  type AgentEngineInfo,
  type ArtifactPutParams,
  type InfoResult,
  type JobCancelResult,
  type JobFailureData,
  type JobRunParams,
  type JobRunResult,
  type WireFile,
} from '../../src/agents/protocol.js';
import { RpcCode, RpcError } from '../../src/rpc/index.js';
import { RepeatFailure, executeRepeat } from '../../src/execution/execute-job.js';
import { DeviceLease, type LeaseWaiter } from './lease.js';
import { ArtifactStore } from './store.js';

export interface AgentOptions {
  /** Artifacts, job folders and engine scratch live here. */
  workDir: string;
  /** Labels given on the command line; they override the automatic ones. */
  labels?: Record<string, string>;
  /**
   * Run models that are code: a job's `model.pytorch` form (TorchScript, ExportedProgram, a
   * `file.py:function` factory, all of which execute when loaded). Default false: refused.
   */
  allowCode?: boolean;
  /** Run jobs of the `command` engine, which runs the program a suite names. Default false: refused. */
  allowPrograms?: boolean;
  /** Largest artifact accepted, bytes. Default 4 GiB. */
  maxArtifactBytes?: number;
  /** Log lines (no trailing newline). Default: stderr. */
  log?: (line: string) => void;
  /** Engine runners; default the registry's. */
  createRunner?: (engine: string, config: WorkerRunnerConfig) => Runner;
}

/** One client connection: notifications go back through it, and its jobs end with it. */
export interface AgentSession {
  readonly id: string;
  notify(method: string, params: unknown): void;
}

interface RunningJob {
  session: AgentSession;
  abort: AbortController;
  waiter?: LeaseWaiter;
  /** Pid of the engine worker, once the model is loaded. */
  pid?: number;
  /** Why it was stopped: cancelled, timed out, shutting down. */
  stopReason?: { code: string; message: string };
}

const JOB_ID_RE = /^[A-Za-z0-9._:@/+-]{1,200}$/;

/** The fields of a job's model the agent accepts; any other could carry a path it does not check. */
const MODEL_KEYS = new Set(['name', 'path', 'sha256', 'shapes', 'inputs', 'reference', 'outputs', 'budgets', 'pytorch']);
/** Engine option names that would name a program, library or file on the agent: refused (set on the agent's machine instead). */
const LOCAL_RESOURCE_OPTION = /path|dir|file|exec|command|program|script|plugin|librar/i;

function nvidiaSmiWorks(): Promise<boolean> {
  return new Promise((resolve) => {
    execFile('nvidia-smi', ['-L'], { timeout: 5000 }, (err, stdout) => resolve(err === null && /GPU \d+/.test(String(stdout))));
  });
}

function invalid(message: string): RpcError {
  return new RpcError(RpcCode.InvalidParams, message);
}

function params<T>(p: unknown, method: string): T {
  if (typeof p !== 'object' || p === null || Array.isArray(p)) throw invalid(`${method}: params: expected an object`);
  return p as T;
}

/** A Runner that remembers its worker's pid, so that a cancel can end the worker at once. */
class TrackedRunner implements Runner {
  constructor(
    readonly inner: Runner,
    private readonly onPid: (pid: number) => void,
  ) {}
  get name(): string {
    return this.inner.name;
  }
  available: Runner['available'] = () => this.inner.available();
  prepare: Runner['prepare'] = (m, o) => this.inner.prepare(m, o);
  activate: Runner['activate'] = async (p, m, o) => {
    const a = await this.inner.activate(p, m, o);
    this.onPid(a.pid);
    return a;
  };
  inputMetadata: Runner['inputMetadata'] = () => this.inner.inputMetadata();
  infer: Runner['infer'] = (f) => this.inner.infer(f);
  measure: Runner['measure'] = (f, r) => this.inner.measure(f, r);
  get profile(): Runner['profile'] {
    const inner = this.inner;
    return inner.profile ? (f, r) => (inner.profile as NonNullable<Runner['profile']>).call(inner, f, r) : undefined;
  }
  deactivate: Runner['deactivate'] = () => this.inner.deactivate();
  get lastInferLatencyNs(): number | undefined {
    return this.inner.lastInferLatencyNs;
  }
  stderrTail(n?: number): string {
    return this.inner.stderrTail?.(n) ?? '';
  }
}

export class AgentCore {
  readonly store: ArtifactStore;
  readonly lease = new DeviceLease();
  private readonly workDir: string;
  private readonly userLabels: Record<string, string>;
  private readonly allowCode: boolean;
  private readonly allowPrograms: boolean;
  private readonly log: (line: string) => void;
  private readonly createRunner: (engine: string, config: WorkerRunnerConfig) => Runner;
  private readonly runners = new Map<string, Runner>();
  private readonly jobs = new Map<string, RunningJob>();
  private probe: Promise<{ engines: AgentEngineInfo[]; fingerprint: DeviceFingerprint; gpu: boolean }> | undefined;
  private jobSeq = 0;
  private closing = false;

  constructor(options: AgentOptions) {
    this.workDir = options.workDir;
    this.userLabels = { ...(options.labels ?? {}) };
    this.allowCode = options.allowCode === true;
    this.allowPrograms = options.allowPrograms === true;
    this.log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.createRunner = options.createRunner ?? ((engine, config) => getRunner(engine, config));
    this.store = new ArtifactStore(this.workDir, options.maxArtifactBytes ?? DEFAULT_MAX_ARTIFACT_BYTES);
  }

  /** Creates the work folder and starts probing the engines (holding the lease meanwhile, so no job measures during the probe). */
  async init(): Promise<void> {
    await mkdir(this.workDir, { recursive: true, mode: 0o700 });
    await this.store.init();
    await rm(join(this.workDir, 'jobs'), { recursive: true, force: true });
    await mkdir(join(this.workDir, 'jobs'), { recursive: true });
    await mkdir(join(this.workDir, 'scratch'), { recursive: true });
    const release = this.lease.tryAcquire();
    this.probe = (async () => {
      try {
        const listed = await listEngines();
        const engines: AgentEngineInfo[] = listed.map((e) =>
          e.availability.available
            ? { name: e.name, available: true, version: e.availability.version, devices: e.availability.devices }
            : { name: e.name, available: false, reason: e.availability.reason },
        );
        const versions = Object.fromEntries(engines.filter((e) => e.version !== undefined).map((e) => [e.name, e.version as string]));
        const [fingerprint, gpu] = await Promise.all([collectFingerprint(versions), nvidiaSmiWorks()]);
        return { engines, fingerprint, gpu };
      } finally {
        release?.();
      }
    })();
    this.probe.catch((e: unknown) => this.log(`benchalign agent: engine probe failed: ${describeError(e)}`));
  }

  /** Answers one request. Throws RpcError for a JSON-RPC error. */
  async handle(session: AgentSession, method: string, p: unknown): Promise<unknown> {
    if (this.closing) throw new RpcError(RpcCode.Internal, 'the agent is shutting down');
    switch (method) {
      case Methods.info:
        return this.info();
      case Methods.artifactHas: {
        const { sha256 } = params<{ sha256: unknown }>(p, method);
        return this.store.has(sha256);
      }
      case Methods.artifactPut:
        return this.store.put(params<ArtifactPutParams>(p, method), session.id);
      case Methods.jobRun:
        return this.jobRun(session, params<JobRunParams>(p, method));
      case Methods.jobCancel: {
        const { jobId } = params<{ jobId: unknown }>(p, method);
        if (typeof jobId !== 'string') throw invalid('job.cancel: jobId: expected a string');
        return this.cancel(jobId, { code: 'E_INFRA', message: 'cancelled by the client' });
      }
      default:
        throw new RpcError(RpcCode.MethodNotFound, `unknown method "${method}"`, { expected: Object.values(Methods).filter((m) => m !== Methods.jobProgress) });
    }
  }

  async info(): Promise<InfoResult> {
    if (!this.probe) throw new RpcError(RpcCode.Internal, 'the agent is not initialized');
    const { engines, fingerprint, gpu } = await this.probe;
    const labels: Record<string, string> = { arch: process.arch, os: process.platform };
    if (gpu) labels.gpu = 'nvidia';
    Object.assign(labels, this.userLabels);
    return {
      agentVersion: VERSION,
      protocolVersion: AGENT_PROTOCOL_VERSION,
      fingerprint,
      engines,
      labels,
      busy: this.lease.busy,
      queued: this.lease.queued,
    };
  }

  /** Stops a running or queued job. */
  cancel(jobId: string, reason: { code: string; message: string }): JobCancelResult {
    const j = this.jobs.get(jobId);
    if (!j) return { cancelled: false };
    j.stopReason ??= reason;
    if (j.waiter?.cancel(this.jobError(reason))) return { cancelled: true };
    j.abort.abort();
    if (j.pid !== undefined) {
      try {
        process.kill(j.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    return { cancelled: true };
  }

  /** The connection is gone: its jobs are cancelled and its partial uploads deleted. */
  closeSession(session: AgentSession): void {
    for (const [id, j] of this.jobs) if (j.session === session) this.cancel(id, { code: 'E_INFRA', message: 'the client disconnected' });
    void this.store.abortOwner(session.id);
  }

  /** Cancels every job, ends the engine workers, drops partial uploads. */
  async shutdown(): Promise<void> {
    this.closing = true;
    const running = [...this.jobs.keys()];
    for (const id of running) this.cancel(id, { code: 'E_INFRA', message: 'the agent is shutting down' });
    const deadline = Date.now() + 10_000;
    while (this.jobs.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await this.probe?.catch(() => undefined);
    const disposing = [...this.runners.values()].map((r) => r.dispose?.().catch(() => undefined));
    this.runners.clear();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(disposing), new Promise((r) => (timer = setTimeout(r, 10_000)))]);
    clearTimeout(timer);
    await this.store.close();
  }

  private jobError(reason: { code: string; message: string }): RpcError {
    const data: JobFailureData = { status: 'errored', code: reason.code };
    return new RpcError(RpcCode.JobFailed, reason.message, data);
  }

  private checkRef(ref: unknown, field: string, have: Set<string>): void {
    if (typeof ref !== 'string') throw invalid(`${field}: expected an artifact:<sha256> ref`);
    const sha = parseArtifactRef(ref);
    if (sha === undefined) throw invalid(`${field}: ${JSON.stringify(ref).slice(0, 120)} is not an artifact:<sha256> ref (jobs reference uploaded artifacts only, never paths)`);
    if (!have.has(sha)) throw new RpcError(RpcCode.ArtifactMissing, `${field}: artifact ${sha} is not on this agent`, { sha256: sha });
  }

  private async validate(p: JobRunParams): Promise<void> {
    if (typeof p.jobId !== 'string' || !JOB_ID_RE.test(p.jobId)) throw invalid('job.run: jobId: expected 1-200 characters of [A-Za-z0-9._:@/+-]');
    if (this.jobs.has(p.jobId)) throw invalid(`job.run: jobId "${p.jobId}" is already running or queued`);
    if (p.mode !== 'benchmark' && p.mode !== 'accuracy-only') throw invalid('job.run: mode: expected benchmark | accuracy-only');
    if (typeof p.fresh !== 'boolean') throw invalid('job.run: fresh: expected a boolean');
    if (p.timeoutMs !== undefined && !(typeof p.timeoutMs === 'number' && p.timeoutMs > 0)) throw invalid('job.run: timeoutMs: expected a positive number');
    if (p.wait !== undefined && typeof p.wait !== 'boolean') throw invalid('job.run: wait: expected a boolean');
    if (p.targetFloor !== undefined) {
      const f = p.targetFloor as Record<string, unknown> | null;
      if (typeof f !== 'object' || f === null || Array.isArray(f)) throw invalid('job.run: targetFloor: expected {p50?, p99?}');
      for (const [k, v] of Object.entries(f)) {
        if ((k !== 'p50' && k !== 'p99') || !(typeof v === 'number' && Number.isFinite(v) && v >= 0)) throw invalid(`job.run: targetFloor.${k}: expected p50 or p99, a non-negative number`);
      }
    }
    const job = p.job as Job | undefined;
    if (typeof job !== 'object' || job === null || typeof job.model !== 'object' || job.model === null || typeof job.engine !== 'object' || job.engine === null || typeof job.measurement !== 'object') {
      throw invalid('job.run: job: expected a Job {key, model, engine, measurement}');
    }
    if (typeof job.engine.name !== 'string') throw invalid('job.run: job.engine.name: expected a string');
    const opts: unknown = job.engine.options;
    if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) throw invalid('job.run: job.engine.options: expected an object');
    for (const k of Object.keys(opts)) {
      // The command engine's `program` is what --allow-programs lets a job name (docs/engines.md, "command").
      if (job.engine.name === 'command' && k === 'program') {
        if (!this.allowPrograms) throw invalid('job.run: job.engine.options.program: programs are not allowed here (expected this agent started with --allow-programs)');
        continue;
      }
      if (LOCAL_RESOURCE_OPTION.test(k)) throw invalid(`job.run: job.engine.options.${k}: names a program, library or file on the agent's machine; remote jobs may not set it (configure it on the agent, e.g. its PATH)`);
    }
    for (const k of Object.keys(job.model)) {
      if (!MODEL_KEYS.has(k)) throw invalid(`job.run: job.model.${k}: not accepted by this agent (expected only ${[...MODEL_KEYS].join(', ')})`);
    }
    const torch = (job.model as { pytorch?: { path?: unknown } }).pytorch;
    if (torch !== undefined) {
      if (!this.allowCode) throw invalid('job.run: job.model.pytorch: a PyTorch model form (TorchScript, .pt2, file.py factory) runs code when loaded; this agent refuses it (start it with --allow-code to accept)');
      if (typeof torch !== 'object' || torch === null) throw invalid('job.run: job.model.pytorch: expected {kind, path: artifact:<sha256>, ...}');
    }
    if (typeof job.model.inputs !== 'object' || job.model.inputs === null) throw invalid('job.run: job.model.inputs: expected an inputs spec');
    const inSrc: unknown = job.model.inputs.source;
    if (inSrc !== 'reference' && inSrc !== 'random' && inSrc !== 'onnx-test-data') throw invalid('job.run: job.model.inputs.source: expected reference | random | onnx-test-data');
    if (inSrc === 'onnx-test-data' && !Array.isArray((job.model.inputs as { dataSets?: unknown }).dataSets)) throw invalid('job.run: job.model.inputs.dataSets: expected [tree:<folder>, ...]');
    const ref = job.model.reference as { source?: unknown; dataSets?: unknown } | undefined;
    if (ref !== undefined) {
      if (typeof ref !== 'object' || ref === null || (ref.source !== 'file' && ref.source !== 'onnx-test-data')) throw invalid('job.run: job.model.reference.source: expected file | onnx-test-data');
      if (ref.source === 'onnx-test-data' && !Array.isArray(ref.dataSets)) throw invalid('job.run: job.model.reference.dataSets: expected [tree:<folder>, ...]');
    }
    if (!Array.isArray(p.files)) throw invalid('job.run: files: expected [{path, sha256}]');
    const have = new Set<string>();
    const paths = new Set<string>();
    for (const [i, f] of (p.files as WireFile[]).entries()) {
      if (typeof f !== 'object' || f === null || !isSafeTreePath(f.path)) throw new RpcError(RpcCode.ArtifactRefused, `job.run: files[${i}].path refused: ${JSON.stringify(f?.path)?.slice(0, 120)}`, { expected: 'a relative path of [A-Za-z0-9._+-] segments, no . or ..' });
      if (!isSha256(f.sha256)) throw new RpcError(RpcCode.ArtifactRefused, `job.run: files[${i}].sha256 refused`, { expected: '64 lowercase hex digits' });
      if (paths.has(f.path)) throw invalid(`job.run: files[${i}].path "${f.path}" is listed twice`);
      paths.add(f.path);
      if (!(await this.store.has(f.sha256)).present) throw new RpcError(RpcCode.ArtifactMissing, `job.run: files[${i}] (${f.path}): artifact ${f.sha256} is not on this agent`, { sha256: f.sha256 });
      have.add(f.sha256);
    }
    const refs: Array<[unknown, string]> = [[job.model.path, 'job.model.path']];
    if (job.model.inputs.source === 'reference') refs.push([job.model.inputs.file, 'job.model.inputs.file']);
    if (job.model.reference?.source === 'file') refs.push([job.model.reference.path, 'job.model.reference.path']);
    if (torch !== undefined) refs.push([torch.path, 'job.model.pytorch.path']);
    for (const [ref, field] of refs) {
      if (typeof ref === 'string' && parseArtifactRef(ref) !== undefined && !have.has(parseArtifactRef(ref) as string)) {
        const sha = parseArtifactRef(ref) as string;
        if ((await this.store.has(sha)).present) have.add(sha);
      }
      this.checkRef(ref, field, have);
    }
  }

  private async materialize(p: JobRunParams, dir: string): Promise<Job> {
    const tree = join(dir, 'tree');
    const refsDir = join(dir, 'refs');
    await mkdir(tree, { recursive: true });
    await mkdir(refsDir, { recursive: true });
    const bySha = new Map<string, string>();
    const dirs = new Set<string>();
    for (const f of p.files) {
      const dest = join(tree, ...f.path.split('/'));
      await mkdir(dirname(dest), { recursive: true });
      await this.store.materialize(f.sha256, dest);
      if (!bySha.has(f.sha256)) bySha.set(f.sha256, dest);
      const segs = f.path.split('/');
      for (let i = 1; i < segs.length; i++) dirs.add(segs.slice(0, i).join('/'));
    }
    const extra: Array<Promise<void>> = [];
    const resolveFile = (ref: string, field: string): string => {
      const sha = parseArtifactRef(ref);
      if (sha === undefined) throw invalid(`${field}: expected an artifact:<sha256> ref`);
      const inTree = bySha.get(sha);
      if (inTree !== undefined) return inTree;
      const dest = join(refsDir, sha);
      bySha.set(sha, dest);
      extra.push(this.store.materialize(sha, dest));
      return dest;
    };
    const resolveDir = (ref: string, field: string): string => {
      const rel = typeof ref === 'string' && ref.startsWith('tree:') ? ref.slice(5).replace(/\/+$/, '') : undefined;
      if (rel === undefined || !isSafeTreePath(rel)) throw new RpcError(RpcCode.ArtifactRefused, `${field}: ${JSON.stringify(ref)?.slice(0, 120)} refused`, { expected: 'tree:<relative folder of the job files>' });
      if (!dirs.has(rel)) throw new RpcError(RpcCode.ArtifactMissing, `${field}: no job file lies under "${rel}"`);
      return join(tree, ...rel.split('/'));
    };
    const job = fromWireJob(p.job, resolveFile, resolveDir);
    await Promise.all(extra);
    return job;
  }

  private runnerFor(job: Job): Runner {
    let r = this.runners.get(job.engine.name);
    if (!r) {
      r = this.createRunner(job.engine.name, { requestTimeoutMs: job.measurement.timeoutMs, workDir: join(this.workDir, 'scratch'), allowPrograms: this.allowPrograms });
      this.runners.set(job.engine.name, r);
    }
    return r;
  }

  private async disposeRunner(engine: string): Promise<void> {
    const r = this.runners.get(engine) as (Runner & { dispose?: () => Promise<void> }) | undefined;
    this.runners.delete(engine);
    await r?.dispose?.().catch(() => undefined);
  }

  private async jobRun(session: AgentSession, p: JobRunParams): Promise<JobRunResult> {
    await this.validate(p);
    const entry: RunningJob = { session, abort: new AbortController() };
    this.jobs.set(p.jobId, entry);
    let release: (() => void) | undefined;
    const dir = join(this.workDir, 'jobs', String(++this.jobSeq));
    try {
      if (p.wait === false) {
        release = this.lease.tryAcquire();
        if (!release) throw new RpcError(RpcCode.Busy, 'the agent is busy with another job', { queued: this.lease.queued });
      } else {
        entry.waiter = this.lease.acquire();
        release = await entry.waiter.acquired;
        delete entry.waiter;
      }
      if (entry.stopReason) throw this.jobError(entry.stopReason);
      this.log(`benchalign agent: job ${p.jobId} (${p.job.key}) started`);
      const job = await this.materialize(p, dir);
      const runner = this.runnerFor(job);
      const tracked = new TrackedRunner(runner, (pid) => {
        entry.pid = pid;
      });
      let timer: NodeJS.Timeout | undefined;
      if (p.timeoutMs !== undefined) {
        timer = setTimeout(() => this.cancel(p.jobId, { code: 'E_TIMEOUT', message: `the job ran past its timeout of ${p.timeoutMs} ms` }), p.timeoutMs);
      }
      try {
        const outcome = await executeRepeat(job, tracked, {
          mode: p.mode,
          ...(p.targetFloor ? { targetFloor: p.targetFloor } : {}),
          signal: entry.abort.signal,
          onProgress: (progress) => session.notify(Methods.jobProgress, { jobId: p.jobId, progress }),
        });
        if (entry.stopReason) throw this.jobError(entry.stopReason);
        if (p.fresh) await this.disposeRunner(job.engine.name);
        else await runner.deactivate().catch(() => undefined);
        const wire = encodeOutcome(outcome);
        const outputsBytes = wire.outputs.reduce((n, t) => n + t.npy.length, 0);
        if (outputsBytes > MAX_OUTPUTS_BASE64_BYTES) {
          throw new RpcError(RpcCode.JobFailed, `the outputs take ${outputsBytes} bytes in base64, over the protocol's ${MAX_OUTPUTS_BASE64_BYTES} per result`, { status: 'errored', code: 'E_UNSUPPORTED' } satisfies JobFailureData);
        }
        this.log(`benchalign agent: job ${p.jobId} done`);
        return { outcome: wire };
      } catch (e) {
        await this.disposeRunner(job.engine.name);
        if (entry.stopReason) throw this.jobError(entry.stopReason);
        if (e instanceof RepeatFailure) throw new RpcError(RpcCode.JobFailed, e.message, failureData(e));
        throw e;
      } finally {
        if (timer) clearTimeout(timer);
      }
    } catch (e) {
      if (e instanceof RpcError) {
        if (e.code === RpcCode.JobFailed) this.log(`benchalign agent: job ${p.jobId} failed: ${e.message.split('\n')[0]}`);
        throw e;
      }
      throw new RpcError(RpcCode.JobFailed, describeError(e), { status: 'errored', code: (e as { code?: string }).code } satisfies Partial<JobFailureData>);
    } finally {
      release?.();
      this.jobs.delete(p.jobId);
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    }
  }
}
