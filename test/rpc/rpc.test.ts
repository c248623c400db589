/** src/rpc: the JSON-RPC layer both protocols share (messages, the parser, NDJSON framing, the one code table). */
import { describe, expect, it } from 'vitest';
import {
  NdjsonSplitter,
  RpcCode,
  RpcError,
  encodeLine,
  isNotification,
  isRequest,
  isResponse,
  isStandardCode,
  parseMessage,
  rpcCodeName,
  rpcError,
  rpcNotification,
  rpcRequest,
  rpcResult,
} from '../../src/rpc/index.js';
import { RpcCode as WorkerRpcCode } from '../../src/runners/protocol.js';
import { RpcCode as AgentRpcCode, RpcErrorCode } from '../../src/agents/protocol.js';

function thrown(f: () => unknown): RpcError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(RpcError);
    return e as RpcError;
  }
  throw new Error('expected a throw');
}

describe('the error-code table', () => {
  it('gives every name its own number', () => {
    const byNumber = new Map<number, string[]>();
    for (const [name, code] of Object.entries(RpcCode)) byNumber.set(code, [...(byNumber.get(code) ?? []), name]);
    const shared = [...byNumber].filter(([, names]) => names.length > 1);
    expect(shared).toEqual([]);
    expect(byNumber.size).toBe(Object.keys(RpcCode).length);
  });

  it('keeps the JSON-RPC standard codes and the worker numbers the Python workers use, and moves the agent codes apart', () => {
    expect(RpcCode).toEqual({
      ParseError: -32700,
      InvalidRequest: -32600,
      MethodNotFound: -32601,
      InvalidParams: -32602,
      Internal: -32603,
      Engine: -32000,
      Unsupported: -32001,
      State: -32002,
      Busy: -32010,
      ArtifactMissing: -32011,
      ArtifactRefused: -32012,
      JobFailed: -32013,
    });
    // Every code is in the range JSON-RPC leaves to implementations or is a standard one.
    for (const code of Object.values(RpcCode)) expect(isStandardCode(code) || (code >= -32099 && code <= -32000)).toBe(true);
  });

  it('is the one table: both protocol modules hand out the same object', () => {
    expect(WorkerRpcCode).toBe(RpcCode);
    expect(AgentRpcCode).toBe(RpcCode);
    expect(RpcErrorCode).toBe(RpcCode);
  });

  it('names a code, and knows the standard ones', () => {
    expect(rpcCodeName(-32010)).toBe('Busy');
    expect(rpcCodeName(-32001)).toBe('Unsupported');
    expect(rpcCodeName(-1)).toBeUndefined();
    expect([-32700, -32600, -32601, -32602, -32603].every(isStandardCode)).toBe(true);
    expect([-32000, -32001, -32013, -32099].some(isStandardCode)).toBe(false);
  });
});

