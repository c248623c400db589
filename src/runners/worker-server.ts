/**
 * The worker side of the protocol for workers written in Node: reads requests from stdin,
 * runs one handler at a time, writes one response line per request to stdout. Anything
 * else the process prints goes to stderr, so stdout carries only protocol lines.
 */
import { createInterface } from 'node:readline';
import { isBenchalignError } from '../errors.js';
import { RpcCode, type RpcErrorData, type RpcRequest, type RpcResponse } from './protocol.js';

export type Handler = (params: unknown) => unknown;

/** An error a handler throws to choose the JSON-RPC code and data sent back. */
export class WorkerError extends Error {
  constructor(
    readonly rpcCode: number,
    message: string,
    readonly data?: RpcErrorData,
  ) {
    super(message);
  }
}

function send(msg: RpcResponse): void {
  process.stdout.write(JSON.stringify(msg) + '\n');
}

function errorResponse(id: number | null, e: unknown): RpcResponse {
  if (e instanceof WorkerError) {
    return { jsonrpc: '2.0', id, error: { code: e.rpcCode, message: e.message, ...(e.data ? { data: e.data } : {}) } };
  }
  if (isBenchalignError(e)) {
    const code = e.code === 'E_UNSUPPORTED' ? RpcCode.Unsupported : RpcCode.Engine;
    const data: RpcErrorData = { benchalignCode: e.code, ...(e.expected !== undefined ? { expected: e.expected } : {}) };
    return { jsonrpc: '2.0', id, error: { code, message: e.message, data } };
  }
  const err = e instanceof Error ? e : new Error(String(e));
  return {
    jsonrpc: '2.0',
    id,
    error: { code: RpcCode.Engine, message: err.message, data: { benchalignCode: 'E_ENGINE', detail: err.stack ?? '' } },
  };
}

/** Serves `handlers` on stdio until stdin closes or `shutdown` is called. */
export function serveWorker(handlers: Record<string, Handler>): void {
  const toStderr = (...args: unknown[]): void => {
    process.stderr.write(args.map(String).join(' ') + '\n');
  };
  console.log = toStderr;
  console.info = toStderr;
  console.debug = toStderr;

  let queue: Promise<void> = Promise.resolve();
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  rl.on('line', (line) => {
    if (line.trim() === '') return;
    queue = queue.then(() => handleLine(line, handlers));
  });
  rl.on('close', () => {
    void queue.then(() => process.exit(0));
  });
}

async function handleLine(line: string, handlers: Record<string, Handler>): Promise<void> {
  let req: RpcRequest;
  try {
    req = JSON.parse(line) as RpcRequest;
  } catch (e) {
    send({ jsonrpc: '2.0', id: null, error: { code: RpcCode.ParseError, message: `parse error: ${(e as Error).message}` } });
    return;
  }
  if (typeof req !== 'object' || req === null || req.jsonrpc !== '2.0' || typeof req.method !== 'string' || typeof req.id !== 'number') {
    send({ jsonrpc: '2.0', id: null, error: { code: RpcCode.InvalidRequest, message: 'invalid request: expected {jsonrpc:"2.0", id:number, method:string}' } });
    return;
  }
  if (req.method === 'shutdown') {
    await handlers.shutdown?.(req.params);
    process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: req.id, result: null }) + '\n', () => process.exit(0));
    return;
  }
  const handler = handlers[req.method];
  if (handler === undefined) {
    send({ jsonrpc: '2.0', id: req.id, error: { code: RpcCode.MethodNotFound, message: `method not found: ${req.method}` } });
    return;
  }
  try {
    const result = await handler(req.params ?? {});
    send({ jsonrpc: '2.0', id: req.id, result: result ?? null });
  } catch (e) {
    send(errorResponse(req.id, e));
  }
}
