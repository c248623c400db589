/**
 * NumPy `.npy` reader and writer (format versions 1.0, 2.0 and 3.0).
 * Reading makes at most one copy of the data: big-endian data, Fortran order and misaligned
 * offsets each cost one copy; a little-endian, C-order, aligned array is a view over the file.
 */
import { readFileSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { BenchalignError, formatError } from '../errors.js';
import { itemSizeBytes, type DType } from './dtype.js';
import { checkedNumel, contiguousStrides, dataFromBytes, materializeStrided } from './layout.js';
import { makeTensor, type Tensor } from './tensor.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];

/** The parsed `.npy` header dictionary. */
export interface NpyHeader {
  /** NumPy dtype string, e.g. `<f4`. */
  descr: string;
  fortranOrder: boolean;
  shape: number[];
  /** Offset of the first data byte from the start of the file. */
  dataOffsetBytes: number;
  /** Format version `[major, minor]`. */
  version: [number, number];
}

const KIND_TO_DTYPE: Record<string, DType> = {
  f2: 'float16',
  f4: 'float32',
  f8: 'float64',
  i1: 'int8',
  i2: 'int16',
  i4: 'int32',
  i8: 'int64',
  u1: 'uint8',
  u2: 'uint16',
  u4: 'uint32',
  u8: 'uint64',
  b1: 'bool',
};

const DTYPE_TO_DESCR: Partial<Record<DType, string>> = {
  float16: '<f2',
  float32: '<f4',
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

/** Maps a NumPy descr to a dtype and its byte order; throws for unsupported dtypes. */
export function npyDescrToDType(descr: string, file: string): { dtype: DType; bigEndian: boolean } {
  let order = descr[0] ?? '';
  let rest = descr.slice(1);
  if (!'<>|='.includes(order) || order === '') {
    order = '=';
    rest = descr;
  }
  if (rest === '?') rest = 'b1';
  const dtype = KIND_TO_DTYPE[rest];
  if (dtype === undefined) {
    const hint = rest.startsWith('O') ? 'object arrays need pickle and are refused' : `dtype '${descr}' is not supported`;
    throw new BenchalignError('E_UNSUPPORTED', hint, { file, expected: 'a numeric or bool dtype (f2, f4, f8, i1..i8, u1..u8, b1)' });
  }
  return { dtype, bigEndian: order === '>' && itemSizeBytes(dtype) > 1 };
}

type PyLit = string | number | boolean | null | PyLit[] | { [k: string]: PyLit };

class HeaderParser {
  private i = 0;
  constructor(
    private readonly s: string,
    private readonly file: string,
  ) {}
  fail(what: string): never {
    throw formatError(this.file, `bad .npy header at character ${this.i}: ${what}`, "a Python dict literal like {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }");
  }
  ws(): void {
    while (this.i < this.s.length && ' \t\n\r'.includes(this.s[this.i] as string)) this.i++;
  }
  value(depth: number): PyLit {
    if (depth > 16) this.fail('nesting too deep');
    this.ws();
    const c = this.s[this.i];
    if (c === '{') return this.dict(depth);
    if (c === '(' || c === '[') return this.seq(c === '(' ? ')' : ']', depth);
    if (c === "'" || c === '"') return this.str();
    const m = /^(True|False|None|-?\d+L?)/.exec(this.s.slice(this.i, this.i + 40));
    if (!m) this.fail(`unexpected ${c === undefined ? 'end' : JSON.stringify(c)}`);
    this.i += m[0].length;
    if (m[0] === 'True') return true;
    if (m[0] === 'False') return false;
    if (m[0] === 'None') return null;
    return Number(m[0].replace('L', ''));
  }
  str(): string {
    const q = this.s[this.i++];
    const end = this.s.indexOf(q as string, this.i);
    if (end < 0) this.fail('unterminated string');
    const v = this.s.slice(this.i, end);
    this.i = end + 1;
    return v;
  }
  seq(close: string, depth: number): PyLit[] {
    this.i++;
    const out: PyLit[] = [];
    for (;;) {
      this.ws();
      if (this.s[this.i] === close) {
        this.i++;
        return out;
      }
      out.push(this.value(depth + 1));
      this.ws();
      if (this.s[this.i] === ',') this.i++;
      else if (this.s[this.i] !== close) this.fail(`expected ',' or '${close}'`);
    }
  }
  dict(depth: number): { [k: string]: PyLit } {
    this.i++;
    const out: { [k: string]: PyLit } = Object.create(null) as { [k: string]: PyLit };
    for (;;) {
      this.ws();
      if (this.s[this.i] === '}') {
        this.i++;
        return out;
      }
      const k = this.value(depth + 1);
      if (typeof k !== 'string') this.fail('dict keys must be strings');
      this.ws();
      if (this.s[this.i] !== ':') this.fail("expected ':'");
      this.i++;
      out[k] = this.value(depth + 1);
      this.ws();
      if (this.s[this.i] === ',') this.i++;
      else if (this.s[this.i] !== '}') this.fail("expected ',' or '}'");
    }
  }
}

/** Parses the magic, version and header dictionary of a `.npy` file. */
export function parseNpyHeader(bytes: Uint8Array, file: string): NpyHeader {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw formatError(file, 'not a .npy file (bad magic)', 'the bytes \\x93NUMPY at the start');
  }
  const major = bytes[6] as number;
  const minor = bytes[7] as number;
  let hlen: number;
  let start: number;
  if (major === 1) {
    hlen = (bytes[8] as number) | ((bytes[9] as number) << 8);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw formatError(file, 'truncated .npy header', 'at least 12 bytes');
    hlen = new DataView(bytes.buffer, bytes.byteOffset + 8, 4).getUint32(0, true);
    start = 12;
  } else {
    throw new BenchalignError('E_UNSUPPORTED', `.npy format version ${major}.${minor} is not supported`, { file, expected: 'version 1.0, 2.0 or 3.0' });
  }
  if (start + hlen > bytes.length) throw formatError(file, `.npy header says ${hlen} bytes but the file has ${bytes.length - start} after the preamble`, 'a complete header');
  const raw = bytes.subarray(start, start + hlen);
  const text = major === 3 ? new TextDecoder('utf-8', { fatal: false }).decode(raw) : Buffer.from(raw).toString('latin1');
  const parser = new HeaderParser(text, file);
  const h = parser.value(0);
  if (h === null || typeof h !== 'object' || Array.isArray(h)) return parser.fail('the header is not a dict');
  const { descr, fortran_order: fortran, shape } = h;
  if (typeof descr !== 'string') {
    if (Array.isArray(descr)) throw new BenchalignError('E_UNSUPPORTED', 'structured (record) dtypes are not supported', { file, expected: 'a plain numeric dtype' });
    throw formatError(file, ".npy header has no string 'descr'", "'descr': '<f4' or similar");
  }
  if (typeof fortran !== 'boolean') throw formatError(file, ".npy header has no boolean 'fortran_order'", "'fortran_order': False or True");
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number')) throw formatError(file, ".npy header has no integer tuple 'shape'", "'shape': (d0, d1, ...)");
  return { descr, fortranOrder: fortran, shape: shape as number[], dataOffsetBytes: start + hlen, version: [major, minor] };
}

/** Decodes a whole `.npy` file held in memory. The tensor views `bytes` when it can. */
export function parseNpy(bytes: Uint8Array, file: string): Tensor {
  const h = parseNpyHeader(bytes, file);
  const { dtype, bigEndian } = npyDescrToDType(h.descr, file);
  const n = checkedNumel(h.shape, file, '.npy shape');
  const size = itemSizeBytes(dtype);
  const have = bytes.length - h.dataOffsetBytes;
  if (have !== n * size) {
    throw formatError(file, `.npy data is ${have} bytes but shape [${h.shape.join(', ')}] of ${h.descr} needs ${n * size}`, 'data size = product(shape) * itemsize');
  }
  const data = dataFromBytes(dtype, bytes.subarray(h.dataOffsetBytes), n, bigEndian);
  if (!h.fortranOrder || h.shape.length < 2) return makeTensor(dtype, h.shape, data);
  const fStrides = [...contiguousStrides([...h.shape].reverse())].reverse();
  return makeTensor(dtype, h.shape, materializeStrided(dtype, data, 0, h.shape, fStrides));
}

/** Reads a `.npy` file. */
export async function readNpy(path: string): Promise<Tensor> {
  return parseNpy(await readFileOrThrow(path), path);
}

/** Reads a `.npy` file synchronously. */
export function readNpySync(path: string): Tensor {
  return parseNpy(readFileOrThrowSync(path), path);
}

/** The `.npy` header bytes (magic, version, padded dict) for a C-order little-endian tensor. */
export function encodeNpyHeader(tensor: Tensor): Uint8Array {
  const descr = DTYPE_TO_DESCR[tensor.dtype];
  if (descr === undefined) {
    throw new BenchalignError('E_UNSUPPORTED', `NumPy has no ${tensor.dtype} dtype`, { expected: 'write bfloat16 tensors to .safetensors, or convert them to float32 first' });
  }
  const shape = tensor.dims.length === 1 ? `(${tensor.dims[0]},)` : `(${tensor.dims.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  let v1 = true;
  let pre = 10;
  if (dict.length + 1 + pre > 0xffff) {
    v1 = false;
    pre = 12;
  }
  const pad = (64 - ((pre + dict.length + 1) % 64)) % 64;
  dict = dict + ' '.repeat(pad) + '\n';
  const out = new Uint8Array(pre + dict.length);
  out.set(MAGIC);
  out[6] = v1 ? 1 : 2;
  out[7] = 0;
  const dv = new DataView(out.buffer);
  if (v1) dv.setUint16(8, dict.length, true);
  else dv.setUint32(8, dict.length, true);
  out.set(Buffer.from(dict, 'latin1'), pre);
  return out;
}

function dataBytes(tensor: Tensor): Uint8Array {
  const d = tensor.data;
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

/** The complete `.npy` file for a tensor (one copy of the data). */
export function encodeNpy(tensor: Tensor): Uint8Array {
  const head = encodeNpyHeader(tensor);
  const body = dataBytes(tensor);
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

/** Writes a tensor as `.npy` (header then data, without concatenating them in memory). */
export async function writeNpy(path: string, tensor: Tensor): Promise<void> {
  const head = encodeNpyHeader(tensor);
  const fh = await open(path, 'w').catch((e: unknown) => {
    throw new BenchalignError('E_IO', `cannot write: ${(e as Error).message}`, { file: path, cause: e });
  });
  try {
    await fh.write(head);
    await fh.write(dataBytes(tensor));
  } finally {
    await fh.close();
  }
}

/** Reads a whole file into one Buffer, mapping I/O failures to E_IO. */
export async function readFileOrThrow(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    throw new BenchalignError('E_IO', `cannot read: ${(e as Error).message}`, { file: path, cause: e });
  }
}

/** Synchronous {@link readFileOrThrow}. */
export function readFileOrThrowSync(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new BenchalignError('E_IO', `cannot read: ${(e as Error).message}`, { file: path, cause: e });
  }
}
