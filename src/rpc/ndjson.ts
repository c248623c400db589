/**
 * NDJSON framing: one JSON-RPC message per line. The agent protocol speaks it on stdio, the
 * worker protocol on the worker's stdin/stdout; the agent daemon sends the same messages one
 * per WebSocket frame instead.
 */
import type { JsonRpcMessage } from './message.js';

/**
 * Default limit of {@link NdjsonSplitter}: 512 MiB, about the longest string V8 can hold (an
 * agent's `job.run` result carries every output tensor in base64).
 */
export const MAX_LINE_BYTES = 512 * 1024 * 1024;

/** One message as an NDJSON line (JSON.stringify never emits a raw newline). */
export function encodeLine(message: JsonRpcMessage): string {
  return `${JSON.stringify(message)}\n`;
}

/**
 * Splits a byte stream into NDJSON lines (a trailing `\r` is dropped, blank lines are skipped).
 * A line longer than `maxLineBytes` is dropped and reported through `onOverflow` (the stream
 * stays usable from the next newline).
 */
export class NdjsonSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  private dropping = false;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLineBytes = MAX_LINE_BYTES,
    private readonly onOverflow: (bytes: number) => void = () => undefined,
  ) {}

  push(chunk: Buffer | string): void {
    let buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    while (buf.length > 0) {
      const nl = buf.indexOf(0x0a);
      const piece = nl < 0 ? buf : buf.subarray(0, nl);
      if (!this.dropping) {
        if (this.size + piece.length > this.maxLineBytes) {
          this.dropping = true;
          this.onOverflow(this.size + piece.length);
          this.parts = [];
        } else {
          this.parts.push(piece);
        }
      }
      this.size += piece.length;
      if (nl < 0) return;
      if (!this.dropping) this.emit();
      this.parts = [];
      this.size = 0;
      this.dropping = false;
      buf = buf.subarray(nl + 1);
    }
  }

  /** The stream ended: an unterminated last line is delivered as a line (as readline does). */
  end(): void {
    if (!this.dropping && this.size > 0) this.emit();
    this.parts = [];
    this.size = 0;
    this.dropping = false;
  }

  /** Bytes of an unterminated last line still buffered. */
  get pendingBytes(): number {
    return this.size;
  }

  private emit(): void {
    const line = Buffer.concat(this.parts).toString('utf8').replace(/\r$/, '');
    if (line.trim() !== '') this.onLine(line);
  }
}
