/**
 * Read throughput of a 256 MiB .npy and a 256 MiB .safetensors (float32), next to a plain
 * fs.readFileSync of the same file, in GB/s, with the ratio. Files live in os.tmpdir() and are
 * deleted afterwards.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNpySync, writeNpy } from '../src/tensors/npy.js';
import { readSafetensorsSync, writeSafetensors } from '../src/tensors/safetensors.js';
import { makeTensor } from '../src/tensors/tensor.js';

const BYTES = 256 * 2 ** 20;
const REPEATS = 5;

function best(fn: () => unknown): number {
  let bestS = Infinity;
  for (let i = 0; i < REPEATS; i++) {
    (globalThis as { gc?: () => void }).gc?.();
    const t0 = process.hrtime.bigint();
    fn();
    bestS = Math.min(bestS, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return bestS;
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'benchalign-bench-tensors-'));
  try {
    const data = new Float32Array(BYTES / 4);
    for (let i = 0; i < data.length; i++) data[i] = (i % 1000) * 0.001;
    const t = makeTensor('float32', [data.length / 1024, 1024], data);
    const npy = join(dir, 'big.npy');
    const st = join(dir, 'big.safetensors');
    await writeNpy(npy, t);
    await writeSafetensors(st, new Map([['big', t]]));
    const gbps = (s: number): string => (BYTES / s / 1e9).toFixed(2);
    for (const [label, path, read] of [
      ['npy', npy, () => readNpySync(npy)],
      ['safetensors', st, () => readSafetensorsSync(st)],
    ] as const) {
      const plain = best(() => readFileSync(path));
      const ours = best(read);
      console.log(`${label.padEnd(12)} read ${gbps(ours)} GB/s   fs.readFileSync ${gbps(plain)} GB/s   ratio ${(plain / ours).toFixed(3)} (best of ${REPEATS}, 256 MiB float32)`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
