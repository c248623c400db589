/**
 * `benchalign inspect`: what is in a tensor file (per-tensor dtype, shape and statistics) or
 * an ONNX model (inputs, outputs, opsets, op histogram, initializers). Models are decoded
 * without loading external data.
 */
import { statSync } from 'node:fs';
import { extname } from 'node:path';
import { BenchalignError } from '../errors.js';
import { itemSizeBytes, type DType } from './dtype.js';
import { readFileOrThrow } from './npy.js';
import { decodeModelProto, int64ToNumber, ONNX_DTYPES, onnxDTypeName, type PbGraph, type PbValueInfo } from './onnx-proto.js';
import { readTensors, type TensorFileFormat } from './read.js';
import { formatDims, numel, toFloat64Array, type Tensor } from './tensor.js';

/** Statistics of one tensor, over its finite values (NaN and ±Inf are only counted). */
export interface TensorStats {
  name: string;
  dtype: DType;
  dims: number[];
  numel: number;
  /** null when the tensor has no finite value. */
  min: number | null;
  max: number | null;
  mean: number | null;
  /** Population standard deviation (ddof = 0). */
  std: number | null;
  nanCount: number;
  infCount: number;
}

/** Inspection of a tensor file or ONNX test-data folder. */
export interface TensorFileReport {
  kind: 'tensors';
  path: string;
  format: TensorFileFormat;
  tensors: TensorStats[];
  /** For an ONNX test-data folder: the inputs of the set, when present. */
  inputs?: TensorStats[];
  metadata?: Record<string, string>;
}

/** One model input or output; a dim is a number, a symbolic name, or null when unknown. */
export interface ModelValueInfo {
  name: string;
  dtype: string;
  shape: Array<number | string | null> | null;
}

/** Inspection of an ONNX model. */
export interface ModelReport {
  kind: 'onnx-model';
  path: string;
  irVersion: number;
  producer: string;
  producerVersion: string;
  /** Opset version by domain ('' is the default ai.onnx domain). */
  opsets: Record<string, number>;
  inputs: ModelValueInfo[];
  outputs: ModelValueInfo[];
  /** Nodes of the main graph. */
  nodeCount: number;
  /** Node count by op type of the main graph (`domain:Op` outside the default domain), most frequent first. */
  ops: Record<string, number>;
  /** Nodes inside subgraphs (If/Loop/Scan bodies). */
  subgraphNodeCount: number;
  initializerCount: number;
  /** Bytes the initializers occupy by dims × element size (external ones included, not read). */
  initializerBytes: number;
  externalInitializerCount: number;
}

export type InspectReport = TensorFileReport | ModelReport;

/** Statistics of one tensor (pure). */
export function tensorStats(name: string, t: Tensor): TensorStats {
  const v = toFloat64Array(t);
  let nan = 0;
  let inf = 0;
  let n = 0;
  let min = Infinity;
  let max = -Infinity;
  let mean = 0;
  let m2 = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i] as number;
    if (x !== x) {
      nan++;
      continue;
    }
    if (x === Infinity || x === -Infinity) {
      inf++;
      continue;
    }
    n++;
    if (x < min) min = x;
    if (x > max) max = x;
    const d = x - mean;
    mean += d / n;
    m2 += d * (x - mean);
  }
  const any = n > 0;
  return {
    name,
    dtype: t.dtype,
    dims: [...t.dims],
    numel: numel(t.dims),
    min: any ? min : null,
    max: any ? max : null,
    mean: any ? mean : null,
    std: any ? Math.sqrt(m2 / n) : null,
    nanCount: nan,
    infCount: inf,
  };
}

function valueInfo(v: PbValueInfo, file: string): ModelValueInfo {
  const tt = v.type?.tensor_type;
  if (tt === undefined || tt === null) {
    const kind = v.type?.sequence_type ? 'sequence' : v.type?.map_type ? 'map' : v.type?.optional_type ? 'optional' : v.type?.sparse_tensor_type ? 'sparse' : 'unknown';
    return { name: v.name, dtype: kind, shape: null };
  }
  const shape = tt.shape === undefined || tt.shape === null ? null : tt.shape.dim.map((d) => (Object.prototype.hasOwnProperty.call(d, 'dim_value') && d.dim_value !== undefined ? int64ToNumber(d.dim_value, file, 'dim') : d.dim_param ? d.dim_param : null));
  return { name: v.name, dtype: onnxDTypeName(tt.elem_type), shape };
}

function countSubgraphNodes(g: PbGraph, depth: number): number {
  if (depth > 64) return 0;
  let n = 0;
  for (const node of g.node) {
    for (const a of node.attribute) {
      const subs = [...(a.g ? [a.g] : []), ...a.graphs];
      for (const s of subs) n += s.node.length + countSubgraphNodes(s, depth + 1);
    }
  }
  return n;
}

