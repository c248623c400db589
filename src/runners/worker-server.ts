/**
 * The worker side of the protocol for workers written in Node: reads requests from stdin,
 * runs one handler at a time, writes one response line per request to stdout. Anything
 * else the process prints goes to stderr, so stdout carries only protocol lines.
 */
import { isBenchalignError } from '../errors.js';
import { NdjsonSplitter, RpcCode, RpcError, encodeLine, isRequest, parseMessage, rpcError, rpcResult, type JsonRpcId } from '../rpc/index.js';
import { MAX_WORKER_REQUEST_BYTES, type RpcErrorData, type WorkerResponse } from './protocol.js';

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

function send(msg: WorkerResponse): void {
  process.stdout.write(encodeLine(msg));
}

function errorResponse(id: JsonRpcId | null, e: unknown): WorkerResponse {
  if (e instanceof WorkerError) return rpcError(id, e.rpcCode, e.message, e.data);
  if (isBenchalignError(e)) {
    const code = e.code === 'E_UNSUPPORTED' ? RpcCode.Unsupported : RpcCode.Engine;
    const data: RpcErrorData = { benchalignCode: e.code, ...(e.expected !== undefined ? { expected: e.expected } : {}) };
    return rpcError(id, code, e.message, data);
  }
  const err = e instanceof Error ? e : new Error(String(e));
  return rpcError(id, RpcCode.Engine, err.message, { benchalignCode: 'E_ENGINE', detail: err.stack ?? '' });
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
  const lines = new NdjsonSplitter(
    (line) => {
      queue = queue.then(() => handleLine(line, handlers));
    },
    MAX_WORKER_REQUEST_BYTES,
    (bytes) => send(rpcError(null, RpcCode.InvalidRequest, `request line of ${bytes} bytes refused: over the limit of ${MAX_WORKER_REQUEST_BYTES}`)),
  );
  process.stdin.on('data', (chunk: Buffer) => lines.push(chunk));
  process.stdin.on('end', () => {
    lines.end();
    void queue.then(() => process.exit(0));
  });
}

async function handleLine(line: string, handlers: Record<string, Handler>): Promise<void> {
  let msg;
  try {
    msg = parseMessage(line);
  } catch (e) {
    const code = e instanceof RpcError ? e.code : RpcCode.ParseError;
    send(rpcError(null, code, `${code === RpcCode.ParseError ? 'parse error' : 'invalid request'}: ${(e as Error).message}`));
    return;
  }
  if (!isRequest(msg) || typeof msg.id !== 'number') {
    send(rpcError(null, RpcCode.InvalidRequest, 'invalid request: expected {jsonrpc:"2.0", id:number, method:string}'));
    return;
  }
  const req = msg;
  if (req.method === 'shutdown') {
    await handlers.shutdown?.(req.params);
    process.stdout.write(encodeLine(rpcResult(req.id, null)), () => process.exit(0));
    return;
  }
  const handler = handlers[req.method];
  if (handler === undefined) {
    send(rpcError(req.id, RpcCode.MethodNotFound, `method not found: ${req.method}`));
    return;
  }
  try {
    const result = await handler(req.params ?? {});
    send(rpcResult(req.id, result ?? null));
  } catch (e) {
    send(errorResponse(req.id, e));
  }
}
