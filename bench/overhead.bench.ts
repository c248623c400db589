/**
 * Harness overhead: the bundled CNN's p50 as the ONNX Runtime runner measures it (worker
 * process, JSON-RPC, timing loop in the worker) against a bare onnxruntime-node loop in
 * this process, same session options, interleaved round by round in the same run.
 * Target: worker p50 / bare p50 <= 1.03.
 */
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { percentile, sortSamples } from '../src/metrics/percentile.js';
import { OnnxRuntimeRunner } from '../src/runners/onnxruntime/runner.js';
import { makeTensor } from '../src/tensors/tensor.js';

const MODEL = fileURLToPath(new URL('../suites/models/cnn/model.onnx', import.meta.url));
const THREADS = 1;
const ROUNDS = 8;
const ITERATIONS_PER_ROUND = 300;
const WARMUP_ITERATIONS = 200;

function p50(xs: readonly number[]): number {
  return percentile(sortSamples(xs), 0.5);
}

function seededInput(n: number): Float32Array {
  const out = new Float32Array(n);
  let x = 12345;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x / 2 ** 32 - 0.5;
  }
  return out;
}

async function bareLoop(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>, iterations: number): Promise<number[]> {
  const samplesNs: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    samplesNs.push(Number(process.hrtime.bigint() - t0));
  }
  return samplesNs;
}

export async function run(): Promise<void> {
  const dims = [1, 3, 32, 32];
  const data = seededInput(dims.reduce((a, b) => a * b, 1));
  const runner = new OnnxRuntimeRunner();
  const info = await runner.activate(
    { path: MODEL },
    { name: 'cnn', path: MODEL, sha256: '' },
    { precision: 'fp32', options: { intraOpThreads: THREADS, interOpThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential' } },
  );
  const inputName = info.inputs[0]?.name ?? 'input';
  const feeds = new Map([[inputName, makeTensor('float32', dims, data)]]);
  const session = await ort.InferenceSession.create(MODEL, {
    executionProviders: ['cpu'],
    intraOpNumThreads: THREADS,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    logSeverityLevel: 3,
  });
  const bareFeeds = { [inputName]: new ort.Tensor('float32', data, dims) };
  try {
    await runner.measure(feeds, { iterations: WARMUP_ITERATIONS, maxDurationMs: 60_000 });
    await bareLoop(session, bareFeeds, WARMUP_ITERATIONS);
    const worker: number[] = [];
    const bare: number[] = [];
    const roundRatios: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const measureWorker = async (): Promise<number[]> =>
        (await runner.measure(feeds, { iterations: ITERATIONS_PER_ROUND, maxDurationMs: 60_000 })).samplesNs;
      const measureBare = (): Promise<number[]> => bareLoop(session, bareFeeds, ITERATIONS_PER_ROUND);
      let w: number[];
      let b: number[];
      if (r % 2 === 0) {
        w = await measureWorker();
        b = await measureBare();
      } else {
        b = await measureBare();
        w = await measureWorker();
      }
      worker.push(...w);
      bare.push(...b);
      roundRatios.push(p50(w) / p50(b));
    }
    const wP50Ms = p50(worker) / 1e6;
    const bP50Ms = p50(bare) / 1e6;
    const ratio = wP50Ms / bP50Ms;
    console.log(`model: suites/models/cnn/model.onnx, intraOpThreads=${THREADS}, ${ROUNDS} interleaved rounds x ${ITERATIONS_PER_ROUND} iterations each`);
    console.log(`benchalign runner (worker pid ${info.pid}) p50: ${wP50Ms.toFixed(4)} ms`);
    console.log(`bare onnxruntime-node loop (in-process)  p50: ${bP50Ms.toFixed(4)} ms`);
    console.log(`ratio runner/bare: ${ratio.toFixed(4)} (target <= 1.03) ${ratio <= 1.03 ? 'OK' : 'ABOVE TARGET'}`);
    console.log(`per-round ratios: ${roundRatios.map((x) => x.toFixed(3)).join(' ')} (median ${p50(roundRatios).toFixed(4)})`);
  } finally {
    await session.release();
    await runner.dispose();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await run();
