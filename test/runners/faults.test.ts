/**
 * Fault injection through the FAKE `test-fault` engine (src/runners/fault/): each fault
 * fails only the request in flight, with the right code and the worker's stderr tail, and
 * the next activate() starts a fresh worker that works.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FaultRunner, type FaultRunnerConfig } from '../../src/runners/fault/runner.js';
import { WorkerFailure } from '../../src/runners/worker-client.js';
import { makeTensor } from '../../src/tensors/tensor.js';
import { FIXTURES, activate, requireFixtures } from './helpers.js';

const MODEL = () => `${FIXTURES}mlp.onnx`;
const feeds = new Map([['x', makeTensor('float32', [3], new Float32Array([1, 2, 3]))]]);
let runner: FaultRunner | undefined;

function make(config: FaultRunnerConfig = {}): FaultRunner {
  runner = new FaultRunner({ requestTimeoutMs: 20_000, ...config });
  return runner;
}

async function failure(p: Promise<unknown>): Promise<WorkerFailure> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(WorkerFailure);
  return e as WorkerFailure;
}

async function recovers(r: FaultRunner, deadPid: number): Promise<void> {
  const info = await activate(r, MODEL(), { fault: 'none' });
  expect(info.pid).not.toBe(deadPid);
  const out = await r.infer(feeds);
  expect([...(out.get('y')?.data ?? [])]).toEqual([1, 2, 3]);
}

describe('fault injection (fake test-fault engine)', () => {
  beforeAll(requireFixtures);
  afterEach(async () => {
    await runner?.dispose();
    runner = undefined;
  });

  for (const [fault, signal] of [
    ['abort', 'SIGABRT'],
    ['segv', 'SIGSEGV'],
  ] as const) {
    it(`${fault}: the in-flight infer fails with E_WORKER, ${signal} and the stderr tail; the next activate restarts`, async () => {
      const r = make();
      const { pid } = await activate(r, MODEL(), { fault });
      const e = await failure(r.infer(feeds));
      expect(e.code).toBe('E_WORKER');
      expect(e.exit?.signal).toBe(signal);
      expect(e.exit?.pid).toBe(pid);
      expect(e.message).toContain(`died during "infer": killed by ${signal}`);
      expect(e.stderrTail).toContain('fault worker: injecting ' + fault + ' during infer');
      expect(e.message).toContain('fault worker: injecting');
      const after = await r.infer(feeds).catch((x: unknown) => x);
      expect((after as WorkerFailure).code).toBe('E_WORKER');
      await recovers(r, pid);
    });
  }

  it('exit: a worker exiting with a code reports it', async () => {
    const r = make();
    const { pid } = await activate(r, MODEL(), { fault: 'exit', exitCode: 7, faultAt: 'measure' });
    await r.infer(feeds);
    const e = await failure(r.measure(feeds, { iterations: 10, maxDurationMs: 1000 }));
    expect(e.code).toBe('E_WORKER');
    expect(e.exit).toMatchObject({ exitCode: 7, signal: null, reason: 'exited with code 7' });
    await recovers(r, pid);
  });

  it('hang: the request times out, the worker is killed within the timeout + margin', async () => {
    const r = make({ requestTimeoutMs: 700 });
    const { pid } = await activate(r, MODEL(), { fault: 'hang' });
    const t0 = Date.now();
    const e = await failure(r.infer(feeds));
    const elapsedMs = Date.now() - t0;
    expect(e.code).toBe('E_TIMEOUT');
    expect(e.message).toContain('did not answer "infer" within 700 ms; killed');
    expect(e.stderrTail).toContain('injecting hang during infer');
    expect(elapsedMs).toBeGreaterThanOrEqual(690);
    expect(elapsedMs).toBeLessThan(700 + 1500);
    expect(() => process.kill(pid, 0)).toThrow();
    await recovers(r, pid);
  });

  it('hang in measure: the timeout is maxDurationMs + the grace', async () => {
    const r = make({ measureGraceMs: 300 });
    await activate(r, MODEL(), { fault: 'hang', faultAt: 'measure' });
    const t0 = Date.now();
    const e = await failure(r.measure(feeds, { iterations: 5, maxDurationMs: 200 }));
    expect(e.code).toBe('E_TIMEOUT');
    expect(Date.now() - t0).toBeLessThan(500 + 1500);
  });

  it('leak: the harness RSS watchdog kills the worker past maxRssBytes and says out of memory', async () => {
    const maxRssBytes = 256 * 1048576;
    const r = make({ maxRssBytes });
    const { pid } = await activate(r, MODEL(), { fault: 'leak', leakStepBytes: 64 * 1048576, leakIntervalMs: 50, leakCapBytes: 1024 * 1048576 });
    const e = await failure(r.infer(feeds));
    expect(e.code).toBe('E_WORKER');
    expect(e.message).toMatch(/out of memory \(rss \d+ MiB > limit 256 MiB\); killed/);
    expect(e.exit?.signal).toBe('SIGKILL');
    expect(e.stderrTail).toMatch(/fault worker: leaked \d+ MiB/);
    await recovers(r, pid);
  });

  it('heap-leak under --max-old-space-size: the V8 heap limit kills it, reported as out of memory', async () => {
    const r = make({ nodeArgs: ['--max-old-space-size=48'] });
    const { pid } = await activate(r, MODEL(), { fault: 'heap-leak', leakStepBytes: 16 * 1048576, leakIntervalMs: 10 });
    const e = await failure(r.infer(feeds));
    expect(e.code).toBe('E_WORKER');
    expect(e.message).toMatch(/out of memory/);
    expect(e.stderrTail).toMatch(/heap/i);
    await recovers(r, pid);
  });

  it('load-fail: activate fails with E_ENGINE, the worker stays up and loads the next model', async () => {
    const r = make();
    const e = await failure(activate(r, MODEL(), { fault: 'load-fail' }));
    expect(e.code).toBe('E_ENGINE');
    expect(e.message).toContain('model failed to load (injected)');
    const pid = r.workerPid;
    expect(pid).toBeDefined();
    const info = await activate(r, MODEL(), {});
    expect(info.pid).toBe(pid);
  });
});
