/**
 * The JSON-RPC client side of the agent protocol (src/agents/protocol.ts), over any message
 * channel (NDJSON on a child's stdio, WebSocket frames), and the AgentClient built on it:
 * `artifact.has` before each upload, uploads once per agent, `job.run` with progress, a
 * client-side deadline, and `job.cancel` on abort.
 */
import { open, stat } from 'node:fs/promises';
import { describeError } from '../../errors.js';
import type { Job } from '../../model/job.js';
import { RepeatFailure, type RepeatOutcome } from '../../execution/execute-job.js';
import type { AgentDef } from '../../model/agents.js';
import { hashFileCached, modelExtraFiles } from '../artifacts.js';
import {
  AGENT_PROTOCOL_VERSION,
  MAX_CHUNK_BYTES,
  Methods,
  decodeOutcome,
  failureFromError,
  jobLocalFiles,
  toWireJob,
  type ArtifactHasResult,
  type ArtifactPutResult,
  type InfoResult,
  type JobProgressParams,
  type JobRunParams,
  type JobRunResult,
} from '../protocol.js';
import { RpcCode, isNotification, isResponse, parseMessage, rpcRequest, type JsonRpcErrorObject } from '../../rpc/index.js';
import { AgentFailure, type AgentClient, type RepeatRequest } from './types.js';

/** A bidirectional message channel: one JSON-RPC message per `send`/`onMessage`. */
export interface Channel {
  send(text: string): void;
  /** Called once, with why the channel closed. */
  onClose(cb: (reason: string) => void): void;
  onMessage(cb: (text: string) => void): void;
  close(): Promise<void>;
}

/** A JSON-RPC error answer. */
export class RpcCallError extends Error {
  constructor(readonly error: JsonRpcErrorObject) {
    super(error.message);
    this.name = 'RpcCallError';
  }
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

/** Requests with ids, answers matched by id, notifications to listeners; everything pending fails when the channel closes. */
export class RpcConnection {
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private listeners = new Map<string, (params: unknown) => void>();
  private closedReason: string | undefined;
  private closeCbs: Array<(reason: string) => void> = [];

  constructor(
    private readonly channel: Channel,
    private readonly agent: string,
  ) {
    channel.onMessage((text) => this.receive(text));
    channel.onClose((reason) => {
      this.closedReason = reason;
      for (const p of this.pending.values()) p.reject(new AgentFailure(this.agent, reason));
      this.pending.clear();
      for (const cb of this.closeCbs) cb(reason);
    });
  }

  get closed(): string | undefined {
    return this.closedReason;
  }

  onClose(cb: (reason: string) => void): void {
    this.closeCbs.push(cb);
  }

  /** Notifications of `method` go to `cb` (one listener per method). */
  on(method: string, cb: (params: unknown) => void): void {
    this.listeners.set(method, cb);
  }

  call<R>(method: string, params?: unknown): Promise<R> {
    if (this.closedReason !== undefined) return Promise.reject(new AgentFailure(this.agent, this.closedReason));
    const id = this.nextId++;
    return new Promise<R>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      try {
        this.channel.send(JSON.stringify(rpcRequest(id, method, params)));
      } catch (e) {
        this.pending.delete(id);
        reject(new AgentFailure(this.agent, `send failed: ${describeError(e)}`));
      }
    });
  }

  private receive(text: string): void {
    let msg;
    try {
      msg = parseMessage(text);
    } catch (e) {
      process.stderr.write(`benchalign: agent ${this.agent}: ignoring a bad message: ${describeError(e)}\n`);
      return;
    }
    if (isNotification(msg)) {
      this.listeners.get(msg.method)?.(msg.params);
      return;
    }
    if (!isResponse(msg) || typeof msg.id !== 'number') return;
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if ('error' in msg) p.reject(new RpcCallError(msg.error));
    else p.resolve(msg.result);
  }

  async close(): Promise<void> {
    await this.channel.close();
  }
}

/** How a transport opens its channel, and (optionally) uploads an artifact without RPC chunks. */
export interface ChannelFactory {
  open(): Promise<Channel>;
  /** Streamed upload (the daemon's PUT /artifacts/<sha256>); default: `artifact.put` chunks. */
  upload?(sha256: string, localPath: string, size: number): Promise<void>;
}

let jobCounter = 0;

