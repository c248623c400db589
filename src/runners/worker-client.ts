/**
 * The harness side of the worker protocol: one engine worker process, its requests, and
 * what happened when it died (crash, timeout, memory limit), with its stderr tail.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { BenchalignError, type ErrorCode } from '../errors.js';
import { NdjsonSplitter, RpcCode, encodeLine, isResponse, isStandardCode, parseMessage, rpcRequest, type JsonRpcMessage } from '../rpc/index.js';
import type { WorkerErrorObject, WorkerResponse } from './protocol.js';
import type { WorkerCommand } from './worker-entry.js';

/** Limits and bookkeeping for one worker. */
export interface WorkerProcessOptions {
  /** Name used in messages. Default `"worker"`. */
  label?: string;
  /** Timeout of a request when the call gives none, milliseconds. Default 120000. */
  requestTimeoutMs?: number;
  /**
   * Kill the worker once its resident set exceeds this many bytes, and fail the request in
   * flight with E_WORKER "out of memory". Default: no limit.
   */
  maxRssBytes?: number;
  /** How often the RSS watchdog reads /proc/<pid>/status, milliseconds. Default 50. */
  rssPollMs?: number;
  /** Bytes of stderr kept. Default 65536. */
  stderrTailBytes?: number;
  /** Working directory of the worker. Default: the harness's. */
  cwd?: string;
}

/** How a worker process ended. */
export interface WorkerExit {
  pid: number;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** One line, e.g. "killed by SIGSEGV (segmentation fault)". */
  reason: string;
}

/** A failed request: the error code and, when the worker died, how and its stderr tail. */
/**
 * What to do when the harness process exits (kill the workers still alive). One `exit` listener
 * for all of them: a listener per worker trips Node's 10-listener warning as soon as eleven
 * workers are alive at once (`engines list` probes every engine side by side).
 */
const harnessExitHooks = new Set<() => void>();
let harnessExitListening = false;
function onHarnessExit(hook: () => void): void {
  if (!harnessExitListening) process.on('exit', runHarnessExitHooks);
  harnessExitListening = true;
  harnessExitHooks.add(hook);
}
function runHarnessExitHooks(): void {
  for (const hook of harnessExitHooks) hook();
}

export class WorkerFailure extends BenchalignError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly stderrTail: string,
    readonly exit?: WorkerExit,
    readonly rpcError?: WorkerErrorObject,
  ) {
    super(code, message);
  }
}

interface Pending {
  method: string;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  timer: NodeJS.Timeout | undefined;
}

interface Live {
  child: ChildProcess;
  pid: number;
  pending: Map<number, Pending>;
  killedFor?: { kind: 'timeout'; method: string; timeoutMs: number } | { kind: 'rss'; rssBytes: number };
  exited: boolean;
  closed: Promise<void>;
  watchdog?: NodeJS.Timeout;
}

const SIGNAL_WORDS: Partial<Record<NodeJS.Signals, string>> = {
  SIGSEGV: 'segmentation fault',
  SIGABRT: 'aborted',
  SIGBUS: 'bus error',
  SIGILL: 'illegal instruction',
  SIGFPE: 'floating-point exception',
  SIGKILL: 'killed; the kernel OOM killer does this when memory runs out',
};

/** A one-line reason for how a process ended, from its exit and stderr. Pure. */
export function describeExit(exitCode: number | null, signal: NodeJS.Signals | null, stderrTail: string): string {
  if (/JavaScript heap out of memory|Reached heap limit|std::bad_alloc|Cannot allocate memory/i.test(stderrTail)) {
    return `out of memory (${signal !== null ? `killed by ${signal}` : `exit code ${exitCode}`}, allocation failed in the worker)`;
  }
  if (signal !== null) return `killed by ${signal}${SIGNAL_WORDS[signal] ? ` (${SIGNAL_WORDS[signal]})` : ''}`;
  return `exited with code ${exitCode}`;
}

/** The last `maxLines` lines of `text`. Pure. */
export function tailLines(text: string, maxLines: number): string {
  const lines = text.replace(/\n+$/, '').split('\n');
  return lines.slice(-maxLines).join('\n');
}

