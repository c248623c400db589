/**
 * One client connection to the agent, whatever the transport: parses each incoming message,
 * dispatches requests to the core (concurrently: a waiting job.run does not block info or
 * job.cancel), and sends responses and notifications back through `send`.
 */
import { randomUUID } from 'node:crypto';
import { describeError } from '../../src/errors.js';
import { RpcError, RpcCode, isRequest, parseMessage, rpcError, rpcNotification, rpcResult, type JsonRpcMessage } from '../../src/rpc/index.js';
import type { AgentCore, AgentSession } from './core.js';

export class AgentConnection implements AgentSession {
  readonly id = randomUUID();
  private closed = false;

  constructor(
    private readonly core: AgentCore,
    private readonly send: (message: JsonRpcMessage) => void,
    private readonly log: (line: string) => void,
  ) {}

  notify(method: string, params: unknown): void {
    if (!this.closed) this.send(rpcNotification(method, params));
  }

  /** Handles one incoming message (a line or a frame). */
  receive(text: string): void {
    let msg: JsonRpcMessage;
    try {
      msg = parseMessage(text);
    } catch (e) {
      const err = e instanceof RpcError ? e : new RpcError(RpcCode.ParseError, describeError(e));
      this.reply(rpcError(null, err.code, err.message));
      return;
    }
    if (!isRequest(msg)) return;
    const { id, method, params } = msg;
    this.core.handle(this, method, params).then(
      (result) => this.reply(rpcResult(id, result ?? null)),
      (e: unknown) => {
        if (e instanceof RpcError) this.reply(rpcError(id, e.code, e.message, e.data));
        else {
          this.log(`benchalign agent: ${method} failed: ${describeError(e)}`);
          this.reply(rpcError(id, RpcCode.Internal, describeError(e)));
        }
      },
    );
  }

  /** Also reports an oversize message (dropped by the framing). */
  tooLarge(bytes: number): void {
    this.reply(rpcError(null, RpcCode.InvalidRequest, `message of ${bytes} bytes refused: over the frame limit`));
  }

  /** The transport is gone: the connection's jobs are cancelled. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.core.closeSession(this);
  }

  private reply(m: JsonRpcMessage): void {
    if (this.closed) return;
    try {
      this.send(m);
    } catch (e) {
      this.log(`benchalign agent: cannot send a reply: ${describeError(e)}`);
    }
  }
}
