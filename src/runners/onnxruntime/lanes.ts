/**
 * Concurrent requests for the ONNX Runtime worker. onnxruntime-node's `session.run` is
 * asynchronous in name only: it runs the graph synchronously on the JS thread (after a
 * `setImmediate`), so N `run` promises in flight on one thread execute one after another.
 * Real concurrency needs N threads: each lane is a `worker_threads` thread with its own
 * InferenceSession of the same model and options, and its own copy of the inputs (N sessions
 * hold N copies of the weights). Lanes are started once per loaded model and kept until it is
 * unloaded; a measurement starts after all lanes are ready, so session creation is not timed.
 *
 * Runs inside the worker process only (./worker.ts), never in the harness. Lanes cannot be
 * timed on the main thread: their latency is taken on each lane, around its own request.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type * as ort from 'onnxruntime-node';

/**
 * The lane thread's code, CommonJS run with `eval` (a `.ts` file would need the tsx loader,
 * which worker threads do not inherit). It loads onnxruntime-node from the path the worker
 * resolved, creates its session, then for each measurement takes request numbers from the
 * shared counter until all are taken or the deadline passes, running each synchronously on
 * its own thread, and answers each request's [start, end] (monotonic ns, decimal strings).
 */
const LANE_THREAD = `
const { parentPort: port, workerData: init } = require('node:worker_threads');
const ort = require(init.ortPath);
(async () => {
  let session;
  try {
    session = await ort.InferenceSession.create(init.modelPath, init.sessionOptions);
  } catch (e) {
    port.postMessage({ kind: 'error', message: 'cannot load ' + init.modelPath + ' in a concurrency lane: ' + e.message });
    return;
  }
  const feeds = {};
  for (const [name, t] of Object.entries(init.feeds)) feeds[name] = new ort.Tensor(t.type, t.data, [...t.dims]);
  port.on('message', async (m) => {
    const counter = new Int32Array(m.counter);
    const deadline = BigInt(m.deadlineNs);
    const result = { startsNs: [], endsNs: [] };
    try {
      while (true) {
        const n = Atomics.add(counter, 0, 1);
        if (n >= m.iterations) break;
        if (n > 0 && process.hrtime.bigint() >= deadline) break;
        const t0 = process.hrtime.bigint();
        await session.run(feeds);
        const t1 = process.hrtime.bigint();
        result.startsNs.push(t0.toString());
        result.endsNs.push(t1.toString());
      }
      port.postMessage({ kind: 'result', result });
    } catch (e) {
      port.postMessage({ kind: 'error', message: 'a concurrency lane failed: ' + e.message });
    }
  });
  port.postMessage({ kind: 'ready' });
})();
`;

/** A tensor as it crosses to a lane (structured clone copies its data). */
interface LaneTensor {
  type: ort.Tensor.Type;
  dims: readonly number[];
  data: ort.Tensor.DataType;
}

/** What a lane is started with (`workerData`). */
interface LaneInit {
  /** Resolved path of onnxruntime-node, for the thread's `require`. */
  ortPath: string;
  modelPath: string;
  sessionOptions: ort.InferenceSession.SessionOptions;
  feeds: Record<string, LaneTensor>;
}

/** A measurement a lane takes part in. */
interface LaneMeasure {
  /** Shared counter of requests started by all lanes (Int32Array over a SharedArrayBuffer). */
  counter: SharedArrayBuffer;
  iterations: number;
  /** Monotonic ns (decimal string) after which no lane starts a new request. */
  deadlineNs: string;
}

/** A lane's answer to a measurement: its requests' [start, end] on the monotonic clock, ns (decimal strings). */
interface LaneResult {
  startsNs: string[];
  endsNs: string[];
}

type LaneMsg = { kind: 'ready' } | { kind: 'error'; message: string } | { kind: 'result'; result: LaneResult };

/** One lane: a thread with its own session. */
class Lane {
  private readonly worker: Worker;
  private pending: { resolve: (r: LaneResult) => void; reject: (e: Error) => void } | undefined;
  readonly ready: Promise<void>;

  constructor(init: LaneInit) {
    this.worker = new Worker(LANE_THREAD, { eval: true, workerData: init });
    this.ready = new Promise<void>((resolve, reject) => {
      const fail = (e: Error): void => {
        reject(e);
        this.pending?.reject(e);
        this.pending = undefined;
      };
      this.worker.on('message', (m: LaneMsg) => {
        if (m.kind === 'ready') resolve();
        else if (m.kind === 'error') fail(new Error(m.message));
        else {
          this.pending?.resolve(m.result);
          this.pending = undefined;
        }
      });
      this.worker.on('error', fail);
      this.worker.on('exit', (code) => fail(new Error(`a concurrency lane thread exited (code ${code})`)));
    });
    // An unobserved failure before anyone awaits `ready` must not crash the worker.
    this.ready.catch(() => undefined);
  }

  measure(m: LaneMeasure): Promise<LaneResult> {
    return new Promise<LaneResult>((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage(m);
    });
  }

  async close(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }
}

/** What a concurrent measurement returns: latency per request and the wall time, plus the raw intervals. */
export interface ConcurrentMeasurement {
  samplesNs: number[];
  wallNs: number;
  startedAtNs: number;
  /** Each request's [start, end], monotonic ns, in completion order per lane. */
  intervalsNs: Array<[bigint, bigint]>;
}

/** The lanes of one loaded model. */
export class Lanes {
  private readonly lanes: Lane[] = [];

  private readonly init: Omit<LaneInit, 'feeds'>;

  constructor(init: Omit<LaneInit, 'feeds' | 'ortPath'>) {
    this.init = { ...init, ortPath: createRequire(import.meta.url).resolve('onnxruntime-node') };
  }

  /** Runs `iterations` requests (at least one) over `concurrency` lanes until done or `maxDurationMs`. */
  async measure(feeds: Record<string, ort.Tensor>, concurrency: number, iterations: number, maxDurationMs: number): Promise<ConcurrentMeasurement> {
    const laneFeeds: Record<string, LaneTensor> = {};
    for (const [name, t] of Object.entries(feeds)) laneFeeds[name] = { type: t.type, dims: [...t.dims], data: t.data };
    // Lanes keep the feeds they were started with; new feeds (setInputs) start new lanes.
    if (this.lanes.length > 0 && this.feedsOf !== feeds) await this.close();
    this.feedsOf = feeds;
    while (this.lanes.length < concurrency) this.lanes.push(new Lane({ ...this.init, feeds: laneFeeds }));
    const use = this.lanes.slice(0, concurrency);
    await Promise.all(use.map((l) => l.ready));
    const counter = new SharedArrayBuffer(4);
    const start = process.hrtime.bigint();
    const deadlineNs = (start + BigInt(Math.round(maxDurationMs * 1e6))).toString();
    const results = await Promise.all(use.map((l) => l.measure({ counter, iterations, deadlineNs })));
    const intervalsNs: Array<[bigint, bigint]> = [];
    let end = start;
    for (const r of results) {
      r.startsNs.forEach((s, i) => {
        const e = BigInt(r.endsNs[i] as string);
        intervalsNs.push([BigInt(s), e]);
        if (e > end) end = e;
      });
    }
    return { samplesNs: intervalsNs.map(([s, e]) => Number(e - s)), wallNs: Number(end - start), startedAtNs: Number(start), intervalsNs };
  }

  private feedsOf: Record<string, ort.Tensor> | undefined;

  async close(): Promise<void> {
    const all = this.lanes.splice(0);
    await Promise.all(all.map((l) => l.close()));
  }
}
