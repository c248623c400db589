/**
 * `.safetensors` reader and writer. Layout: an 8-byte little-endian header length N, N bytes
 * of JSON (`{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {str: str}}`),
 * then the data buffer. Reading returns views over the file's bytes (one copy only for
 * misaligned tensors).
 */
import { open } from 'node:fs/promises';
import { BenchalignError, formatError } from '../errors.js';
import { itemSizeBytes, type DType } from './dtype.js';
import { checkedNumel, dataFromBytes } from './layout.js';
import { readFileOrThrow, readFileOrThrowSync } from './npy.js';
import { makeTensor, numel, type NamedTensors } from './tensor.js';

/** Largest accepted JSON header, in bytes (the reference implementation uses 100 MB). */
export const SAFETENSORS_MAX_HEADER_BYTES = 100_000_000;

export const SAFETENSORS_DTYPES: Readonly<Record<string, DType>> = {
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  F64: 'float64',
  I8: 'int8',
  I16: 'int16',
  I32: 'int32',
  I64: 'int64',
  U8: 'uint8',
  U16: 'uint16',
  U32: 'uint32',
  U64: 'uint64',
  BOOL: 'bool',
};
const DTYPE_TO_ST = Object.fromEntries(Object.entries(SAFETENSORS_DTYPES).map(([k, v]) => [v, k])) as Record<DType, string>;

/** A decoded `.safetensors` file. */
export interface SafetensorsContent {
  /** Tensors in data-offset order. */
  tensors: NamedTensors;
  /** The `__metadata__` string map, when present. */
  metadata?: Record<string, string>;
}

/** Decodes a `.safetensors` file held in memory. */
export function parseSafetensors(bytes: Uint8Array, file: string): SafetensorsContent {
  if (bytes.length < 8) throw formatError(file, `file is ${bytes.length} bytes, too short for a safetensors header`, 'at least 8 bytes');
  const n64 = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(SAFETENSORS_MAX_HEADER_BYTES)) {
    throw formatError(file, `safetensors header size ${n64} is over the ${SAFETENSORS_MAX_HEADER_BYTES}-byte cap`, `a header of at most ${SAFETENSORS_MAX_HEADER_BYTES} bytes`);
  }
  const n = Number(n64);
  if (8 + n > bytes.length) throw formatError(file, `safetensors header size ${n} runs past the end of the ${bytes.length}-byte file`, 'a header inside the file');
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    throw formatError(file, `safetensors header is not valid UTF-8 JSON: ${(e as Error).message}`, 'a JSON object');
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw formatError(file, 'safetensors header is not a JSON object', 'a JSON object');
  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  let metadata: Record<string, string> | undefined;
  const specs: Array<{ name: string; dtype: DType; shape: number[]; begin: number; end: number }> = [];
  for (const [name, spec] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (spec === null || typeof spec !== 'object' || Array.isArray(spec) || !Object.values(spec).every((v) => typeof v === 'string')) {
        throw formatError(file, '__metadata__ is not a string-to-string map', '{"key": "value", ...}');
      }
      metadata = { ...(spec as Record<string, string>) };
      continue;
    }
    const where = `tensor '${name}'`;
    if (spec === null || typeof spec !== 'object') throw formatError(file, `${where}: entry is not an object`, '{dtype, shape, data_offsets}');
    const { dtype: st, shape, data_offsets: offs } = spec as Record<string, unknown>;
    if (typeof st !== 'string') throw formatError(file, `${where}: missing dtype`, 'a dtype string');
    const dtype = SAFETENSORS_DTYPES[st];
    if (dtype === undefined) {
      throw new BenchalignError('E_UNSUPPORTED', `${where}: dtype '${st}' is not supported`, { file, expected: `one of ${Object.keys(SAFETENSORS_DTYPES).join(', ')}` });
    }
    if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number')) throw formatError(file, `${where}: shape is not an integer array`, 'an array of non-negative integers');
    const count = checkedNumel(shape as number[], file, where);
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && (o as number) >= 0)) {
      throw formatError(file, `${where}: data_offsets is not [begin, end]`, 'two non-negative integers');
    }
    const [begin, end] = offs as [number, number];
    if (end < begin || end > dataLen) throw formatError(file, `${where}: data_offsets [${begin}, ${end}] are outside the ${dataLen}-byte data buffer`, 'offsets within the data buffer');
    if (end - begin !== count * itemSizeBytes(dtype)) {
      throw formatError(file, `${where}: ${end - begin} bytes for shape [${shape.join(', ')}] of ${st}`, `${count * itemSizeBytes(dtype)} bytes`);
    }
    specs.push({ name, dtype, shape: shape as number[], begin, end });
  }
  specs.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const s of specs) {
    if (s.begin < cursor) throw formatError(file, `tensor '${s.name}' overlaps the previous tensor's data`, 'non-overlapping data_offsets');
    if (s.begin > cursor) throw formatError(file, `gap of ${s.begin - cursor} bytes before tensor '${s.name}'`, 'contiguous data_offsets');
    cursor = s.end;
  }
  if (cursor !== dataLen) throw formatError(file, `data buffer is ${dataLen} bytes but the tensors cover ${cursor}`, 'a data buffer exactly covered by the tensors');
  const tensors: NamedTensors = new Map();
  for (const s of specs) {
    const count = numel(s.shape);
    tensors.set(s.name, makeTensor(s.dtype, s.shape, dataFromBytes(s.dtype, bytes.subarray(dataStart + s.begin, dataStart + s.end), count)));
  }
  return metadata !== undefined ? { tensors, metadata } : { tensors };
}

