import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Tolerance } from '../../src/model/alignment.js';
import { DTYPE_CTOR, isDType, itemSizeBytes, type DType } from '../../src/tensors/dtype.js';
import { makeTensor, type Tensor } from '../../src/tensors/tensor.js';

export const FIXTURES = fileURLToPath(new URL('../fixtures/generated/alignment/', import.meta.url));

type Num = number | 'NaN' | 'Infinity' | '-Infinity';

export interface FixtureCase {
  name: string;
  shape: number[];
  actualDType: string;
  referenceDType: string;
  tolerance: Tolerance;
  worstK: number;
  passed: boolean;
  expected: {
    count: number;
    finiteCount: number;
    maxAbsError: Num;
    meanAbsError: Num;
    maxRelError: Num;
    rmse: Num;
    cosine: Num;
    snrDb: Num;
    mismatchCount: number;
    mismatchPct: number;
    nan: { actual: number; reference: number };
    inf: { actual: number; reference: number };
    nonFiniteMismatchCount: number;
    minPassingAtol: Num;
    minPassingRtol: Num;
    relFloor: number;
    worst: { flatIndex: number; index: number[]; actual: Num; reference: Num }[];
    histogram: { edges: Num[]; counts: number[] };
    topk?: { k: number; rows: number; top1Agreement: number; topkAgreement: number };
  };
}

export function num(v: Num): number {
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  return v;
}

export function loadManifest(): FixtureCase[] {
  return JSON.parse(readFileSync(`${FIXTURES}manifest.json`, 'utf8')) as FixtureCase[];
}

export function loadBin(file: string, dtype: string, shape: number[]): Tensor {
  if (!isDType(dtype)) throw new Error(`bad dtype ${dtype}`);
  const d: DType = dtype;
  const bytes = readFileSync(file);
  const count = bytes.length / itemSizeBytes(d);
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  const data = new DTYPE_CTOR[d](copy.buffer, 0, count);
  return makeTensor(d, shape, data);
}

export function loadCase(c: FixtureCase): { actual: Tensor; reference: Tensor } {
  return {
    actual: loadBin(`${FIXTURES}${c.name}.actual.bin`, c.actualDType, c.shape),
    reference: loadBin(`${FIXTURES}${c.name}.reference.bin`, c.referenceDType, c.shape),
  };
}

/** |got - want| <= rel * max(|want|, tiny); exact for non-finite values. */
export function close(got: number, want: number, rel = 1e-9): boolean {
  if (!Number.isFinite(want)) return Object.is(got, want) || (Number.isNaN(want) && Number.isNaN(got));
  return Math.abs(got - want) <= rel * Math.max(Math.abs(want), 1e-300);
}
