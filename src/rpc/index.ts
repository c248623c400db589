/**
 * The JSON-RPC 2.0 layer both benchalign protocols share (docs/architecture.md): the worker
 * protocol (src/runners/protocol.ts) and the agent protocol (src/agents/protocol.ts) put their
 * methods on top of these messages, this framing and this one error-code table.
 */
export * from './codes.js';
export * from './message.js';
export * from './ndjson.js';
