/**
 * One entry point for every reference-tensor format: picks the reader by extension, then by
 * magic bytes, and returns the tensors by name.
 */
import { statSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { BenchalignError } from '../errors.js';
import { parseNpy, readFileOrThrow, readFileOrThrowSync } from './npy.js';
import { parseNpz } from './npz.js';
import { parseTensorProto } from './onnx-proto.js';
import { readOnnxTestData } from './onnx-test-data.js';
import { parsePt, type PtOptions } from './pt.js';
import { parseSafetensors } from './safetensors.js';
import type { NamedTensors } from './tensor.js';
import { isZip, type ZipLimits } from './zip.js';

export type TensorFileFormat = 'npy' | 'npz' | 'safetensors' | 'onnx-pb' | 'pt' | 'onnx-test-data';

/** The tensors of one file (or ONNX test-data folder). */
export interface TensorFile {
  path: string;
  format: TensorFileFormat;
  /** Tensors by name in file order. For an ONNX test-data folder: the chosen set's outputs (the reference). */
  tensors: NamedTensors;
  /** For an ONNX test-data folder: the chosen set's inputs. */
  inputs?: NamedTensors;
  /** safetensors `__metadata__`; for .pt, the non-tensor leaves by dotted name. */
  metadata?: Record<string, string>;
}

/** Options for {@link readTensors}. */
export interface ReadTensorsOptions {
  /** Which `test_data_set_N` of an ONNX test-data folder to read. Default 0. */
  dataSet?: number;
  /** Force a format instead of detecting it. */
  format?: TensorFileFormat;
  /** Zip-bomb limits for .npz and .pt. */
  zip?: ZipLimits;
  /** Unpickler limits for .pt. */
  pickle?: PtOptions['pickle'];
}

const BY_EXT: Record<string, TensorFileFormat> = {
  '.npy': 'npy',
  '.npz': 'npz',
  '.safetensors': 'safetensors',
  '.pb': 'onnx-pb',
  '.pt': 'pt',
  '.pth': 'pt',
  '.bin': 'pt',
};

/** Detects the format of a file's bytes when its extension says nothing. */
export function sniffFormat(bytes: Uint8Array, path: string): TensorFileFormat {
  const ext = BY_EXT[extname(path).toLowerCase()];
  if (ext !== undefined && ext !== 'pt') return ext;
  if (bytes[0] === 0x93 && Buffer.from(bytes.subarray(1, 6)).toString('latin1') === 'NUMPY') return 'npy';
  if (isZip(bytes)) {
    if (ext === 'pt') return 'pt';
    const text = Buffer.from(bytes.subarray(0, Math.min(bytes.length, 4096))).toString('latin1');
    return /\.npy/.test(text.slice(30, 200)) || !/data\.pkl/.test(text) ? 'npz' : 'pt';
  }
  if (ext === 'pt' || bytes[0] === 0x80) return 'pt';
  if (bytes.length >= 9 && bytes[8] === 0x7b) return 'safetensors';
  throw new BenchalignError('E_UNSUPPORTED', 'unrecognised tensor file', { file: path, expected: '.npy, .npz, .safetensors, .pb, .pt/.pth or an ONNX test-data folder' });
}

/** Reads every tensor in a file or ONNX test-data folder. */
export async function readTensors(path: string, options: ReadTensorsOptions = {}): Promise<TensorFile> {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (e) {
    throw new BenchalignError('E_IO', `cannot read: ${(e as Error).message}`, { file: path, cause: e });
  }
  if (isDir || options.format === 'onnx-test-data') {
    const data = await readOnnxTestData(path, options.dataSet ?? 0);
    const set = data.sets[0];
    if (set === undefined) throw new BenchalignError('E_INTERNAL', 'no data set after reading');
    return { path, format: 'onnx-test-data', tensors: set.outputs, inputs: set.inputs };
  }
  const bytes = await readFileOrThrow(path);
  return decodeTensorFile(bytes, path, options);
}

/** Synchronous {@link readTensors} for files (an ONNX test-data folder needs the async version). */
export function readTensorsSync(path: string, options: ReadTensorsOptions = {}): TensorFile {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (e) {
    throw new BenchalignError('E_IO', `cannot read: ${(e as Error).message}`, { file: path, cause: e });
  }
  if (isDir) throw new BenchalignError('E_USAGE', 'readTensorsSync cannot read an ONNX test-data folder', { file: path, expected: 'readTensors (async)' });
  return decodeTensorFile(readFileOrThrowSync(path), path, options);
}

/** Decodes a tensor file already in memory (no folders). */
export function decodeTensorFile(bytes: Uint8Array, path: string, options: ReadTensorsOptions = {}): TensorFile {
  const format = options.format ?? sniffFormat(bytes, path);
  switch (format) {
    case 'npy':
      return { path, format, tensors: new Map([[basename(path, extname(path)), parseNpy(bytes, path)]]) };
    case 'npz':
      return { path, format, tensors: parseNpz(bytes, path, options.zip) };
    case 'safetensors': {
      const c = parseSafetensors(bytes, path);
      return c.metadata !== undefined ? { path, format, tensors: c.tensors, metadata: c.metadata } : { path, format, tensors: c.tensors };
    }
    case 'onnx-pb': {
      const { name, tensor } = parseTensorProto(bytes, path);
      return { path, format, tensors: new Map([[name !== '' ? name : basename(path, extname(path)), tensor]]) };
    }
    case 'pt': {
      const c = parsePt(bytes, path, { ...(options.zip ? { zip: options.zip } : {}), ...(options.pickle ? { pickle: options.pickle } : {}) });
      return Object.keys(c.metadata).length > 0 ? { path, format, tensors: c.tensors, metadata: c.metadata } : { path, format, tensors: c.tensors };
    }
    case 'onnx-test-data':
      throw new BenchalignError('E_USAGE', 'an ONNX test-data folder must be read with readTensors', { file: path });
  }
}
