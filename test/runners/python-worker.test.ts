/**
 * The shared Python worker protocol (runner-agents/python/benchalign_worker/protocol.py),
 * driven through a real Python process running a test-only engine (test/fixtures/python:
 * y = 2x + 1 in NumPy) so that the protocol is checked apart from any real engine.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pythonPath, pythonWorkerCommand, pythonWorkersDir } from '../../src/runners/python/env.js';
import { WorkerProcess } from '../../src/runners/worker-client.js';
import { readNpy, writeNpy } from '../../src/tensors/npy.js';
import { makeTensor } from '../../src/tensors/tensor.js';
import { REPO } from './helpers.js';

const hasPython = existsSync(pythonPath());
if (!hasPython) console.log(`skipped: no Python venv at ${pythonPath()} (npm test creates it; or run benchalign engines setup)`);

function echoWorker(extra: string[] = []): WorkerProcess {
  const base = pythonWorkerCommand('unused');
  return new WorkerProcess(
    {
      command: base.command,
      args: ['-u', '-m', 'benchalign_test_workers.echo', ...extra],
      env: { ...base.env, PYTHONPATH: `${pythonWorkersDir()}:${join(REPO, 'test/fixtures/python')}` },
    },
    { label: 'echo worker', requestTimeoutMs: 20_000 },
  );
}

describe.skipIf(!hasPython)('Python worker protocol (real Python process, test-only echo engine)', () => {
  let dir = '';
  let w: WorkerProcess | undefined;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'benchalign-pyproto-'));
  });
  afterEach(async () => {
    await w?.kill();
    w = undefined;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function started(extra: string[] = []): Promise<WorkerProcess> {
    w = echoWorker(extra);
    await w.restart();
    return w;
  }

  it('answers hello while banners written to fd 1 and print() go to stderr', async () => {
    const worker = await started();
    const hello = await worker.request<{ protocol: number; engine: string; version: string; pid: number; devices: string[] }>('hello', {});
    expect(hello).toEqual({ protocol: 1, engine: 'echo', version: '0.0.1', pid: worker.pid, devices: ['cpu'] });
    expect(worker.stderrTail()).toContain('echo engine banner on fd 1');
    expect(worker.stderrTail()).toContain('echo engine banner via print()');
    expect(worker.stderrTail()).not.toContain('[stdout]');
  });

  it('loads, takes .npy inputs, infers 2x+1 and writes .npy outputs', async () => {
    const worker = await started();
    const load = await worker.request<{ loadMs: number; effectivePrecision: string; notes: string[]; appliedOptions: unknown; reconciliation: unknown }>('load', {
      modelPath: '/nonexistent/but/echo/ignores/it',
      options: { sleepMs: 0 },
      precision: 'fp32',
    });
    expect(load.loadMs).toBeGreaterThanOrEqual(0);
    expect(load).toMatchObject({
      effectivePrecision: 'fp32',
      notes: ['echo note'],
      appliedOptions: { sleepMs: 0 },
      reconciliation: { y: { engineName: 'out0', layout: ['added batch dim'] } },
    });
    const x = makeTensor('float32', [2, 4], Float32Array.from([0, 1, 2, 3, -1, -2, 0.5, 8]));
    await writeNpy(join(dir, 'x.npy'), x);
    await worker.request('setInputs', { inputs: { x: join(dir, 'x.npy') } });
    const res = await worker.request<{ outputs: Record<string, string>; latencyNs: number }>('infer', { outputDir: join(dir, 'out') });
    expect(res.latencyNs).toBeGreaterThan(0);
    const y = await readNpy(res.outputs.y!);
    expect(y.dims).toEqual([2, 4]);
    expect([...(y.data as Float32Array)]).toEqual([1, 3, 5, 7, -1, -3, 2, 17]);
  });

  it('measures single-stream and concurrent loops: sample counts, wall time, the shared monotonic clock', async () => {
    const worker = await started();
    await worker.request('load', { modelPath: '-', options: { sleepMs: 2 }, precision: 'fp32' });
    await writeNpy(join(dir, 'x2.npy'), makeTensor('float32', [1, 4], new Float32Array(4)));
    await worker.request('setInputs', { inputs: { x: join(dir, 'x2.npy') } });
    const before = process.hrtime.bigint();
    const one = await worker.request<{ samplesNs: number[]; wallNs: number; startedAtNs: number }>('measure', { iterations: 20, maxDurationMs: 10_000 });
    expect(one.samplesNs).toHaveLength(20);
    expect(Math.min(...one.samplesNs)).toBeGreaterThanOrEqual(2e6);
    expect(one.wallNs).toBeGreaterThanOrEqual(one.samplesNs.reduce((a, b) => a + b, 0));
    expect(BigInt(one.startedAtNs)).toBeGreaterThan(before);
    expect(BigInt(one.startedAtNs)).toBeLessThan(process.hrtime.bigint());
    // thread_safe engine, 4 in flight: the sleeps overlap, so the latencies add up to more than the wall time
    const four = await worker.request<{ samplesNs: number[]; wallNs: number }>('measure', { iterations: 40, maxDurationMs: 10_000, concurrency: 4 });
    expect(four.samplesNs).toHaveLength(40);
    expect(four.samplesNs.reduce((a, b) => a + b, 0)).toBeGreaterThan(2 * four.wallNs);
    const capped = await worker.request<{ samplesNs: number[] }>('measure', { iterations: 100_000, maxDurationMs: 50 });
    expect(capped.samplesNs.length).toBeGreaterThan(0);
    expect(capped.samplesNs.length).toBeLessThan(100);
  });

  it('reports every bad option at once, refuses a precision, and rejects out-of-order requests', async () => {
    const worker = await started();
    await expect(worker.request('load', { modelPath: '-', options: { sleepMs: -1, mode: 'x', bogus: 1 }, precision: 'fp32' })).rejects.toMatchObject({
      code: 'E_CONFIG',
      message: expect.stringMatching(/options\.sleepMs: expected an integer >= 0.*options\.mode: expected one of affine.*options\.bogus: unknown option/),
    });
    await expect(worker.request('load', { modelPath: '-', options: {}, precision: 'fp16' })).rejects.toMatchObject({ code: 'E_UNSUPPORTED' });
    await expect(worker.request('infer', { outputDir: dir })).rejects.toMatchObject({ code: 'E_ENGINE', message: expect.stringContaining('infer before load') });
    await worker.request('load', { modelPath: '-', options: {}, precision: 'fp32' });
    await expect(worker.request('measure', { iterations: 1, maxDurationMs: 10 })).rejects.toMatchObject({ message: expect.stringContaining('measure before setInputs') });
    await expect(worker.request('setInputs', { inputs: { x: join(dir, 'missing.npy') } })).rejects.toMatchObject({
      code: 'E_IO',
      message: expect.stringContaining('missing.npy'),
    });
    await expect(worker.request('nope', {})).rejects.toMatchObject({ message: expect.stringContaining('unknown method nope') });
    // the worker survives all of that
    expect(worker.running).toBe(true);
  });

  it('an engine that cannot import stays up and tells why on every request', async () => {
    const worker = await started(['--fail-import']);
    await expect(worker.request('hello', {})).rejects.toMatchObject({
      code: 'E_ENGINE_MISSING',
      message: expect.stringContaining("No module named 'echo_bindings'"),
    });
    expect(worker.running).toBe(true);
  });

  it('exits with code 0 on shutdown and when stdin closes', async () => {
    const worker = await started();
    await worker.request('shutdown', {});
    await new Promise((r) => setTimeout(r, 200));
    expect(worker.running).toBe(false);
    expect(worker.lastExit?.exitCode ?? 0).toBe(0);
  });
});
