import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readNpy } from '../../src/tensors/npy.js';
import type { EngineOptions, PreparedModel, Runner } from '../../src/runners/types.js';
import type { ModelRef } from '../../src/model/model-ref.js';
import type { NamedTensors, Tensor } from '../../src/tensors/tensor.js';

export const FIXTURES = fileURLToPath(new URL('../fixtures/generated/runners/', import.meta.url));
export const REPO = fileURLToPath(new URL('../../', import.meta.url));

export function requireFixtures(): void {
  if (!existsSync(`${FIXTURES}mlp.onnx`)) {
    throw new Error(`runner fixtures missing in ${FIXTURES}: run bash scripts/setup-test-env.sh`);
  }
}

export function model(path: string, shapes?: Record<string, number[]>): { prepared: PreparedModel; ref: ModelRef } {
  return { prepared: { path }, ref: { name: path.split('/').pop() ?? path, path, sha256: '', ...(shapes ? { shapes } : {}) } };
}

export async function activate(runner: Runner, path: string, options: Record<string, unknown> = {}, precision: EngineOptions['precision'] = 'fp32') {
  const m = model(path);
  return runner.activate(m.prepared, m.ref, { precision, options });
}

export async function readDir(dir: string, names: string[]): Promise<NamedTensors> {
  const out: NamedTensors = new Map();
  for (const n of names) out.set(n, await readNpy(`${dir}/${n}.npy`));
  return out;
}

export function maxAbsDiff(a: Tensor, b: Tensor): number {
  expectSameShape(a, b);
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(Number(a.data[i]) - Number(b.data[i])));
  return m;
}

function expectSameShape(a: Tensor, b: Tensor): void {
  if (a.dtype !== b.dtype || a.dims.join('x') !== b.dims.join('x')) {
    throw new Error(`shape/dtype differ: ${a.dtype}[${a.dims.join(',')}] vs ${b.dtype}[${b.dims.join(',')}]`);
  }
}