/** Checks the parts of an `info` answer the dispatcher relies on; the message names what is wrong. */
export function checkInfo(v: unknown): InfoResult {
  const o = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
  // Another version first: its other fields (and its error codes) may differ, so they are not judged.
  if (typeof o.protocolVersion === 'number' && o.protocolVersion !== AGENT_PROTOCOL_VERSION) {
    throw new Error(`agent protocol version ${o.protocolVersion}, but this benchalign speaks version ${AGENT_PROTOCOL_VERSION} (docs/agents.md); update benchalign on one side`);
  }
  const problems: string[] = [];
  const labels = o.labels;
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels) || Object.values(labels).some((x) => typeof x !== 'string')) problems.push('labels: expected a mapping of strings');
  const fp = o.fingerprint as Record<string, unknown> | undefined;
  if (typeof fp !== 'object' || fp === null || typeof fp.hash !== 'string') problems.push('fingerprint: expected a device fingerprint with a hash');
  if (!Array.isArray(o.engines)) problems.push('engines: expected a list');
  if (typeof o.busy !== 'boolean') problems.push('busy: expected a boolean');
  if (o.protocolVersion !== AGENT_PROTOCOL_VERSION) problems.push(`protocolVersion: this benchalign speaks ${AGENT_PROTOCOL_VERSION}, the agent ${JSON.stringify(o.protocolVersion)} (update one of them)`);
  if (problems.length > 0) throw new Error(`bad info answer: ${problems.join('; ')}`);
  return v as InfoResult;
}

/** An AgentClient over JSON-RPC: stdio, ssh and http(s) transports differ only in their channel. */
export class RpcAgentClient implements AgentClient {
  private conn: RpcConnection | undefined;
  private connecting: Promise<RpcConnection> | undefined;
  private infoCache: InfoResult | undefined;
  private present = new Map<string, Promise<void>>();
  readonly uploadStats = { bytes: 0, uploaded: 0, skipped: 0 };
  private progressCbs = new Map<string, (params: JobProgressParams) => void>();

  constructor(
    readonly def: AgentDef,
    private readonly factory: ChannelFactory,
  ) {}

  private async connection(): Promise<RpcConnection> {
    if (this.conn && this.conn.closed === undefined) return this.conn;
    if (this.conn?.closed !== undefined) throw new AgentFailure(this.def.name, this.conn.closed);
    this.connecting ??= (async () => {
      const timeout = this.def.connectTimeoutMs;
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new AgentFailure(this.def.name, `no connection within ${timeout} ms`)), timeout);
      });
      try {
        const channel = await Promise.race([this.factory.open(), expired]);
        const conn = new RpcConnection(channel, this.def.name);
        conn.on(Methods.jobProgress, (p) => {
          const params = p as JobProgressParams;
          if (params && typeof params.jobId === 'string') this.progressCbs.get(params.jobId)?.(params);
        });
        this.conn = conn;
        const info = await Promise.race([conn.call<unknown>(Methods.info).then(checkInfo), expired]).catch(async (e: unknown) => {
          await conn.close().catch(() => undefined);
          throw e instanceof AgentFailure ? e : new AgentFailure(this.def.name, `info failed: ${describeError(e)}`);
        });
        this.infoCache = info;
        return conn;
      } catch (e) {
        throw e instanceof AgentFailure ? e : new AgentFailure(this.def.name, describeError(e));
      } finally {
        clearTimeout(timer);
      }
    })();
    try {
      return await this.connecting;
    } catch (e) {
      this.connecting = undefined;
      throw e;
    }
  }

  async info(): Promise<InfoResult> {
    const conn = await this.connection();
    if (this.infoCache) {
      const cached = this.infoCache;
      this.infoCache = undefined;
      return cached;
    }
    try {
      return checkInfo(await conn.call<unknown>(Methods.info));
    } catch (e) {
      throw this.asFailure(e, 'info');
    }
  }

  private asFailure(e: unknown, what: string): Error {
    if (e instanceof AgentFailure) return e;
    if (e instanceof RpcCallError) return new AgentFailure(this.def.name, `${what}: ${e.message} (${e.error.code})`, false);
    return new AgentFailure(this.def.name, `${what}: ${describeError(e)}`);
  }

  /** Makes sure the agent has the artifact: asks first, uploads when missing (once per agent and run). */
  private ensureArtifact(conn: RpcConnection, sha256: string, localPath: string): Promise<void> {
    let p = this.present.get(sha256);
    if (!p) {
      p = (async () => {
        const has = await conn.call<ArtifactHasResult>(Methods.artifactHas, { sha256 });
        if (has.present) {
          this.uploadStats.skipped++;
          return;
        }
        const size = (await stat(localPath)).size;
        if (this.factory.upload) await this.factory.upload(sha256, localPath, size);
        else await uploadByChunks(conn, sha256, localPath, size);
        this.uploadStats.bytes += size;
        this.uploadStats.uploaded++;
      })();
      this.present.set(sha256, p);
      p.catch(() => this.present.delete(sha256));
    }
    return p;
  }

  async runRepeat(job: Job, request: RepeatRequest): Promise<RepeatOutcome> {
    const conn = await this.connection();
    const agentJob: Job = { ...job, model: { ...job.model } };
    delete agentJob.model.reference;
    let layout;
    let wire;
    try {
      layout = jobLocalFiles(agentJob, await modelExtraFiles(job.model.path));
      const shas = new Map<string, string>();
      for (const f of layout.files) shas.set(f.localPath, f.localPath === job.model.path ? job.model.sha256 : await hashFileCached(f.localPath));
      wire = toWireJob(agentJob, layout, (p) => shas.get(p) as string);
      for (const f of layout.files) await this.ensureArtifact(conn, shas.get(f.localPath) as string, f.localPath);
    } catch (e) {
      if (e instanceof AgentFailure) throw e;
      if (e instanceof RpcCallError) throw new AgentFailure(this.def.name, `upload: ${e.message} (${e.error.code})`, false);
      throw new RepeatFailure('errored', `preparing the job for agent ${this.def.name}: ${describeError(e)}`);
    }
    const jobId = `${process.pid}-${Date.now().toString(36)}-${++jobCounter}`;
    const params: JobRunParams = { jobId, job: wire.job, files: wire.files, mode: request.mode, fresh: request.fresh, timeoutMs: request.timeoutMs, ...(request.targetFloor ? { targetFloor: request.targetFloor } : {}) };
    const graceMs = request.timeoutGraceMs;
    let timer: NodeJS.Timeout | undefined;
    let started = false;
    let rejectDeadline: (e: Error) => void = () => undefined;
    const deadline = new Promise<never>((_, reject) => {
      rejectDeadline = reject;
    });
    const arm = (ms: number, why: string): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        conn.call(Methods.jobCancel, { jobId }).catch(() => undefined);
        rejectDeadline(new AgentFailure(this.def.name, why));
        // A stuck agent is not used again in this run.
        setTimeout(() => void this.close().catch(() => undefined), 1000).unref();
      }, ms);
    };
    arm(request.queueTimeoutMs, `job ${job.key} did not start within ${request.queueTimeoutMs} ms (device busy or agent stuck)`);
    this.progressCbs.set(jobId, (p) => {
      if (!started) {
        started = true;
        arm(request.timeoutMs + graceMs, `no answer for job ${job.key} within its timeout ${request.timeoutMs} ms + ${graceMs} ms`);
      }
      request.onProgress?.(p.progress);
    });
    const onAbort = (): void => {
      conn.call(Methods.jobCancel, { jobId }).catch(() => undefined);
    };
    request.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const res = await Promise.race([conn.call<JobRunResult>(Methods.jobRun, params), deadline]);
      try {
        return decodeOutcome(res.outcome);
      } catch (e) {
        throw new AgentFailure(this.def.name, `bad job.run answer: ${describeError(e)}`, false);
      }
    } catch (e) {
      if (e instanceof RpcCallError) {
        if (e.error.code === RpcCode.JobFailed) throw failureFromError(e.error);
        if (e.error.code === RpcCode.ArtifactMissing) {
          this.present.clear();
          throw new AgentFailure(this.def.name, `artifact missing on the agent: ${e.message}`, false);
        }
        if (e.error.code === RpcCode.InvalidParams) throw new RepeatFailure('errored', `agent ${this.def.name} refused the job: ${e.message}`);
        throw new AgentFailure(this.def.name, `job.run: ${e.message} (${e.error.code})`, false);
      }
      throw e;
    } finally {
      clearTimeout(timer);
      this.progressCbs.delete(jobId);
      request.signal?.removeEventListener('abort', onAbort);
    }
  }

  async close(): Promise<void> {
    const c = this.conn;
    if (c) await c.close();
  }
}

