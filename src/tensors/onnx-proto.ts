/**
 * ONNX protobuf decoding (protobufjs over the committed onnx.proto schema): TensorProto to
 * Tensor, ModelProto for inspection, shared by the readers, `inspect` and the runners.
 * External data is never loaded.
 */
import protobuf from 'protobufjs';
import { BenchalignError } from '../errors.js';
import { itemSizeBytes, type DType, type DTypeDataMap } from './dtype.js';
import { asFormatError, checkedNumel, dataFromBytes } from './layout.js';
import { makeTensor, type Tensor } from './tensor.js';
import { ONNX_PROTO } from './onnx-schema.js';

/** An int64 as protobufjs yields it: a number, or a Long-like object. */
export type PbInt64 = number | { low: number; high: number; unsigned: boolean };

/** The subset of onnx.TensorProto benchalign reads (snake_case, as in onnx.proto). */
export interface PbTensor {
  dims: PbInt64[];
  data_type: number;
  name: string;
  raw_data: Uint8Array;
  float_data: number[];
  int32_data: number[];
  int64_data: PbInt64[];
  double_data: number[];
  uint64_data: PbInt64[];
  string_data: Uint8Array[];
  data_location: number;
  external_data: Array<{ key: string; value: string }>;
  segment?: unknown;
}

export interface PbDim {
  dim_value?: PbInt64;
  dim_param?: string;
}
export interface PbTypeProto {
  tensor_type?: { elem_type: number; shape?: { dim: PbDim[] } };
  sequence_type?: unknown;
  map_type?: unknown;
  optional_type?: unknown;
  sparse_tensor_type?: unknown;
}
export interface PbValueInfo {
  name: string;
  type?: PbTypeProto;
}
export interface PbAttribute {
  name: string;
  g?: PbGraph;
  graphs: PbGraph[];
}
export interface PbNode {
  op_type: string;
  domain: string;
  name: string;
  input: string[];
  output: string[];
  attribute: PbAttribute[];
}
export interface PbGraph {
  name: string;
  node: PbNode[];
  initializer: PbTensor[];
  input: PbValueInfo[];
  output: PbValueInfo[];
}
export interface PbModel {
  ir_version: PbInt64;
  producer_name: string;
  producer_version: string;
  domain: string;
  model_version: PbInt64;
  opset_import: Array<{ domain: string; version: PbInt64 }>;
  graph?: PbGraph;
}

let root: protobuf.Root | undefined;
function schema(): protobuf.Root {
  root ??= protobuf.parse(ONNX_PROTO, { keepCase: true }).root;
  return root;
}

function decode<T>(typeName: string, bytes: Uint8Array, file: string): T {
  try {
    return schema().lookupType(typeName).decode(bytes) as unknown as T;
  } catch (e) {
    throw asFormatError(e, file, `not a valid ${typeName} protobuf`);
  }
}

/** Decodes an onnx.TensorProto. */
export function decodeTensorProto(bytes: Uint8Array, file: string): PbTensor {
  return decode<PbTensor>('onnx.TensorProto', bytes, file);
}

/** Decodes an onnx.ModelProto (initializer data stays as views; external data is not read). */
export function decodeModelProto(bytes: Uint8Array, file: string): PbModel {
  return decode<PbModel>('onnx.ModelProto', bytes, file);
}

/** A protobuf int64 as a bigint. */
export function int64ToBigInt(v: PbInt64, unsigned = false): bigint {
  if (typeof v === 'number') return unsigned ? BigInt.asUintN(64, BigInt(v)) : BigInt(v);
  const b = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
  return unsigned ? b : BigInt.asIntN(64, b);
}

/** A protobuf int64 as a number; throws when it is not a safe integer. */
export function int64ToNumber(v: PbInt64, file: string, what: string): number {
  const n = typeof v === 'number' ? v : Number(int64ToBigInt(v));
  if (!Number.isSafeInteger(n)) throw new BenchalignError('E_TENSOR_FORMAT', `${what} ${String(n)} is out of range`, { file, expected: 'a safe integer' });
  return n;
}

/** ONNX TensorProto.DataType codes to dtypes (those benchalign supports). */
export const ONNX_DTYPES: Readonly<Record<number, DType>> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  16: 'bfloat16',
};

/** Names of every ONNX data type code, for messages and `inspect`. */
export const ONNX_DTYPE_NAMES: Readonly<Record<number, string>> = {
  0: 'undefined', 1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string', 9: 'bool',
  10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64', 14: 'complex64', 15: 'complex128', 16: 'bfloat16',
  17: 'float8e4m3fn', 18: 'float8e4m3fnuz', 19: 'float8e5m2', 20: 'float8e5m2fnuz', 21: 'uint4', 22: 'int4', 23: 'float4e2m1',
  24: 'float8e8m0', 25: 'uint2', 26: 'int2',
};