/** Reads a `.safetensors` file. */
export async function readSafetensors(path: string): Promise<SafetensorsContent> {
  return parseSafetensors(await readFileOrThrow(path), path);
}

/** Reads a `.safetensors` file synchronously. */
export function readSafetensorsSync(path: string): SafetensorsContent {
  return parseSafetensors(readFileOrThrowSync(path), path);
}

/** The JSON header (length prefix included, padded to 8 bytes) and the data chunks, in order. */
export function encodeSafetensorsParts(tensors: NamedTensors, metadata?: Record<string, string>): { header: Uint8Array; chunks: Uint8Array[] } {
  const head: Record<string, unknown> = {};
  if (metadata !== undefined) head.__metadata__ = metadata;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === '__metadata__') throw new BenchalignError('E_USAGE', "a tensor cannot be named '__metadata__' in safetensors");
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    head[name] = { dtype: DTYPE_TO_ST[t.dtype], shape: [...t.dims], data_offsets: [offset, offset + bytes.length] };
    offset += bytes.length;
    chunks.push(bytes);
  }
  let json = JSON.stringify(head);
  const jsonBytes = Buffer.byteLength(json, 'utf8');
  json += ' '.repeat((8 - (jsonBytes % 8)) % 8);
  const body = Buffer.from(json, 'utf8');
  const header = new Uint8Array(8 + body.length);
  new DataView(header.buffer).setBigUint64(0, BigInt(body.length), true);
  header.set(body, 8);
  return { header, chunks };
}

/** The complete `.safetensors` file in memory. */
export function encodeSafetensors(tensors: NamedTensors, metadata?: Record<string, string>): Uint8Array {
  const { header, chunks } = encodeSafetensorsParts(tensors, metadata);
  const out = new Uint8Array(header.length + chunks.reduce((a, c) => a + c.length, 0));
  out.set(header);
  let o = header.length;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/** Writes tensors (in map order) and optional metadata as `.safetensors`. */
export async function writeSafetensors(path: string, tensors: NamedTensors, metadata?: Record<string, string>): Promise<void> {
  const { header, chunks } = encodeSafetensorsParts(tensors, metadata);
  const fh = await open(path, 'w').catch((e: unknown) => {
    throw new BenchalignError('E_IO', `cannot write: ${(e as Error).message}`, { file: path, cause: e });
  });
  try {
    await fh.write(header);
    for (const c of chunks) await fh.write(c);
  } finally {
    await fh.close();
  }
}

