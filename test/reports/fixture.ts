/**
 * Real results for the report tests: the run pipeline on the bundled models with two
 * ONNX Runtime variants, a model with a wrong reference (a failed job) and a test-only
 * engine that fails to load (errored jobs).
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSuite } from '../../src/workflows/run.js';
import type { RunResults } from '../../src/model/record.js';
import { encodeNpy } from '../../src/tensors/npy.js';
import { readTensors } from '../../src/tensors/read.js';
import { QUICK, cnnModel, tempDir, transformerModel, writeSuite } from '../agents/helpers.js';

export interface ReportFixture {
  dir: string;
  /** Run folder of the real run. */
  runDir: string;
  results: RunResults;
  /** A copy of the run as if measured on a second device (results.json path). */
  otherDevicePath: string;
  otherDevice: RunResults;
}

const ort = (label: string, threads: number) => ({ name: 'onnxruntime', label, precision: 'fp32', options: { intraOpThreads: threads, interOpThreads: 1 } });

export async function makeReportFixture(): Promise<ReportFixture> {
  const prev = process.env.BENCHALIGN_TEST_ENGINES;
  process.env.BENCHALIGN_TEST_ENGINES = '1';
  try {
    const dir = tempDir('report');
    const ref = (await readTensors(cnnModel().reference as string)).tensors.get('logits');
    if (!ref) throw new Error('bundled cnn reference has no logits');
    const wrong = Float32Array.from(ref.data as Float32Array, (v, i) => (i === 3 ? v + 0.5 : v));
    writeFileSync(join(dir, 'wrong-logits.npy'), encodeNpy({ dtype: 'float32', dims: ref.dims, data: wrong }));
    const suite = writeSuite(dir, {
      name: 'report-fixture',
      models: [cnnModel({ outputs: { logits: { topK: 5 } } }), transformerModel(), cnnModel({ name: 'cnn-wrongref', reference: join(dir, 'wrong-logits.npy') })],
      engines: [ort('t1', 1), ort('t2', 2), { name: 'test-fault', label: 'loadfail', precision: 'fp32', options: { fault: 'load-fail' } }],
      measurement: { ...QUICK, concurrency: [1, 2], maxDurationMs: 600 },
    });
    const runDir = join(dir, 'run');
    const { results } = await runSuite({ suitePath: suite, outDir: runDir, quiet: true });
    // The same run as if it came from another machine: a different fingerprint, 1.5x slower.
    const other = JSON.parse(readFileSync(join(runDir, 'results.json'), 'utf8')) as RunResults;
    const slow = (e: { value: number; low: number; high: number }) => ({ ...e, value: e.value * 1.5, low: e.low * 1.5, high: e.high * 1.5 });
    other.run.id = `${other.run.id}-other`;
    for (const j of other.jobs) {
      j.device = { ...(j.device ?? results.device!), hostname: 'board-2', cpuModel: 'Cortex-A76', arch: 'arm64', hash: 'f'.repeat(64) };
      if (j.latency) for (const k of ['p50', 'p90', 'p95', 'p99', 'p999'] as const) j.latency.percentiles[k] = slow(j.latency.percentiles[k]);
      if (j.samplesNs) j.samplesNs = j.samplesNs.map((r) => r.map((x) => Math.round(x * 1.5)));
      for (const t of j.throughput ?? []) t.itemsPerSec /= 1.5;
    }
    other.device = other.jobs[0]?.device ?? other.device;
    cpSync(runDir, join(dir, 'other'), { recursive: true });
    const otherDevicePath = join(dir, 'other', 'results.json');
    writeFileSync(otherDevicePath, JSON.stringify(other));
    return { dir, runDir, results, otherDevicePath, otherDevice: other };
  } finally {
    if (prev === undefined) delete process.env.BENCHALIGN_TEST_ENGINES;
    else process.env.BENCHALIGN_TEST_ENGINES = prev;
  }
}
