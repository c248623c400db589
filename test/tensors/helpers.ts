import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { toFloat64Array, type Tensor } from '../../src/tensors/tensor.js';

export const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'generated', 'tensors');

export interface ExpectedTensor {
  dtype: string;
  shape: number[];
  values: string[];
  last: string | null;
  sum: number;
  sum_exact?: string;
  nan: number;
  inf: number;
  min: number | null;
  max: number | null;
  mean: number | null;
  std: number | null;
}

export interface Manifest {
  files: Record<string, { format: string; tensors: Record<string, ExpectedTensor>; metadata?: Record<string, string> }>;
  errors: Record<string, string>;
  inspect: Record<string, Record<string, unknown>>;
  testdata: Array<{ inputs: Record<string, ExpectedTensor>; outputs: Record<string, ExpectedTensor> }>;
  marker: string;
}

export function loadManifest(): Manifest {
  const p = join(FIXTURES, 'manifest.json');
  if (!existsSync(p)) throw new Error(`fixtures missing: run bash scripts/setup-test-env.sh (or .venv/bin/python test/fixtures/make_tensors.py ${FIXTURES})`);
  return JSON.parse(readFileSync(p, 'utf8')) as Manifest;
}

function parseExpected(s: string): number {
  if (s === 'nan') return NaN;
  if (s === 'inf') return Infinity;
  if (s === '-inf') return -Infinity;
  return Number(s);
}

/** Asserts a tensor matches the numpy-computed expectation: dtype, shape, leading values, last value and sum. */
export function expectTensorMatches(t: Tensor | undefined, e: ExpectedTensor, label: string): void {
  expect(t, `${label} present`).toBeDefined();
  if (t === undefined) return;
  expect(t.dtype, `${label} dtype`).toBe(e.dtype);
  expect([...t.dims], `${label} shape`).toEqual(e.shape);
  const exact = t.dtype === 'int64' || t.dtype === 'uint64';
  const got = (i: number): string | number => (exact ? String(t.data[i] as bigint) : (toFloat64Array(t)[i] as number));
  const f64 = exact ? undefined : toFloat64Array(t);
  e.values.forEach((v, i) => {
    if (exact) expect(String(t.data[i] as bigint), `${label}[${i}]`).toBe(v);
    else expect(f64?.[i], `${label}[${i}]`).toBe(parseExpected(v));
  });
  if (e.last !== null) {
    const i = t.data.length - 1;
    if (exact) expect(got(i), `${label} last`).toBe(e.last);
    else expect(f64?.[i], `${label} last`).toBe(parseExpected(e.last));
  }
  if (e.sum_exact !== undefined) {
    let s = 0n;
    for (const x of t.data as Iterable<number | bigint>) s += BigInt(x);
    expect(String(s), `${label} exact sum`).toBe(e.sum_exact);
  } else if (f64 !== undefined) {
    let s = 0;
    for (const x of f64) if (Number.isFinite(x)) s += x;
    expect(Math.abs(s - e.sum), `${label} sum ${s} vs ${e.sum}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(e.sum)));
  }
}