describe('messages', () => {
  it('builds requests, notifications and responses that the parser reads back as what they are', () => {
    const texts = [rpcRequest(7, 'load', { a: 1 }), rpcRequest('x', 'info'), rpcNotification('job.progress', { p: 1 }), rpcResult(7, null), rpcError(null, RpcCode.ParseError, 'bad')].map((m) => JSON.stringify(m));
    expect(texts[1]).toBe('{"jsonrpc":"2.0","id":"x","method":"info"}');
    const back = texts.map((t) => parseMessage(t));
    expect(back.map((m) => [isRequest(m), isNotification(m), isResponse(m)])).toEqual([
      [true, false, false],
      [true, false, false],
      [false, true, false],
      [false, false, true],
      [false, false, true],
    ]);
    expect(back[4]).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'bad' } });
    expect(rpcError(3, RpcCode.Busy, 'busy', { queued: 2 })).toEqual({ jsonrpc: '2.0', id: 3, error: { code: -32010, message: 'busy', data: { queued: 2 } } });
    expect(new RpcError(RpcCode.State, 'load first', { expected: 'load' }).toObject()).toEqual({ code: -32002, message: 'load first', data: { expected: 'load' } });
  });

  it('refuses bad JSON with ParseError, naming the start of the text', () => {
    const e = thrown(() => parseMessage('{"jsonrpc":"2.0", oops'));
    expect(e.code).toBe(RpcCode.ParseError);
    expect(e.message).toMatch(/^not JSON: .*\(message starts "\{\\"jsonrpc\\":\\"2.0\\", oops"\)$/);
    expect(thrown(() => parseMessage('x'.repeat(500))).message).toContain(`"${'x'.repeat(80)}..."`);
  });

  it('refuses JSON that is not a JSON-RPC 2.0 message with InvalidRequest and says which member is wrong', () => {
    const cases: Array<[string, string]> = [
      ['[]', 'batches are not supported'],
      ['null', 'expected a JSON-RPC 2.0 object'],
      ['{"jsonrpc":"1.0","id":1,"method":"info"}', 'jsonrpc: expected "2.0"'],
      ['{"jsonrpc":"2.0","id":true,"method":"info"}', 'id: expected a number or a string'],
      ['{"jsonrpc":"2.0","id":1,"method":["info"]}', 'method: expected a string'],
      ['{"jsonrpc":"2.0","id":1,"method":"x","params":5}', 'params: expected an object or an array'],
      ['{"jsonrpc":"2.0","id":1,"method":"x","result":1}', 'not both'],
      ['{"jsonrpc":"2.0","id":1}', 'expected method, result or error'],
      ['{"jsonrpc":"2.0","id":1,"result":1,"error":{"code":1,"message":"m"}}', 'result or error, not both'],
      ['{"jsonrpc":"2.0","id":1,"error":{"code":1.5,"message":"m"}}', 'error: expected {code: integer, message: string}'],
      ['{"jsonrpc":"2.0","id":1,"error":{"code":-32000}}', 'error: expected {code: integer, message: string}'],
    ];
    for (const [text, words] of cases) {
      const e = thrown(() => parseMessage(text));
      expect([text, e.code]).toEqual([text, RpcCode.InvalidRequest]);
      expect(e.message).toContain(words);
    }
  });

  it('refuses a message over maxBytes before parsing it, counting UTF-8 bytes', () => {
    const msg = JSON.stringify(rpcRequest(1, 'x', { s: 'é'.repeat(40) }));
    expect(Buffer.byteLength(msg)).toBeGreaterThan(msg.length);
    expect(parseMessage(msg, { maxBytes: Buffer.byteLength(msg) })).toMatchObject({ id: 1 });
    const e = thrown(() => parseMessage(msg, { maxBytes: msg.length }));
    expect(e.code).toBe(RpcCode.InvalidRequest);
    expect(e.message).toBe(`message of ${Buffer.byteLength(msg)} bytes refused: over the limit of ${msg.length}`);
    // Over the limit and not JSON either: the size is what is reported.
    expect(thrown(() => parseMessage('{'.repeat(100), { maxBytes: 10 })).code).toBe(RpcCode.InvalidRequest);
  });
});

describe('NDJSON framing', () => {
  it('splits lines across chunk boundaries, inside multi-byte characters too, and strips CR', () => {
    const lines: string[] = [];
    const s = new NdjsonSplitter((l) => lines.push(l));
    const text = encodeLine(rpcRequest(1, 'a', { s: 'ü€😀' })) + '\n  \n' + encodeLine(rpcRequest(2, 'b')).replace('\n', '\r\n') + encodeLine(rpcResult(3, 'z'));
    const bytes = Buffer.from(text);
    for (let i = 0; i < bytes.length; i += 1) s.push(bytes.subarray(i, i + 1));
    expect(lines.map((l) => parseMessage(l))).toEqual([rpcRequest(1, 'a', { s: 'ü€😀' }), rpcRequest(2, 'b'), rpcResult(3, 'z')]);
    expect(s.pendingBytes).toBe(0);
  });

  it('drops an oversized line (reporting its size), keeps the lines around it, and delivers an unterminated last line at end()', () => {
    const lines: string[] = [];
    const over: number[] = [];
    const s = new NdjsonSplitter((l) => lines.push(l), 16, (n) => over.push(n));
    s.push('first\n0123456789');
    s.push('0123456789');
    s.push('more\nsecond\nlast');
    expect(lines).toEqual(['first', 'second']);
    expect(over).toEqual([20]);
    expect(s.pendingBytes).toBe(4);
    s.end();
    expect(lines).toEqual(['first', 'second', 'last']);
    expect(s.pendingBytes).toBe(0);
    // A line exactly at the limit passes.
    s.push(`${'x'.repeat(16)}\n`);
    expect(lines.at(-1)).toBe('x'.repeat(16));
    expect(over).toEqual([20]);
  });

  it('encodes one message per line, newlines inside strings escaped', () => {
    const line = encodeLine(rpcNotification('log', { text: 'a\nb' }));
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toContain('\n');
    expect(parseMessage(line.slice(0, -1))).toEqual({ jsonrpc: '2.0', method: 'log', params: { text: 'a\nb' } });
  });
});
