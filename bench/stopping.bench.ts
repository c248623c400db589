/**
 * Time to a stable result: adaptive stopping (MSER warm-up, stop when the p50 CI is within
 * ±1% and the p99 CI within ±5%) against a fixed 3-second run after a 200 ms warm-up
 * (trtexec's defaults), on the bundled CNN, same runner, same process count, in one run.
 * Prints each one's wall time and the CI half-widths it reached.
 */
import { fileURLToPath } from 'node:url';
import { percentileCi, samplesNsToMs, sortSamples } from '../src/metrics/percentile.js';
import { relHalfWidth } from '../src/metrics/stopping.js';
import { OnnxRuntimeRunner } from '../src/runners/onnxruntime/runner.js';
import { expandJobs, loadSuite } from '../src/suite/index.js';
import { executeRepeat } from '../src/execution/execute-job.js';
import { buildInputs } from '../src/execution/inputs.js';

const SUITE = fileURLToPath(new URL('../suites/smoke.yaml', import.meta.url));

function widths(samplesMs: number[]): { p50: number; p99: number } {
  const s = sortSamples(samplesMs);
  return { p50: relHalfWidth(percentileCi(s, 0.5)) * 100, p99: relHalfWidth(percentileCi(s, 0.99)) * 100 };
}

export async function run(): Promise<void> {
  const suite = await loadSuite(SUITE);
  const job = expandJobs(suite, { models: ['cnn'] })[0];
  if (!job) throw new Error('smoke suite has no cnn job');
  job.measurement = { ...job.measurement, concurrency: [1], maxDurationMs: 20_000, minDurationMs: 1000 };
  const rounds = 3;
  for (let round = 1; round <= rounds; round++) {
    const adaptive = new OnnxRuntimeRunner();
    const t0 = process.hrtime.bigint();
    const outcome = await executeRepeat(job, adaptive, { mode: 'benchmark' });
    const adaptiveS = Number(process.hrtime.bigint() - t0) / 1e9;
    await adaptive.dispose();
    const steady = samplesNsToMs(outcome.allSamplesNs.slice(outcome.warmupDiscarded));
    const wa = widths(steady);

    const fixed = new OnnxRuntimeRunner();
    const t1 = process.hrtime.bigint();
    const opts = { precision: job.engine.precision, options: job.engine.options };
    const act = await fixed.activate(await fixed.prepare(job.model, opts), job.model, opts);
    const feeds = await buildInputs(job.model.inputs, act.inputs, job.model.shapes);
    await fixed.measure(feeds, { iterations: 1e9, maxDurationMs: 200 });
    const res = await fixed.measure(feeds, { iterations: 1e9, maxDurationMs: 3000 });
    const fixedS = Number(process.hrtime.bigint() - t1) / 1e9;
    await fixed.dispose();
    const wf = widths(samplesNsToMs(res.samplesNs));

    console.log(
      `round ${round}: adaptive ${adaptiveS.toFixed(2)} s (${steady.length} samples, stop: ${outcome.stopping?.reason}, p50 CI ±${wa.p50.toFixed(3)}%, p99 CI ±${wa.p99.toFixed(2)}%)` +
        ` | fixed 3 s: ${fixedS.toFixed(2)} s (${res.samplesNs.length} samples, p50 CI ±${wf.p50.toFixed(3)}%, p99 CI ±${wf.p99.toFixed(2)}%)` +
        ` | time ratio adaptive/fixed ${(adaptiveS / fixedS).toFixed(2)}`,
    );
  }
}