export function onnxDTypeName(code: number): string {
  return ONNX_DTYPE_NAMES[code] ?? `type${code}`;
}

/** The dtype's element count times size, for a TensorProto's declared dims (no data read). */
export function tensorProtoDims(t: PbTensor, file: string): number[] {
  return t.dims.map((d) => int64ToNumber(d, file, 'dimension'));
}

/** Converts a decoded TensorProto into a Tensor (raw_data viewed when aligned, typed fields converted). */
export function tensorFromProto(t: PbTensor, file: string): Tensor {
  const label = t.name ? `tensor '${t.name}'` : 'tensor';
  const dtype = ONNX_DTYPES[t.data_type];
  if (t.data_type === 8) throw new BenchalignError('E_UNSUPPORTED', `${label} is a string tensor`, { file, expected: 'a numeric or bool tensor' });
  if (dtype === undefined) {
    throw new BenchalignError('E_UNSUPPORTED', `${label} has ONNX data type ${onnxDTypeName(t.data_type)} (${t.data_type})`, { file, expected: `one of ${Object.values(ONNX_DTYPES).join(', ')}` });
  }
  if (t.data_location === 1 || t.external_data.length > 0) {
    throw new BenchalignError('E_UNSUPPORTED', `${label} stores its data externally (${t.external_data.map((e) => `${e.key}=${e.value}`).join(', ')})`, { file, expected: 'data inside the .pb (raw_data or typed fields)' });
  }
  if (t.segment !== undefined && t.segment !== null) throw new BenchalignError('E_UNSUPPORTED', `${label} is a segment of a larger tensor`, { file, expected: 'a whole tensor' });
  const dims = tensorProtoDims(t, file);
  const n = checkedNumel(dims, file, label);
  const size = itemSizeBytes(dtype);
  if (Object.prototype.hasOwnProperty.call(t, 'raw_data')) {
    if (t.raw_data.length !== n * size) {
      throw new BenchalignError('E_TENSOR_FORMAT', `${label}: raw_data is ${t.raw_data.length} bytes for shape [${dims.join(', ')}] of ${dtype}`, { file, expected: `${n * size} bytes` });
    }
    return makeTensor(dtype, dims, dataFromBytes(dtype, t.raw_data, n));
  }
  const field = typedFieldOf(dtype);
  const values = t[field] as unknown[];
  if (values.length !== n) {
    throw new BenchalignError('E_TENSOR_FORMAT', `${label}: ${field} has ${values.length} values for shape [${dims.join(', ')}]`, { file, expected: `${n} values` });
  }
  return makeTensor(dtype, dims, typedValues(dtype, t, n));
}

function typedFieldOf(dtype: DType): 'float_data' | 'int32_data' | 'int64_data' | 'double_data' | 'uint64_data' {
  switch (dtype) {
    case 'float32':
      return 'float_data';
    case 'float64':
      return 'double_data';
    case 'int64':
      return 'int64_data';
    case 'uint32':
    case 'uint64':
      return 'uint64_data';
    default:
      return 'int32_data';
  }
}

function typedValues<D extends DType>(dtype: D, t: PbTensor, n: number): DTypeDataMap[D] {
  switch (dtype) {
    case 'float32':
      return Float32Array.from(t.float_data) as DTypeDataMap[D];
    case 'float64':
      return Float64Array.from(t.double_data) as DTypeDataMap[D];
    case 'int64':
      return BigInt64Array.from(t.int64_data, (v) => int64ToBigInt(v)) as DTypeDataMap[D];
    case 'uint64':
      return BigUint64Array.from(t.uint64_data, (v) => int64ToBigInt(v, true)) as DTypeDataMap[D];
    case 'uint32':
      return Uint32Array.from(t.uint64_data, (v) => Number(int64ToBigInt(v, true) & 0xffffffffn)) as DTypeDataMap[D];
    case 'bool': {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = t.int32_data[i] ? 1 : 0;
      return out as DTypeDataMap[D];
    }
    default: {
      const ctor = { int8: Int8Array, uint8: Uint8Array, int16: Int16Array, uint16: Uint16Array, int32: Int32Array, float16: Uint16Array, bfloat16: Uint16Array }[dtype as string];
      if (ctor === undefined) throw new BenchalignError('E_INTERNAL', `no typed field for ${dtype}`);
      return ctor.from(t.int32_data) as DTypeDataMap[D];
    }
  }
}

/** Reads one TensorProto `.pb` file held in memory. */
export function parseTensorProto(bytes: Uint8Array, file: string): { name: string; tensor: Tensor } {
  const t = decodeTensorProto(bytes, file);
  return { name: t.name, tensor: tensorFromProto(t, file) };
}