/** Resident set size of a process, bytes, from /proc/<pid>/status; undefined once gone. */
export async function readRssBytes(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

export class WorkerProcess {
  private live: Live | undefined;
  private nextId = 1;
  private stderrBuf = '';
  private readonly opts: Required<Omit<WorkerProcessOptions, 'maxRssBytes' | 'cwd'>> & Pick<WorkerProcessOptions, 'maxRssBytes' | 'cwd'>;
  /** How the previous process ended, when it ended on its own or was killed. */
  lastExit: WorkerExit | undefined;

  constructor(
    readonly spec: WorkerCommand,
    options: WorkerProcessOptions = {},
  ) {
    this.opts = {
      label: options.label ?? 'worker',
      requestTimeoutMs: options.requestTimeoutMs ?? 120_000,
      rssPollMs: options.rssPollMs ?? 50,
      stderrTailBytes: options.stderrTailBytes ?? 65_536,
      maxRssBytes: options.maxRssBytes,
      cwd: options.cwd,
    };
  }

  /** Process id of the running worker, for the resource samplers. */
  get pid(): number | undefined {
    return this.live?.exited === false ? this.live.pid : undefined;
  }

  get running(): boolean {
    return this.live !== undefined && !this.live.exited;
  }

  /** The last `maxLines` lines the worker wrote to stderr (this process and the ones before). */
  stderrTail(maxLines = 50): string {
    return tailLines(this.stderrBuf, maxLines);
  }

  /** Starts the process; resolves once it is spawned. */
  async start(): Promise<void> {
    if (this.running) return;
    this.stderrBuf = '';
    const child = spawn(this.spec.command, this.spec.args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...this.spec.env },
      ...(this.opts.cwd !== undefined ? { cwd: this.opts.cwd } : {}),
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (e) =>
        reject(new WorkerFailure('E_WORKER', `${this.opts.label}: cannot start ${this.spec.command}: ${e.message}`, this.stderrTail())),
      );
    });
    const pid = child.pid as number;
    let markClosed: () => void = () => {};
    const live: Live = {
      child,
      pid,
      pending: new Map(),
      exited: false,
      closed: new Promise<void>((r) => (markClosed = r)),
    };
    this.live = live;
    child.stdin?.on('error', () => {});
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => this.appendStderr(chunk));
    const lines = new NdjsonSplitter(
      (line) => this.onLine(live, line),
      undefined,
      (bytes) => this.appendStderr(`[protocol] dropped a ${bytes}-byte stdout line\n`),
    );
    child.stdout?.on('data', (chunk: Buffer) => lines.push(chunk));
    child.stdout?.on('end', () => lines.end());
    let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    child.on('exit', (code, signal) => {
      live.exited = true;
      exitInfo = { code, signal };
      if (live.watchdog) clearInterval(live.watchdog);
      setTimeout(() => child.emit('close', code, signal), 1000).unref();
    });
    let finalized = false;
    child.on('close', () => {
      if (finalized) return;
      finalized = true;
      live.exited = true;
      if (live.watchdog) clearInterval(live.watchdog);
      this.onExit(live, exitInfo?.code ?? null, exitInfo?.signal ?? null);
      markClosed();
    });
    const killOnHarnessExit = (): void => {
      if (!live.exited) child.kill('SIGKILL');
    };
    onHarnessExit(killOnHarnessExit);
    void live.closed.then(() => harnessExitHooks.delete(killOnHarnessExit));
    if (this.opts.maxRssBytes !== undefined) this.startWatchdog(live, this.opts.maxRssBytes);
  }

  /**
   * Sends one request and resolves with its result. Fails with E_TIMEOUT (worker killed)
   * after `timeoutMs`, with E_WORKER when the worker dies first, or with the worker's error.
   */
  request<T>(method: string, params: unknown, timeoutMs = this.opts.requestTimeoutMs): Promise<T> {
    const live = this.live;
    if (live === undefined || live.exited) {
      return Promise.reject(
        new WorkerFailure('E_WORKER', `${this.opts.label} is not running (call start() or restart())`, this.stderrTail(), this.lastExit),
      );
    }
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer =
        timeoutMs > 0 && Number.isFinite(timeoutMs)
          ? setTimeout(() => {
              live.killedFor = { kind: 'timeout', method, timeoutMs };
              live.child.kill('SIGKILL');
            }, timeoutMs)
          : undefined;
      live.pending.set(id, { method, resolve: resolve as (v: unknown) => void, reject, timer });
      live.child.stdin?.write(encodeLine(rpcRequest(id, method, params)));
    });
  }

  /** Asks the worker to shut down; kills it after `graceMs`. */
  async stop(graceMs = 2000): Promise<void> {
    const live = this.live;
    if (live === undefined) return;
    if (!live.exited) {
      const killer = setTimeout(() => live.child.kill('SIGKILL'), graceMs);
      await this.request('shutdown', {}, graceMs + 1000).catch(() => {});
      live.child.stdin?.end();
      await live.closed;
      clearTimeout(killer);
    }
    await live.closed;
  }

  /** Kills the worker (SIGKILL by default) and waits for it to be gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const live = this.live;
    if (live === undefined) return;
    if (!live.exited) live.child.kill(signal);
    await live.closed;
  }

  /** Stops the current process, if any, and starts a fresh one. */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  private appendStderr(chunk: string): void {
    this.stderrBuf += chunk;
    if (this.stderrBuf.length > this.opts.stderrTailBytes) this.stderrBuf = this.stderrBuf.slice(-this.opts.stderrTailBytes);
  }

  private onLine(live: Live, line: string): void {
    let msg: JsonRpcMessage | undefined;
    try {
      msg = parseMessage(line);
    } catch {
      msg = undefined;
    }
    if (msg === undefined || !isResponse(msg)) {
      this.appendStderr(`[stdout] ${line}\n`);
      return;
    }
    this.settle(live, msg as WorkerResponse);
  }

  private settle(live: Live, msg: WorkerResponse): void {
    if (typeof msg.id !== 'number') {
      this.appendStderr(`[protocol] ${JSON.stringify(msg)}\n`);
      return;
    }
    const p = live.pending.get(msg.id);
    if (p === undefined) return;
    live.pending.delete(msg.id);
    if (p.timer) clearTimeout(p.timer);
    if ('result' in msg) {
      p.resolve(msg.result);
      return;
    }
    const err = msg.error;
    const code: ErrorCode =
      err.data?.benchalignCode ??
      (err.code === RpcCode.Unsupported ? 'E_UNSUPPORTED' : isStandardCode(err.code) ? 'E_INTERNAL' : 'E_ENGINE');
    const expected = err.data?.expected !== undefined ? ` (expected ${err.data.expected})` : '';
    p.reject(new WorkerFailure(code, `${this.opts.label} "${p.method}" failed: ${err.message}${expected}`, this.stderrTail(), undefined, err));
  }

  private onExit(live: Live, exitCode: number | null, signal: NodeJS.Signals | null): void {
    const tail = this.stderrTail();
    const why = live.killedFor;
    let reason: string;
    if (why?.kind === 'timeout') reason = `killed after "${why.method}" did not answer within ${why.timeoutMs} ms`;
    else if (why?.kind === 'rss') reason = `out of memory (rss ${mib(why.rssBytes)} > limit ${mib(this.opts.maxRssBytes ?? 0)}); killed`;
    else reason = describeExit(exitCode, signal, tail);
    const exit: WorkerExit = { pid: live.pid, exitCode, signal, reason };
    this.lastExit = exit;
    const tailNote = tail.length > 0 ? `\n--- worker stderr (last lines) ---\n${tailLines(tail, 20)}` : '';
    for (const [id, p] of live.pending) {
      live.pending.delete(id);
      if (p.timer) clearTimeout(p.timer);
      if (p.method === 'shutdown') {
        p.resolve(null);
        continue;
      }
      const timedOut = why?.kind === 'timeout' && why.method === p.method;
      const code: ErrorCode = timedOut ? 'E_TIMEOUT' : 'E_WORKER';
      const head = timedOut
        ? `${this.opts.label} (pid ${live.pid}) did not answer "${p.method}" within ${why.timeoutMs} ms; killed`
        : `${this.opts.label} (pid ${live.pid}) died during "${p.method}": ${reason}`;
      p.reject(new WorkerFailure(code, head + tailNote, tail, exit));
    }
  }

  private startWatchdog(live: Live, maxRssBytes: number): void {
    let busy = false;
    live.watchdog = setInterval(() => {
      if (busy || live.exited) return;
      busy = true;
      void readRssBytes(live.pid).then((rss) => {
        busy = false;
        if (rss !== undefined && rss > maxRssBytes && !live.exited && live.killedFor === undefined) {
          live.killedFor = { kind: 'rss', rssBytes: rss };
          live.child.kill('SIGKILL');
        }
      });
    }, this.opts.rssPollMs);
    live.watchdog.unref();
  }
}

function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(0)} MiB`;
}
