/**
 * The Tensor value: a dtype, readonly dims and a typed data view in C (row-major) order.
 * Readers produce Tensors, engines consume and produce them, and alignment compares them.
 */
import { BenchalignError } from '../errors.js';
import {
  DTYPE_CTOR,
  bf16BitsToFloat,
  halfBitsToFloat,
  itemSizeBytes,
  type DType,
  type DTypeDataMap,
} from './dtype.js';

export interface Tensor<D extends DType = DType> {
  readonly dtype: D;
  /** Dimensions, outermost first. A scalar has `[]`. */
  readonly dims: readonly number[];
  /** Elements in C order; length is the product of dims. */
  readonly data: DTypeDataMap[D];
}

/** Tensors by name, in file order. */
export type NamedTensors = Map<string, Tensor>;

/** Number of elements for the given dims (1 for a scalar). */
export function numel(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** Builds a tensor after checking that data length matches dims. */
export function makeTensor<D extends DType>(dtype: D, dims: readonly number[], data: DTypeDataMap[D]): Tensor<D> {
  const n = numel(dims);
  if (data.length !== n) {
    throw new BenchalignError('E_SHAPE', `tensor data has ${data.length} elements but shape [${dims.join(', ')}] needs ${n}`);
  }
  return { dtype, dims: Object.freeze([...dims]), data };
}

/** A zero-filled tensor. */
export function zeros<D extends DType>(dtype: D, dims: readonly number[]): Tensor<D> {
  return makeTensor(dtype, dims, new DTYPE_CTOR[dtype](numel(dims)) as DTypeDataMap[D]);
}

/**
 * A typed view over `bytes` for `dtype`, with no copy when the offset is aligned, and one
 * copy otherwise. The bytes must be little-endian.
 */
export function viewAs<D extends DType>(dtype: D, bytes: Uint8Array, count: number): DTypeDataMap[D] {
  const size = itemSizeBytes(dtype);
  const ctor = DTYPE_CTOR[dtype];
  if (bytes.byteOffset % size === 0) return new ctor(bytes.buffer, bytes.byteOffset, count);
  const copy = new Uint8Array(count * size);
  copy.set(bytes.subarray(0, count * size));
  return new ctor(copy.buffer, 0, count);
}

/** Element values as float64 numbers (int64 values beyond 2^53 lose precision). */
export function toFloat64Array(t: Tensor): Float64Array {
  const out = new Float64Array(t.data.length);
  const d = t.data;
  switch (t.dtype) {
    case 'float16':
      for (let i = 0; i < out.length; i++) out[i] = halfBitsToFloat(d[i] as number);
      break;
    case 'bfloat16':
      for (let i = 0; i < out.length; i++) out[i] = bf16BitsToFloat(d[i] as number);
      break;
    case 'int64':
    case 'uint64':
      for (let i = 0; i < out.length; i++) out[i] = Number(d[i] as bigint);
      break;
    default:
      out.set(d as Exclude<typeof d, BigInt64Array | BigUint64Array>);
  }
  return out;
}

/**
 * Element values as float32: the data itself for float32 (no copy), a converted copy
 * otherwise. fp16/bf16 are converted exactly.
 */
export function toFloat32Array(t: Tensor): Float32Array {
  if (t.dtype === 'float32') return t.data as Float32Array;
  return Float32Array.from(toFloat64Array(t));
}

/** `[2, 3, 4]` -> `"2x3x4"`; a scalar is `"scalar"`. */
export function formatDims(dims: readonly number[]): string {
  return dims.length === 0 ? 'scalar' : dims.join('x');
}
