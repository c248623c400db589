/**
 * Byte-level helpers shared by the readers: byte swapping, strided-view materialization and
 * size checks. Pure functions over typed arrays.
 */
import { BenchalignError, formatError } from '../errors.js';
import { DTYPE_CTOR, itemSizeBytes, type DType, type DTypeDataMap } from './dtype.js';
import { viewAs } from './tensor.js';

/** A copy of `bytes` with every `itemSize`-byte group reversed (big-endian <-> little-endian). */
export function byteSwapped(bytes: Uint8Array, itemSize: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  if (itemSize === 1) {
    out.set(bytes);
    return out;
  }
  for (let i = 0; i < bytes.length; i += itemSize) {
    for (let j = 0; j < itemSize; j++) out[i + j] = bytes[i + itemSize - 1 - j] as number;
  }
  return out;
}

/** Product of dims, refusing negative, fractional or unsafe sizes. */
export function checkedNumel(dims: readonly number[], file: string, what: string): number {
  let n = 1;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw formatError(file, `${what}: dimension ${String(d)} is not a non-negative integer`, 'non-negative integer dims');
    }
    n *= d;
    if (!Number.isSafeInteger(n)) throw formatError(file, `${what}: shape [${dims.join(', ')}] is too large`, 'fewer than 2^53 elements');
  }
  return n;
}

/** Typed data for `dtype` over little-endian `bytes` (no copy when aligned), or a swapped copy for big-endian. */
export function dataFromBytes<D extends DType>(dtype: D, bytes: Uint8Array, count: number, bigEndian = false): DTypeDataMap[D] {
  if (bigEndian && itemSizeBytes(dtype) > 1) return viewAs(dtype, byteSwapped(bytes.subarray(0, count * itemSizeBytes(dtype)), itemSizeBytes(dtype)), count);
  return viewAs(dtype, bytes, count);
}

/** C-order strides (in elements) for dims. */
export function contiguousStrides(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length);
  let acc = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= dims[i] as number;
  }
  return s;
}

/** True when a view with these dims and strides is laid out in C order (size-1 dims ignored). */
export function isContiguous(dims: readonly number[], strides: readonly number[]): boolean {
  let acc = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    const d = dims[i] as number;
    if (d === 0) return true;
    if (d !== 1 && strides[i] !== acc) return false;
    acc *= d;
  }
  return true;
}

/**
 * Copies the strided view `(offset, dims, strides)` of `src` into a new C-order array.
 * Offsets and strides are in elements; bounds must have been checked by the caller.
 */
export function materializeStrided<D extends DType>(
  dtype: D,
  src: DTypeDataMap[D],
  offset: number,
  dims: readonly number[],
  strides: readonly number[],
): DTypeDataMap[D] {
  const n = dims.reduce((a, b) => a * b, 1);
  const out = new DTYPE_CTOR[dtype](n) as DTypeDataMap[D];
  if (n === 0) return out;
  const s = src as unknown as { [i: number]: number | bigint };
  const o = out as unknown as { [i: number]: number | bigint };
  const rank = dims.length;
  if (rank === 0) {
    o[0] = s[offset] as number | bigint;
    return out;
  }
  const inner = dims[rank - 1] as number;
  const innerStride = strides[rank - 1] as number;
  const idx = new Array<number>(rank).fill(0);
  let base = offset;
  let w = 0;
  while (w < n) {
    for (let k = 0, p = base; k < inner; k++, p += innerStride) o[w++] = s[p] as number | bigint;
    let ax = rank - 2;
    while (ax >= 0) {
      const i = (idx[ax] as number) + 1;
      if (i < (dims[ax] as number)) {
        idx[ax] = i;
        base += strides[ax] as number;
        break;
      }
      idx[ax] = 0;
      base -= (i - 1) * (strides[ax] as number);
      ax--;
    }
    if (ax < 0) break;
  }
  return out;
}

/** Largest element index a view touches, or -1 for an empty view. Throws on negative strides. */
export function viewExtent(offset: number, dims: readonly number[], strides: readonly number[], file: string): number {
  if (dims.length !== strides.length) throw formatError(file, `view has ${dims.length} dims but ${strides.length} strides`, 'one stride per dim');
  let last = offset;
  for (let i = 0; i < dims.length; i++) {
    const d = dims[i] as number;
    const st = strides[i] as number;
    if (!Number.isSafeInteger(st) || st < 0) throw formatError(file, `stride ${String(st)} is not a non-negative integer`, 'non-negative strides');
    if (d === 0) return -1;
    last += (d - 1) * st;
  }
  if (!Number.isSafeInteger(offset) || offset < 0) throw formatError(file, `storage offset ${String(offset)} is invalid`, 'a non-negative integer');
  return last;
}

/** Wraps an unexpected exception from a parsing library as a format error. */
export function asFormatError(e: unknown, file: string, what: string): BenchalignError {
  if (e instanceof BenchalignError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new BenchalignError('E_TENSOR_FORMAT', `${what}: ${msg}`, { file, cause: e });
}
