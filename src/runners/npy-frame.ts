/**
 * The minimal .npy (v1 write; v1-v3 read, little-endian, C order) codec the worker protocol
 * needs to pass tensors between the harness and Node workers through files. It lives here so
 * the workers stay independent of src/tensors; the two can be merged once both are stable.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { BenchalignError } from '../errors.js';
import { DTYPE_CTOR, itemSizeBytes, type DType, type DTypeDataMap } from '../tensors/dtype.js';
import { makeTensor, numel, type Tensor } from '../tensors/tensor.js';

const DESCR: Partial<Record<DType, string>> = {
  float32: '<f4',
  float16: '<f2',
  float64: '<f8',
  int8: '|i1',
  int16: '<i2',
  int32: '<i4',
  int64: '<i8',
  uint8: '|u1',
  uint16: '<u2',
  uint32: '<u4',
  uint64: '<u8',
  bool: '|b1',
};
const DTYPE_OF_DESCR = new Map<string, DType>(
  Object.entries(DESCR).flatMap(([d, s]) => [
    [s, d as DType],
    [s.replace('<', '='), d as DType],
    [s.replace('|', '<'), d as DType],
  ]),
);
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];

/** One tensor as .npy v1 bytes. */
export function encodeNpyFrame(t: Tensor): Uint8Array {
  const descr = DESCR[t.dtype];
  if (descr === undefined) {
    throw new BenchalignError('E_UNSUPPORTED', `dtype ${t.dtype} cannot be written as .npy`, {
      expected: `one of ${Object.keys(DESCR).join('|')}`,
    });
  }
  const shape = t.dims.length === 1 ? `(${t.dims[0]},)` : `(${t.dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const data = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  out[8] = header.length & 0xff;
  out[9] = header.length >> 8;
  out.set(Buffer.from(header, 'latin1'), 10);
  out.set(data, 10 + header.length);
  return out;
}

/** .npy bytes to a tensor; `file` names the source in errors. */
export function decodeNpyFrame(bytes: Uint8Array, file = '<npy>'): Tensor {
  const fail = (msg: string, expected?: string): never => {
    throw new BenchalignError('E_TENSOR_FORMAT', msg, expected !== undefined ? { file, expected } : { file });
  };
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) fail('not a .npy file', 'the \\x93NUMPY magic');
  const major = bytes[6] as number;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    headerLen = view.getUint32(8, true);
    start = 12;
  } else {
    return fail(`unsupported .npy version ${major}`, 'version 1, 2 or 3');
  }
  const header = Buffer.from(bytes.subarray(start, start + headerLen)).toString(major === 3 ? 'utf8' : 'latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    return fail(`malformed .npy header: ${header.trim()}`, 'descr, fortran_order and shape');
  }
  if (fortran === 'True') fail('Fortran-order .npy arrays are not supported', 'fortran_order False');
  const dtype = DTYPE_OF_DESCR.get(descr) ?? fail(`unsupported .npy dtype ${descr}`, 'a little-endian numeric or bool dtype');
  const dims = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) fail(`malformed .npy shape (${shapeText})`);
  const count = numel(dims);
  const dataStart = start + headerLen;
  const need = count * itemSizeBytes(dtype);
  if (bytes.length - dataStart < need) fail(`.npy data is truncated: ${bytes.length - dataStart} bytes, need ${need}`);
  const copy = new Uint8Array(need);
  copy.set(bytes.subarray(dataStart, dataStart + need));
  const data = new DTYPE_CTOR[dtype](copy.buffer, 0, count) as DTypeDataMap[typeof dtype];
  return makeTensor(dtype, dims, data);
}

export async function writeNpyFrame(path: string, t: Tensor): Promise<void> {
  await writeFile(path, encodeNpyFrame(t));
}

export async function readNpyFrame(path: string): Promise<Tensor> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new BenchalignError('E_IO', `cannot read tensor file: ${(e as Error).message}`, { file: path, cause: e });
  }
  return decodeNpyFrame(bytes, path);
}