/** Inspects an ONNX model file held in memory (pure). */
export function inspectModelBytes(bytes: Uint8Array, path: string): ModelReport {
  const m = decodeModelProto(bytes, path);
  const g = m.graph;
  if (g === undefined || g === null) throw new BenchalignError('E_TENSOR_FORMAT', 'ONNX model has no graph', { file: path, expected: 'a ModelProto with a graph' });
  const inits = new Set(g.initializer.map((t) => t.name));
  const ops: Record<string, number> = {};
  for (const node of g.node) {
    const key = node.domain && node.domain !== 'ai.onnx' ? `${node.domain}:${node.op_type}` : node.op_type;
    ops[key] = (ops[key] ?? 0) + 1;
  }
  const sortedOps = Object.fromEntries(Object.entries(ops).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
  let initializerBytes = 0;
  let external = 0;
  for (const t of g.initializer) {
    const dt = ONNX_DTYPES[t.data_type];
    const count = t.dims.reduce<number>((a, d) => a * int64ToNumber(d, path, 'dim'), 1);
    if (t.data_location === 1 || t.external_data.length > 0) external++;
    if (dt !== undefined) initializerBytes += count * itemSizeBytes(dt);
    else if (t.data_type === 14 || t.data_type === 15) initializerBytes += count * (t.data_type === 14 ? 8 : 16);
    else if (t.data_type >= 17 && t.data_type <= 20) initializerBytes += count;
  }
  const opsets: Record<string, number> = {};
  for (const o of m.opset_import) opsets[o.domain === 'ai.onnx' ? '' : o.domain] = int64ToNumber(o.version, path, 'opset version');
  return {
    kind: 'onnx-model',
    path,
    irVersion: int64ToNumber(m.ir_version, path, 'ir_version'),
    producer: m.producer_name,
    producerVersion: m.producer_version,
    opsets,
    inputs: g.input.filter((v) => !inits.has(v.name)).map((v) => valueInfo(v, path)),
    outputs: g.output.map((v) => valueInfo(v, path)),
    nodeCount: g.node.length,
    ops: sortedOps,
    subgraphNodeCount: countSubgraphNodes(g, 0),
    initializerCount: g.initializer.length,
    initializerBytes,
    externalInitializerCount: external,
  };
}

/** Inspects a tensor file, ONNX test-data folder or ONNX model. */
export async function inspectFile(path: string, options: { dataSet?: number } = {}): Promise<InspectReport> {
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch (e) {
    throw new BenchalignError('E_IO', `cannot read: ${(e as Error).message}`, { file: path, cause: e });
  }
  if (!isDir && extname(path).toLowerCase() === '.onnx') return inspectModelBytes(await readFileOrThrow(path), path);
  const f = await readTensors(path, options.dataSet !== undefined ? { dataSet: options.dataSet } : {});
  const report: TensorFileReport = { kind: 'tensors', path, format: f.format, tensors: [...f.tensors].map(([n, t]) => tensorStats(n, t)) };
  if (f.inputs !== undefined) report.inputs = [...f.inputs].map(([n, t]) => tensorStats(n, t));
  if (f.metadata !== undefined) report.metadata = f.metadata;
  return report;
}

const num = (v: number | null): string => (v === null ? '-' : Number.isInteger(v) && Math.abs(v) < 1e15 ? String(v) : String(Number(v.toPrecision(6))));

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ').trimEnd()).join('\n');
}

function statsTable(ts: TensorStats[]): string {
  const head = ['name', 'dtype', 'shape', 'min', 'max', 'mean', 'std', 'nan', 'inf'];
  return table([head, ...ts.map((s) => [s.name, s.dtype, formatDims(s.dims), num(s.min), num(s.max), num(s.mean), num(s.std), String(s.nanCount), String(s.infCount)])]);
}

const shapeText = (s: ModelValueInfo['shape']): string => (s === null ? '?' : `[${s.map((d) => (d === null ? '?' : String(d))).join(', ')}]`);

/** Human-readable text for a report. */
export function formatInspect(r: InspectReport): string {
  if (r.kind === 'tensors') {
    const lines = [`${r.path} (${r.format}, ${r.tensors.length} tensor${r.tensors.length === 1 ? '' : 's'})`];
    if (r.inputs !== undefined) lines.push('', 'inputs:', statsTable(r.inputs), '', 'outputs:');
    lines.push(r.tensors.length > 0 ? statsTable(r.tensors) : '(no tensors)');
    if (r.metadata !== undefined && Object.keys(r.metadata).length > 0) {
      lines.push('', 'metadata:', ...Object.entries(r.metadata).map(([k, v]) => `  ${k}: ${v}`));
    }
    return `${lines.join('\n')}\n`;
  }
  const io = (vs: ModelValueInfo[]): string[] => vs.map((v) => `  ${v.name}: ${v.dtype} ${shapeText(v.shape)}`);
  const opsets = Object.entries(r.opsets).map(([d, v]) => `${d === '' ? 'ai.onnx' : d} ${v}`).join(', ');
  const lines = [
    `${r.path} (ONNX model, IR ${r.irVersion})`,
    `producer: ${r.producer || '-'}${r.producerVersion ? ` ${r.producerVersion}` : ''}`,
    `opsets: ${opsets || '-'}`,
    'inputs:',
    ...io(r.inputs),
    'outputs:',
    ...io(r.outputs),
    `nodes: ${r.nodeCount}${r.subgraphNodeCount > 0 ? ` (+${r.subgraphNodeCount} in subgraphs)` : ''}`,
    ...Object.entries(r.ops).map(([op, c]) => `  ${op.padEnd(24)} ${String(c).padStart(6)}`),
    `initializers: ${r.initializerCount} (${r.initializerBytes} bytes${r.externalInitializerCount > 0 ? `, ${r.externalInitializerCount} external, not loaded` : ''})`,
  ];
  return `${lines.join('\n')}\n`;
}
