/**
 * Loading a suite of 10,000 models (each its own small ONNX file, with a reference .npy), as
 * `run` does before its first job: loadSuite, the name checks (ONNX I/O names), expandJobs and
 * the read of every tensor file. Prints the time of each stage and the peak RSS growth (a
 * 10 ms RSS poll on the main thread). Targets (issue 14): under 10 s and under 1 GB.
 * Files live in os.tmpdir() and are deleted afterwards. BENCH_SUITE_MODELS=N changes the count.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { loadSuite } from '../src/suite/load.js';
import { expandJobs } from '../src/suite/matrix.js';
import { checkSuiteNames } from '../src/suite/names.js';
import { engineNames } from '../src/runners/registry.js';
import { checkTensorFiles } from '../src/suite/tensor-files.js';
import { ONNX_PROTO } from '../src/tensors/onnx-schema.js';
import { writeNpy } from '../src/tensors/npy.js';
import { makeTensor } from '../src/tensors/tensor.js';

const N = Number(process.env.BENCH_SUITE_MODELS ?? 10_000);

/** A one-node ONNX model (Abs, x -> y, float [1, 4]); `salt` makes each file's bytes distinct. */
let modelType: protobuf.Type | undefined;
function tinyModel(salt: number): Uint8Array {
  const Model = (modelType ??= protobuf.parse(ONNX_PROTO, { keepCase: true }).root.lookupType('onnx.ModelProto'));
  const vi = (name: string) => ({ name, type: { tensor_type: { elem_type: 1, shape: { dim: [{ dim_value: 1 }, { dim_value: 4 }] } } } });
  return Model.encode(
    Model.fromObject({
      ir_version: 8,
      producer_name: `bench-${salt}`,
      opset_import: [{ domain: '', version: 17 }],
      graph: { name: 'g', node: [{ op_type: 'Abs', input: ['x'], output: ['y'] }], input: [vi('x')], output: [vi('y')] },
    }),
  ).finish();
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'benchalign-bench-suite-'));
  try {
    mkdirSync(join(dir, 'm'));
    const ref = join(dir, 'y.npy');
    await writeNpy(ref, makeTensor('float32', [1, 4], new Float32Array([1, 2, 3, 4])));
    await writeNpy(join(dir, 'x.npy'), makeTensor('float32', [1, 4], new Float32Array([-1, 2, -3, 4])));
    const lines = ['name: big', 'engines: [{ name: onnxruntime }]', 'models:'];
    for (let i = 0; i < N; i++) {
      writeFileSync(join(dir, 'm', `${i}.onnx`), tinyModel(i));
      lines.push(`  - { name: m${i}, path: m/${i}.onnx, inputs: { source: reference, file: x.npy }, reference: y.npy, outputs: { y: { atol: 1e-4 } } }`);
    }
    const suiteFile = join(dir, 'suite.yaml');
    writeFileSync(suiteFile, `${lines.join('\n')}\n`);
    (globalThis as { gc?: () => void }).gc?.();
    const rss0 = process.memoryUsage().rss;
    let peak = rss0;
    const poll = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
    const t0 = performance.now();
    const suite = await loadSuite(suiteFile);
    const t1 = performance.now();
    await checkSuiteNames(suite, engineNames());
    const t2 = performance.now();
    const jobs = expandJobs(suite);
    const t3 = performance.now();
    await checkTensorFiles(suite, jobs);
    const t4 = performance.now();
    clearInterval(poll);
    peak = Math.max(peak, process.memoryUsage().rss);
    const s = (a: number, b: number) => `${((b - a) / 1000).toFixed(2)} s`;
    console.log(`${N} models (${jobs.length} jobs), suite ${(Buffer.byteLength(lines.join('\n')) / 2 ** 20).toFixed(1)} MiB of YAML`);
    console.log(`  loadSuite        ${s(t0, t1)}`);
    console.log(`  name checks      ${s(t1, t2)}`);
    console.log(`  expandJobs       ${s(t2, t3)}`);
    console.log(`  tensor files     ${s(t3, t4)}`);
    console.log(`  total            ${s(t0, t4)} (target < 10 s)`);
    console.log(`  peak RSS growth  ${((peak - rss0) / 2 ** 20).toFixed(0)} MiB (RSS ${(peak / 2 ** 20).toFixed(0)} MiB; target < 1 GB)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
