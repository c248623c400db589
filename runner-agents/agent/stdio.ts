/**
 * `benchalign agent stdio`: the agent protocol as NDJSON on stdin/stdout, for the local and
 * SSH transports. stdout carries protocol lines only; everything else goes to stderr
 * (console.log and console.info are redirected there).
 */
import { once } from 'node:events';
import { MAX_REQUEST_BYTES } from '../../src/agents/protocol.js';
import { NdjsonSplitter, encodeLine, type JsonRpcMessage } from '../../src/rpc/index.js';
import { AgentConnection } from './connection.js';
import { AgentCore, type AgentOptions } from './core.js';

export interface StdioAgentOptions extends AgentOptions {
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
}

/** Serves one client on stdio until stdin ends or SIGTERM/SIGINT. Resolves once shut down. */
export async function runStdioAgent(options: StdioAgentOptions): Promise<void> {
  const input = options.input ?? process.stdin;
  const output = options.output ?? process.stdout;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  if (output === process.stdout) {
    console.log = (...args: unknown[]) => console.error(...args);
    console.info = (...args: unknown[]) => console.error(...args);
  }
  const core = new AgentCore({ ...options, log });
  await core.init();
  const send = (m: JsonRpcMessage): void => {
    output.write(encodeLine(m));
  };
  const conn = new AgentConnection(core, send, log);
  const splitter = new NdjsonSplitter((line) => conn.receive(line), MAX_REQUEST_BYTES, (bytes) => conn.tooLarge(bytes));
  input.on('data', (chunk: Buffer | string) => splitter.push(chunk));
  log(`benchalign agent: serving on stdio (work dir ${options.workDir})`);
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  output.on('error', (e: Error) => {
    log(`benchalign agent: stdout: ${e.message}; stopping`);
    stop.abort();
  });
  await Promise.race([once(input, 'end').catch(() => undefined), once(input, 'close').catch(() => undefined), once(stop.signal, 'abort')]);
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  await core.shutdown();
  conn.close();
  log('benchalign agent: stopped');
}
