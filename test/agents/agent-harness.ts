/**
 * Test harness for the agent: starts real `benchalign agent serve|stdio` processes and talks
 * to them with a minimal JSON-RPC client (WebSocket or NDJSON on stdio). The coordinator's
 * real client lives in src/agents; this one only exists to drive the agent in tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import WebSocket from 'ws';
import {
  NdjsonSplitter,
  encodeLine,
  jobLocalFiles,
  parseMessage,
  rpcRequest,
  toWireJob,
  type JobRunParams,
  type JsonRpcErrorObject,
  type JsonRpcMessage,
} from '../../src/agents/protocol.js';
import type { Job } from '../../src/model/job.js';
import { REPO } from './helpers.js';

export const BIN = join(REPO, 'bin/benchalign.js');

export class RpcFailure extends Error {
  constructor(readonly error: JsonRpcErrorObject) {
    super(`${error.code}: ${error.message}`);
  }
  get code(): number {
    return this.error.code;
  }
  get data(): unknown {
    return this.error.data;
  }
}

export interface Notification {
  method: string;
  params: unknown;
  atMs: number;
}

/** A JSON-RPC client over any message transport. */
export class TestClient {
  private nextId = 1;
  private readonly pending = new Map<number | string, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly notifications: Notification[] = [];
  /** Responses with a null id (parse errors). */
  readonly orphanErrors: JsonRpcErrorObject[] = [];

  constructor(
    private readonly sendText: (text: string) => void,
    readonly closeTransport: () => void,
  ) {}

  receive(text: string): void {
    const m = parseMessage(text) as JsonRpcMessage & { id?: number | string | null; result?: unknown; error?: JsonRpcErrorObject; method?: string; params?: unknown };
    if (m.method !== undefined) {
      this.notifications.push({ method: m.method, params: m.params, atMs: performance.now() });
      return;
    }
    if (m.id === null || m.id === undefined) {
      if (m.error) this.orphanErrors.push(m.error);
      return;
    }
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.error) p.reject(new RpcFailure(m.error));
    else p.resolve(m.result);
  }

  failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  call<T = unknown>(method: string, params?: unknown): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.sendText(JSON.stringify(rpcRequest(id, method, params)));
    });
  }

  sendRaw(text: string): void {
    this.sendText(text);
  }

  /** Uploads bytes with artifact.put in chunks, up to `window` chunks in flight; returns the sha256. */
  async upload(bytes: Uint8Array, chunkBytes = 1 << 20, window = 1): Promise<string> {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const inFlight = new Set<Promise<unknown>>();
    let offset = 0;
    do {
      const chunk = bytes.subarray(offset, Math.min(bytes.length, offset + chunkBytes));
      const final = offset + chunk.length >= bytes.length;
      const p = this.call('artifact.put', { sha256, size: bytes.length, offset, data: Buffer.from(chunk).toString('base64'), final });
      inFlight.add(p);
      void p.then(
        () => inFlight.delete(p),
        () => inFlight.delete(p),
      );
      offset += chunk.length;
      if (inFlight.size >= window) await Promise.race(inFlight);
    } while (offset < bytes.length);
    await Promise.all(inFlight);
    return sha256;
  }

  async uploadFile(path: string): Promise<string> {
    return this.upload(readFileSync(path));
  }
}

export function connectWs(url: string, options: { token?: string; ca?: Buffer } = {}): Promise<TestClient> {
  const headers: Record<string, string> = options.token !== undefined ? { authorization: `Bearer ${options.token}` } : {};
  const ws = new WebSocket(url, { headers, ...(options.ca ? { ca: options.ca } : {}) });
  const client = new TestClient(
    (t) => ws.send(t),
    () => ws.close(),
  );
  ws.on('message', (d) => client.receive(String(d)));
  ws.on('close', () => client.failAll(new Error('connection closed')));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(client));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

export interface AgentProcess {
  proc: ChildProcess;
  stderr(): string;
  exited: Promise<number | null>;
}

function spawnAgent(args: string[], env: NodeJS.ProcessEnv = {}): AgentProcess {
  const proc = spawn(process.execPath, [BIN, 'agent', ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return { proc, stderr: () => err, exited };
}

/** Starts `benchalign agent serve` and waits for its listening line. */
export async function startDaemonProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<AgentProcess & { url: string; httpBase: string }> {
  const a = spawnAgent(['serve', ...args], env);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line in 30 s: ${a.stderr()}`)), 30_000);
    const check = (): void => {
      const m = /listening on (\S+)/.exec(a.stderr());
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    };
    a.proc.stderr?.on('data', check);
    void a.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`agent exited with ${code}: ${a.stderr()}`));
    });
  });
  const httpBase = url.replace(/^ws/, 'http').replace(/\/rpc$/, '');
  return { ...a, url, httpBase };
}

/** Starts `benchalign agent stdio` with a client on its pipes; checks every stdout line is protocol. */
export function startStdioAgent(args: string[]): AgentProcess & { client: TestClient; badLines: string[] } {
  const a = spawnAgent(['stdio', ...args]);
  const badLines: string[] = [];
  const client = new TestClient(
    (t) => a.proc.stdin?.write(`${t}\n`),
    () => a.proc.stdin?.end(),
  );
  const splitter = new NdjsonSplitter((line) => {
    try {
      client.receive(line);
    } catch {
      badLines.push(line);
    }
  });
  a.proc.stdout?.on('data', (d: Buffer) => splitter.push(d));
  void a.exited.then(() => client.failAll(new Error('agent exited')));
  return { ...a, client, badLines };
}

export async function stopProcess(a: AgentProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (a.proc.exitCode === null && a.proc.signalCode === null) a.proc.kill(signal);
  return a.exited;
}

export { encodeLine };

/** Uploads every file a job needs and returns the job.run params for it. */
export async function wireJobFor(client: TestClient, job: Job, jobId: string, extra: Partial<JobRunParams> = {}): Promise<JobRunParams> {
  const layout = jobLocalFiles(job);
  const shas = new Map<string, string>();
  for (const f of layout.files) shas.set(f.localPath, await client.uploadFile(f.localPath));
  const { job: wire, files } = toWireJob(job, layout, (p) => {
    const s = shas.get(p);
    if (s === undefined) throw new Error(`not uploaded: ${p}`);
    return s;
  });
  return { jobId, job: wire, files, mode: 'benchmark', fresh: true, ...extra };
}

export interface HttpAnswer {
  status: number;
  body: string;
}

/** One raw HTTP(S) request; `path` is sent as is (no normalization). */
export function httpRequest(
  base: string,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: Buffer | AsyncIterable<Buffer>; ca?: Buffer } = {},
): Promise<HttpAnswer> {
  const u = new URL(base);
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(
      { host: u.hostname, port: u.port, method, path, headers: options.headers ?? {}, ...(options.ca ? { ca: options.ca } : {}) },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => {
          body += d.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    const b = options.body;
    if (b === undefined) req.end();
    else if (Buffer.isBuffer(b)) req.end(b);
    else {
      void (async () => {
        try {
          for await (const chunk of b) {
            if (req.destroyed) return;
            if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
          }
          req.end();
        } catch (e) {
          req.destroy(e as Error);
        }
      })();
    }
  });
}
