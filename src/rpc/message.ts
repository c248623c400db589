/**
 * JSON-RPC 2.0 messages as both benchalign protocols speak them (docs/workers.md,
 * docs/agents.md): requests, notifications, responses and errors, the one parser/validator of an
 * incoming message, and the error a method handler throws to answer with a JSON-RPC error.
 * Batches are not supported.
 */
import { RpcCode } from './codes.js';

export type JsonRpcId = number | string;

export interface JsonRpcRequest<P = unknown> {
  jsonrpc: '2.0';
  id: JsonRpcId;
  method: string;
  params?: P;
}

export interface JsonRpcNotification<P = unknown> {
  jsonrpc: '2.0';
  method: string;
  params?: P;
}

/** The `error` member of a response; `D` is what each protocol puts in `data`. */
export interface JsonRpcErrorObject<D = unknown> {
  code: number;
  message: string;
  data?: D;
}

/** A response that carries a result. */
export interface JsonRpcSuccess<R = unknown> {
  jsonrpc: '2.0';
  id: JsonRpcId | null;
  result: R;
}

/** A response that carries an error (`id` null when the request could not be read). */
export interface JsonRpcFailure<D = unknown> {
  jsonrpc: '2.0';
  id: JsonRpcId | null;
  error: JsonRpcErrorObject<D>;
}

export type JsonRpcResponse<R = unknown, D = unknown> = JsonRpcSuccess<R> | JsonRpcFailure<D>;

export type JsonRpcMessage = JsonRpcRequest | JsonRpcNotification | JsonRpcResponse;

export function rpcRequest<P>(id: JsonRpcId, method: string, params?: P): JsonRpcRequest<P> {
  return params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params };
}

export function rpcNotification<P>(method: string, params?: P): JsonRpcNotification<P> {
  return params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params };
}

export function rpcResult<R>(id: JsonRpcId | null, result: R): JsonRpcSuccess<R> {
  return { jsonrpc: '2.0', id, result };
}

export function rpcError<D = unknown>(id: JsonRpcId | null, code: number, message: string, data?: D): JsonRpcFailure<D> {
  return { jsonrpc: '2.0', id, error: data === undefined ? { code, message } : { code, message, data } };
}

/** An error a method handler throws to answer with a JSON-RPC error; also what {@link parseMessage} throws. */
export class RpcError<D = unknown> extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: D,
  ) {
    super(message);
    this.name = 'RpcError';
  }

  /** The `error` member of a response carrying this error. */
  toObject(): JsonRpcErrorObject<D> {
    return this.data === undefined ? { code: this.code, message: this.message } : { code: this.code, message: this.message, data: this.data };
  }
}

export function isRequest(m: JsonRpcMessage): m is JsonRpcRequest {
  return 'method' in m && 'id' in m && m.id !== undefined;
}
export function isNotification(m: JsonRpcMessage): m is JsonRpcNotification {
  return 'method' in m && !('id' in m);
}
export function isResponse(m: JsonRpcMessage): m is JsonRpcResponse {
  return !('method' in m) && ('result' in m || 'error' in m);
}

export interface ParseOptions {
  /** Refuse a message longer than this many bytes (UTF-8) with InvalidRequest, before parsing it. */
  maxBytes?: number;
}

/** The start of `text` for an error message: at most 80 characters, JSON-quoted. */
function excerpt(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}...` : text);
}

/**
 * Parses one message (a line or a frame). Throws RpcError(ParseError) for bad JSON and
 * RpcError(InvalidRequest) for JSON that is not a JSON-RPC 2.0 message or text over
 * `maxBytes`; the message says which member is wrong and what was expected.
 */
export function parseMessage(text: string, options: ParseOptions = {}): JsonRpcMessage {
  if (options.maxBytes !== undefined && text.length > options.maxBytes / 3) {
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > options.maxBytes) throw new RpcError(RpcCode.InvalidRequest, `message of ${bytes} bytes refused: over the limit of ${options.maxBytes}`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new RpcError(RpcCode.ParseError, `not JSON: ${(e as Error).message} (message starts ${excerpt(text)})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new RpcError(RpcCode.InvalidRequest, 'expected a JSON-RPC 2.0 object (batches are not supported)');
  const o = v as Record<string, unknown>;
  if (o.jsonrpc !== '2.0') throw new RpcError(RpcCode.InvalidRequest, 'jsonrpc: expected "2.0"');
  if ('id' in o && !(typeof o.id === 'number' || typeof o.id === 'string' || o.id === null)) throw new RpcError(RpcCode.InvalidRequest, 'id: expected a number or a string');
  if ('method' in o) {
    if (typeof o.method !== 'string') throw new RpcError(RpcCode.InvalidRequest, 'method: expected a string');
    if ('params' in o && (typeof o.params !== 'object' || o.params === null)) throw new RpcError(RpcCode.InvalidRequest, 'params: expected an object or an array');
    if ('result' in o || 'error' in o) throw new RpcError(RpcCode.InvalidRequest, 'expected method (a request) or result/error (a response), not both');
    return o as unknown as JsonRpcMessage;
  }
  if (!('result' in o) && !('error' in o)) throw new RpcError(RpcCode.InvalidRequest, 'expected method, result or error');
  if ('result' in o && 'error' in o) throw new RpcError(RpcCode.InvalidRequest, 'a response has result or error, not both');
  if ('error' in o) {
    const err = o.error as Record<string, unknown> | null;
    if (typeof err !== 'object' || err === null || typeof err.code !== 'number' || !Number.isInteger(err.code) || typeof err.message !== 'string') {
      throw new RpcError(RpcCode.InvalidRequest, 'error: expected {code: integer, message: string}');
    }
  }
  return o as unknown as JsonRpcMessage;
}