/** `artifact.put` chunks in flight at once (the agent handles them in arrival order). */
const UPLOAD_WINDOW = 4;

/** Uploads a file as `artifact.put` chunks of at most MAX_CHUNK_BYTES, in order, a few in flight. */
export async function uploadByChunks(conn: RpcConnection, sha256: string, localPath: string, size: number): Promise<void> {
  const fh = await open(localPath, 'r');
  try {
    const inflight: Array<Promise<ArtifactPutResult>> = [];
    let offset = 0;
    let last: Promise<ArtifactPutResult> | undefined;
    do {
      const buf = Buffer.alloc(Math.min(MAX_CHUNK_BYTES, Math.max(0, size - offset)));
      const { bytesRead } = buf.length > 0 ? await fh.read(buf, 0, buf.length, offset) : { bytesRead: 0 };
      if (bytesRead < buf.length) throw new Error(`${localPath} shrank while uploading (read ${offset + bytesRead} of ${size} bytes)`);
      const final = offset + bytesRead >= size;
      last = conn.call<ArtifactPutResult>(Methods.artifactPut, { sha256, size, offset, data: buf.toString('base64'), final });
      last.catch(() => undefined);
      inflight.push(last);
      offset += bytesRead;
      if (inflight.length >= UPLOAD_WINDOW) await inflight.shift();
    } while (offset < size);
    await Promise.all(inflight);
    const res = await last;
    if (!res?.stored) throw new Error(`artifact ${sha256.slice(0, 12)} not stored after ${offset} of ${size} bytes`);
  } finally {
    await fh.close();
  }
}
