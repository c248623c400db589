/**
 * The `benchalign agent serve|stdio` core functions: option checks (labels, token, sizes,
 * work dir), then the daemon or the stdio loop until SIGTERM.
 */
import { statSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BenchalignError } from '../../src/errors.js';
import { cacheRoot } from '../../src/runners/convert-cache.js';
import { DEFAULT_MAX_ARTIFACT_BYTES } from '../../src/agents/protocol.js';
import { startDaemon } from './daemon.js';
import { startQueueWorker } from './queue-worker.js';
import { runStdioAgent } from './stdio.js';

export interface AgentCliOptions {
  labels?: string;
  allowCode?: boolean;
  allowPrograms?: boolean;
  workDir?: string;
  maxArtifactBytes?: string;
}

export interface WorkCliOptions extends AgentCliOptions {
  queue: string;
  engines?: string;
  name?: string;
  heartbeatMs?: string;
}

export interface ServeCliOptions extends AgentCliOptions {
  listen: string;
  tokenFile?: string;
  tlsCert?: string;
  tlsKey?: string;
}

/** `k=v,k2=v2` -> labels. Keys and values of [A-Za-z0-9._/-]. */
export function parseLabels(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (text === undefined || text.trim() === '') return out;
  for (const part of text.split(',')) {
    const m = /^\s*([A-Za-z0-9._/-]+)=([A-Za-z0-9._/:-]*)\s*$/.exec(part);
    if (!m) throw new BenchalignError('E_USAGE', `--labels: "${part}"`, { expected: 'k=v pairs separated by commas, e.g. board=rk3588,site=lab' });
    out[m[1] as string] = m[2] as string;
  }
  return out;
}

/** A byte count: digits, optionally with K, M, G (powers of 1024). */
export function parseBytes(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d+)\s*([KMG]i?B?)?$/i.exec(text.trim());
  if (!m) throw new BenchalignError('E_USAGE', `${flag} ${text}`, { expected: 'a byte count, e.g. 1073741824 or 512M or 4G' });
  const unit = (m[2] ?? '').charAt(0).toUpperCase();
  const mult = unit === 'K' ? 1024 : unit === 'M' ? 1024 ** 2 : unit === 'G' ? 1024 ** 3 : 1;
  const n = Number(m[1]) * mult;
  if (!Number.isSafeInteger(n) || n <= 0) throw new BenchalignError('E_USAGE', `${flag} ${text}`, { expected: 'a positive byte count' });
  return n;
}

/** The token: from --token-file, else BENCHALIGN_AGENT_TOKEN, else none. */
export function loadToken(tokenFile: string | undefined, env: NodeJS.ProcessEnv = process.env, warn: (s: string) => void = () => undefined): string | undefined {
  if (tokenFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(tokenFile, 'utf8');
      const mode = statSync(tokenFile).mode;
      if ((mode & 0o077) !== 0) warn(`benchalign agent: warning: ${tokenFile} is readable by other users (chmod 600 it)`);
    } catch (e) {
      throw new BenchalignError('E_USAGE', `cannot read the token file: ${(e as Error).message}`, { file: tokenFile });
    }
    const token = text.trim();
    if (token.length < 16) throw new BenchalignError('E_USAGE', 'the token is too short', { file: tokenFile, expected: 'at least 16 characters, e.g. from `openssl rand -hex 32`' });
    return token;
  }
  const fromEnv = env.BENCHALIGN_AGENT_TOKEN?.trim();
  if (fromEnv !== undefined && fromEnv !== '') {
    if (fromEnv.length < 16) throw new BenchalignError('E_USAGE', 'BENCHALIGN_AGENT_TOKEN is too short', { expected: 'at least 16 characters' });
    return fromEnv;
  }
  return undefined;
}

function common(opts: AgentCliOptions): { workDir: string; labels: Record<string, string>; maxArtifactBytes: number; allowCode: boolean; allowPrograms: boolean } {
  return {
    allowCode: opts.allowCode === true,
    allowPrograms: opts.allowPrograms === true,
    workDir: resolve(opts.workDir ?? join(cacheRoot(), 'agent')),
    labels: parseLabels(opts.labels),
    maxArtifactBytes: parseBytes(opts.maxArtifactBytes, '--max-artifact-bytes') ?? DEFAULT_MAX_ARTIFACT_BYTES,
  };
}

/** After a graceful shutdown, exit even if a stray handle (a worker that will not die) holds the event loop. */
function exitSoon(log: (line: string) => void): void {
  setTimeout(() => {
    log('benchalign agent: exiting with handles still open after shutdown');
    process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
  }, 3000).unref();
}

/** `benchalign agent serve`: listens until SIGTERM/SIGINT, then shuts down gracefully. */
export async function serveAgent(opts: ServeCliOptions): Promise<void> {
  const log = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  const token = loadToken(opts.tokenFile, process.env, log);
  const daemon = await startDaemon({
    ...common(opts),
    listen: opts.listen,
    ...(token !== undefined ? { token } : {}),
    ...(opts.tlsCert !== undefined ? { tlsCert: opts.tlsCert } : {}),
    ...(opts.tlsKey !== undefined ? { tlsKey: opts.tlsKey } : {}),
    log,
  });
  log(`benchalign agent: listening on ${daemon.url}${token === undefined ? ' (no token: loopback only)' : ''}`);
  await new Promise<void>((done) => {
    const stop = (sig: string): void => {
      log(`benchalign agent: ${sig}: shutting down`);
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      void daemon.close().then(done);
    };
    const onTerm = (): void => stop('SIGTERM');
    const onInt = (): void => stop('SIGINT');
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
  });
  log('benchalign agent: stopped');
  exitSoon(log);
}

/** `benchalign agent stdio`: serves one client on stdin/stdout. */
export async function stdioAgent(opts: AgentCliOptions): Promise<void> {
  await runStdioAgent(common(opts));
  exitSoon((line) => process.stderr.write(`${line}\n`));
}

/** `benchalign agent work --queue URL`: takes jobs until SIGTERM/SIGINT, then gives the running one back. */
export async function workAgent(opts: WorkCliOptions): Promise<void> {
  const log = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  const heartbeatMs = opts.heartbeatMs !== undefined ? Number(opts.heartbeatMs) : undefined;
  const engines = opts.engines?.split(',').map((s) => s.trim()).filter(Boolean);
  const worker = await startQueueWorker({
    ...common(opts),
    queue: opts.queue,
    ...(engines !== undefined ? { engines } : {}),
    ...(opts.name !== undefined ? { name: opts.name } : {}),
    ...(heartbeatMs !== undefined ? { heartbeatMs } : {}),
    log,
  });
  const stop = (sig: string): void => {
    log(`benchalign agent: ${sig}: stopping; a running job goes back to the queue`);
    void worker.stop();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  await worker.done;
  log('benchalign agent: stopped');
  exitSoon(log);
}
