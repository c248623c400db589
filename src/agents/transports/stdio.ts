/**
 * The stdio transport: a child process speaking the agent protocol as NDJSON on its stdin and
 * stdout (`benchalign agent stdio`). Its stderr is kept (last lines) to explain an exit. The
 * ssh transport is this channel over the `ssh` process.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describeError } from '../../errors.js';
import type { AgentDef } from '../../model/agents.js';
import { NdjsonSplitter } from '../../rpc/index.js';
import { RpcAgentClient, type Channel } from './rpc.js';

/** This benchalign's own CLI entry (bin/benchalign.js), to start a local agent. */
export function benchalignBin(): string {
  return fileURLToPath(new URL('../../../../bin/benchalign.js', import.meta.url));
}

/** argv of a local stdio agent: this Node and this benchalign. */
export function defaultStdioCommand(): string[] {
  return [process.execPath, benchalignBin(), 'agent', 'stdio'];
}

const STDERR_LINES = 20;

/** Starts `argv` (no shell) and speaks NDJSON with it. Resolves once the process has spawned. */
export function openStdioChannel(argv: readonly string[], what: string): Promise<Channel> {
  const [cmd, ...args] = argv;
  if (cmd === undefined) return Promise.reject(new Error('empty command'));
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: process.env });
    const tail: string[] = [];
    let partial = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c: string) => {
      const lines = (partial + c).split('\n');
      partial = lines.pop() ?? '';
      tail.push(...lines.map((l) => l.replace(/\r$/, '')).filter((l) => l.trim() !== ''));
      if (tail.length > STDERR_LINES) tail.splice(0, tail.length - STDERR_LINES);
      if (process.env.BENCHALIGN_AGENT_STDERR === '1') process.stderr.write(c);
    });
    let onMessage: (text: string) => void = () => undefined;
    const closeCbs: Array<(reason: string) => void> = [];
    let closed = false;
    const fireClose = (reason: string): void => {
      if (closed) return;
      closed = true;
      for (const cb of closeCbs) cb(reason);
    };
    const splitter = new NdjsonSplitter(
      (line) => onMessage(line),
      undefined,
      (bytes) => process.stderr.write(`benchalign: ${what}: dropped a ${bytes}-byte line\n`),
    );
    child.stdout.on('data', (c: Buffer) => splitter.push(c));
    child.stdin.on('error', () => undefined);
    child.on('error', (e) => {
      fireClose(`${what} could not start: ${describeError(e)}`);
      reject(e);
    });
    child.on('spawn', () =>
      resolve({
        send: (text) => {
          if (closed) throw new Error('closed');
          child.stdin.write(`${text}\n`);
        },
        onMessage: (cb) => {
          onMessage = cb;
        },
        onClose: (cb) => {
          closeCbs.push(cb);
        },
        close: async () => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const exited = new Promise<void>((r) => child.once('close', () => r()));
          child.stdin.end();
          const t = setTimeout(() => child.kill('SIGTERM'), 3000);
          const k = setTimeout(() => child.kill('SIGKILL'), 6000);
          await exited;
          clearTimeout(t);
          clearTimeout(k);
        },
      }),
    );
    child.on('close', (code, signal) => {
      if (partial.trim() !== '') tail.push(partial);
      const how = signal !== null ? `killed by ${signal}` : `exited with code ${code}`;
      fireClose(`${what} ${how}${tail.length > 0 ? `; stderr: ${tail.slice(-5).join(' | ')}` : ''}`);
    });
  });
}

/** An agent started as a local child process (`url: stdio`). */
export function stdioAgent(def: AgentDef): RpcAgentClient {
  const argv = def.command ?? defaultStdioCommand();
  return new RpcAgentClient(def, { open: () => openStdioChannel(argv, `agent process ${def.name}`) });
}
