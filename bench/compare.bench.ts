/**
 * Full compare() over two 64M-element float32 tensors, in GB/s of input (bytes of both
 * tensors / time), next to a plain memory copy of the same data in the same run.
 */
import { compare } from '../src/alignment/compare.js';
import { makeTensor } from '../src/tensors/tensor.js';

const N = 64 * 1024 * 1024;
const REPEATS = 3;

function best(f: () => void): number {
  let bestS = Infinity;
  for (let i = 0; i < REPEATS; i++) {
    const t0 = process.hrtime.bigint();
    f();
    bestS = Math.min(bestS, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return bestS;
}

export async function run(): Promise<void> {
  const ref = new Float32Array(N);
  const act = new Float32Array(N);
  let seed = 12345;
  for (let i = 0; i < N; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const r = (seed / 2 ** 32 - 0.5) * 4;
    ref[i] = r;
    act[i] = r * (1 + 3e-6 * Math.sin(i)) + 1e-6 * Math.cos(i * 0.37);
  }
  const A = makeTensor('float32', [N / 1024, 1024], act);
  const R = makeTensor('float32', [N / 1024, 1024], ref);
  const bytes = 2 * N * 4;
  const dst = new Float32Array(N);
  const copyS = best(() => {
    dst.set(act);
    dst.set(ref);
  });
  const tol = { atol: 1e-5, rtol: 1e-5 };
  const small = makeTensor('float32', [4096], act.subarray(0, 4096));
  for (let i = 0; i < 20; i++) compare(small, makeTensor('float32', [4096], ref.subarray(0, 4096)), tol);
  let out = compare(A, R, tol);
  const fullS = best(() => {
    out = compare(A, R, tol);
  });
  const noHistS = best(() => {
    compare(A, R, tol, { histogram: false });
  });
  const gbps = (s: number): string => (bytes / s / 1e9).toFixed(2);
  console.log(`inputs: 2 x ${N} float32 (${(bytes / 2 ** 20).toFixed(0)} MiB), best of ${REPEATS}`);
  console.log(`memory copy (Float32Array.set, same bytes): ${gbps(copyS)} GB/s`);
  console.log(`compare, full metrics + histogram:          ${gbps(fullS)} GB/s  (${(copyS / fullS).toFixed(3)} x copy)`);
  console.log(`compare, full metrics, no histogram:        ${gbps(noHistS)} GB/s  (${(copyS / noHistS).toFixed(3)} x copy)`);
  console.log(`  (sanity: max abs ${out.maxAbsError.toExponential(3)}, mismatches ${out.mismatchCount})`);
  const met = bytes / fullS / 1e9 >= 1;
  console.log(`target >= 1 GB/s single thread (full metrics + histogram): ${met ? 'MET' : 'NOT MET'}`);
}
