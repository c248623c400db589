import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WorkerProcess, describeExit, readRssBytes, tailLines, type WorkerFailure } from '../../src/runners/worker-client.js';
import { nodeWorkerCommand } from '../../src/runners/worker-entry.js';

describe('describeExit / tailLines (pure)', () => {
  it('names signals, exit codes and out-of-memory', () => {
    expect(describeExit(null, 'SIGSEGV', '')).toBe('killed by SIGSEGV (segmentation fault)');
    expect(describeExit(null, 'SIGABRT', 'some log')).toBe('killed by SIGABRT (aborted)');
    expect(describeExit(null, 'SIGKILL', '')).toMatch(/OOM killer/);
    expect(describeExit(2, null, '')).toBe('exited with code 2');
    expect(describeExit(null, 'SIGABRT', 'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory')).toMatch(/^out of memory \(killed by SIGABRT/);
  });
  it('keeps the last lines', () => {
    expect(tailLines('a\nb\nc\n', 2)).toBe('b\nc');
    expect(tailLines('only', 5)).toBe('only');
  });
});

describe('WorkerProcess with a hand-written protocol worker', () => {
  let w: WorkerProcess | undefined;
  const dirs: string[] = [];
  afterEach(async () => {
    await w?.kill();
    w = undefined;
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  function script(body: string): string {
    const dir = mkdtempSync(join(tmpdir(), 'benchalign-wc-'));
    dirs.push(dir);
    const path = join(dir, 'w.mjs');
    writeFileSync(path, body);
    return path;
  }

  it('correlates out-of-order responses by id and keeps non-protocol stdout in the tail', async () => {
    const path = script(`
      import { createInterface } from 'node:readline';
      console.log('engine banner on stdout');
      const held = [];
      createInterface({ input: process.stdin }).on('line', (l) => {
        const r = JSON.parse(l);
        held.push(r);
        if (held.length === 2) for (const q of held.reverse()) process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: q.id, result: q.params.v }) + '\\n');
      });`);
    w = new WorkerProcess({ command: process.execPath, args: [path] });
    await w.start();
    const [a, b] = await Promise.all([w.request<number>('echo', { v: 1 }), w.request<number>('echo', { v: 2 })]);
    expect([a, b]).toEqual([1, 2]);
    expect(w.stderrTail()).toContain('[stdout] engine banner on stdout');
    expect(await readRssBytes(w.pid!)).toBeGreaterThan(1_000_000);
  });

  it('maps JSON-RPC errors to BenchalignError codes and keeps the stderr tail to 50 lines', async () => {
    const path = script(`
      import { createInterface } from 'node:readline';
      for (let i = 0; i < 80; i++) process.stderr.write('log line ' + i + '\\n');
      createInterface({ input: process.stdin }).on('line', (l) => {
        const r = JSON.parse(l);
        const error = r.method === 'unsupported'
          ? { code: -32001, message: 'no fp16 here', data: { expected: 'fp32' } }
          : { code: -32601, message: 'method not found: ' + r.method };
        setTimeout(() => process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: r.id, error }) + '\\n'), 50);
      });`);
    w = new WorkerProcess({ command: process.execPath, args: [path] }, { label: 'toy worker' });
    await w.start();
    const e1 = (await w.request('unsupported', {}).catch((e: unknown) => e)) as WorkerFailure;
    expect(e1.code).toBe('E_UNSUPPORTED');
    expect(e1.message).toBe('toy worker "unsupported" failed: no fp16 here (expected fp32)');
    const e2 = (await w.request('nope', {}).catch((e: unknown) => e)) as WorkerFailure;
    expect(e2.code).toBe('E_INTERNAL');
    const tail = w.stderrTail().split('\n');
    expect(tail).toHaveLength(50);
    expect(tail.at(-1)).toBe('log line 79');
  });

  it('a request to a stopped worker fails with E_WORKER; restart() gives a new pid', async () => {
    w = new WorkerProcess(nodeWorkerCommand(new URL('../../src/runners/fault/runner.ts', import.meta.url).href, './worker'));
    await w.start();
    const first = w.pid;
    expect((await w.request<{ engine: string }>('hello', {})).engine).toBe('test-fault');
    await w.stop();
    expect(w.running).toBe(false);
    const e = (await w.request('hello', {}).catch((x: unknown) => x)) as WorkerFailure;
    expect(e.code).toBe('E_WORKER');
    await w.restart();
    expect(w.pid).not.toBe(first);
    const hello = await w.request<{ pid: number; protocol: number }>('hello', {});
    expect(hello).toMatchObject({ pid: w.pid, protocol: 1 });
  });

  it('the Node worker server answers malformed lines with a JSON-RPC parse error on stdout', () => {
    const cmd = nodeWorkerCommand(new URL('../../src/runners/fault/runner.ts', import.meta.url).href, './worker');
    const r = spawnSync(cmd.command, cmd.args, { input: 'not json\n{"jsonrpc":"2.0","method":"hello"}\n', encoding: 'utf8', timeout: 20_000 });
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: null; error: { code: number } });
    expect(lines.map((l) => [l.id, l.error.code])).toEqual([
      [null, -32700],
      [null, -32600],
    ]);
    expect(r.status).toBe(0);
  });

  it('the Node worker server answers unknown methods and out-of-order requests with JSON-RPC errors', async () => {
    w = new WorkerProcess(nodeWorkerCommand(new URL('../../src/runners/fault/runner.ts', import.meta.url).href, './worker'));
    await w.start();
    const e = (await w.request('frobnicate', {}).catch((x: unknown) => x)) as WorkerFailure;
    expect(e.rpcError?.code).toBe(-32601);
    const e2 = (await w.request('infer', { outputDir: tmpdir() }).catch((x: unknown) => x)) as WorkerFailure;
    expect(e2.code).toBe('E_USAGE');
    expect(e2.rpcError?.code).toBe(-32002);
  });
});
