/**
 * The worker protocol on the shared framing (src/rpc), end to end with real processes: the Node
 * worker server (the fault worker, a FAKE engine) and the harness client (WorkerProcess).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { RpcCode } from '../../src/rpc/index.js';
import { MAX_WORKER_REQUEST_BYTES } from '../../src/runners/protocol.js';
import { WorkerProcess, type WorkerFailure } from '../../src/runners/worker-client.js';
import { nodeWorkerCommand } from '../../src/runners/worker-entry.js';

const faultWorker = nodeWorkerCommand(new URL('../../src/runners/fault/runner.ts', import.meta.url).href, './worker');
const dir = mkdtempSync(join(tmpdir(), 'benchalign-rpc-framing-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Line = { id: number | null; result?: { engine?: string }; error?: { code: number; message: string } };

describe('Node worker server framing', () => {
  it('refuses a request line over the limit, and a string id, and still serves the next requests, the last one without a newline', () => {
    const big = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'hello', params: { pad: 'x'.repeat(MAX_WORKER_REQUEST_BYTES) } });
    const input = [big, '{"jsonrpc":"2.0","id":"a","method":"hello"}', '{"jsonrpc":"2.0","id":2,"method":"hello"}', '{"jsonrpc":"2.0","id":3,"method":"hello"}'].join('\n');
    const r = spawnSync(faultWorker.command, faultWorker.args, { input, encoding: 'utf8', timeout: 60_000, maxBuffer: 1 << 20 });
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Line);
    expect(lines.map((l) => [l.id, l.error?.code ?? l.result?.engine])).toEqual([
      [null, RpcCode.InvalidRequest],
      [null, RpcCode.InvalidRequest],
      [2, 'test-fault'],
      [3, 'test-fault'],
    ]);
    expect(lines[0]?.error?.message).toBe(`request line of ${Buffer.byteLength(big)} bytes refused: over the limit of ${MAX_WORKER_REQUEST_BYTES}`);
    expect(lines[1]?.error?.message).toBe('invalid request: expected {jsonrpc:"2.0", id:number, method:string}');
  });

  it('names the start of a line that is not JSON', () => {
    const r = spawnSync(faultWorker.command, faultWorker.args, { input: 'hello worker\n', encoding: 'utf8', timeout: 60_000 });
    const line = JSON.parse(r.stdout.trim()) as Line;
    expect(line.error?.code).toBe(RpcCode.ParseError);
    expect(line.error?.message).toMatch(/^parse error: not JSON: .*\(message starts "hello worker"\)$/);
  });
});

describe('harness client framing', () => {
  let w: WorkerProcess | undefined;
  afterEach(async () => {
    await w?.kill();
    w = undefined;
  });

  it('reads a response split across writes and one without a final newline before exit; other stdout goes to the tail', async () => {
    const path = join(dir, 'split.mjs');
    writeFileSync(
      path,
      `import { createInterface } from 'node:readline';
createInterface({ input: process.stdin }).on('line', (l) => {
  const r = JSON.parse(l);
  const text = JSON.stringify({ jsonrpc: '2.0', id: r.id, result: { got: r.params.v } });
  if (r.params.v === 1) {
    process.stdout.write('{"jsonrpc":"2.0","method":"note"}\\n');
    process.stdout.write(text.slice(0, 10));
    setTimeout(() => process.stdout.write(text.slice(10) + '\\r\\n'), 30);
  } else {
    process.stdout.write(text, () => process.exit(0));
  }
});
`,
    );
    w = new WorkerProcess({ command: process.execPath, args: [path] }, { requestTimeoutMs: 20_000 });
    await w.start();
    expect(await w.request('echo', { v: 1 })).toEqual({ got: 1 });
    expect(await w.request('echo', { v: 2 })).toEqual({ got: 2 });
    expect(w.stderrTail()).toContain('[stdout] {"jsonrpc":"2.0","method":"note"}');
  });

  it('keeps the worker code numbers: -32001 is unsupported, -32002 a state error', async () => {
    const path = join(dir, 'codes.mjs');
    writeFileSync(
      path,
      `import { createInterface } from 'node:readline';
createInterface({ input: process.stdin }).on('line', (l) => {
  const r = JSON.parse(l);
  process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: r.id, error: { code: r.params.code, message: 'm' } }) + '\\n');
});
`,
    );
    w = new WorkerProcess({ command: process.execPath, args: [path] }, { requestTimeoutMs: 20_000 });
    await w.start();
    const codeOf = async (code: number): Promise<string> => ((await w!.request('x', { code }).catch((e: unknown) => e)) as WorkerFailure).code;
    expect(await codeOf(RpcCode.Unsupported)).toBe('E_UNSUPPORTED');
    expect(await codeOf(-32001)).toBe('E_UNSUPPORTED');
    expect(await codeOf(RpcCode.State)).toBe('E_ENGINE');
    expect(await codeOf(RpcCode.InvalidParams)).toBe('E_INTERNAL');
    expect(await codeOf(RpcCode.Engine)).toBe('E_ENGINE');
  });
});
