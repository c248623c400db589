/**
 * The one JSON-RPC error-code table of benchalign, shared by the worker protocol (harness <->
 * engine worker, src/runners/protocol.ts, docs/workers.md) and the agent protocol
 * (coordinator <-> runner agent, src/agents/protocol.ts, docs/agents.md). No two names share a
 * number, so a code read off any wire means one thing.
 *
 * The Python workers (runner-agents/python/benchalign_worker/protocol.py) carry the worker
 * codes as constants; test/rpc/python-codes.test.ts holds them equal to this table.
 */
export const RpcCode = {
  // JSON-RPC 2.0 standard codes.
  /** The message is not JSON. */
  ParseError: -32700,
  /** JSON, but not a JSON-RPC 2.0 message this side accepts (or over the size limit). */
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  Internal: -32603,

  // Worker protocol (-32000..-32009).
  /** The engine failed (load, inference). */
  Engine: -32000,
  /** The request is valid but the engine cannot do it (precision, dtype, provider). */
  Unsupported: -32001,
  /** A request came in an order the worker cannot serve (infer before load). */
  State: -32002,

  // Agent protocol (-32010..-32019).
  /** The agent is running a job and the client asked `{wait: false}`. */
  Busy: -32010,
  /** A job or `artifact.has` named an artifact the agent does not have. */
  ArtifactMissing: -32011,
  /** An artifact was refused: its name, its size or its hash. */
  ArtifactRefused: -32012,
  /** The job ran and failed; `data` is a JobFailureData (src/agents/protocol.ts). */
  JobFailed: -32013,
} as const;
export type RpcCode = (typeof RpcCode)[keyof typeof RpcCode];

/** True for the five codes JSON-RPC 2.0 defines itself (parse error, invalid request, method not found, invalid params, internal: -32700..-32600). */
export function isStandardCode(code: number): boolean {
  return code <= -32600 && code >= -32700;
}

/** The table's name of a code ("Busy"), or undefined for a code it does not have. */
export function rpcCodeName(code: number): string | undefined {
  for (const [name, value] of Object.entries(RpcCode)) if (value === code) return name;
  return undefined;
}
