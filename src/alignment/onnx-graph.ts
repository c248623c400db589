/**
 * The ONNX graph as `localize` sees it: nodes in graph order with their inputs, outputs and the
 * PyTorch module scope the exporter wrote into them, and a copy of the model with intermediate
 * tensors added as graph outputs (what every ONNX-consuming engine then computes and returns).
 */
import { BenchalignError } from '../errors.js';
import { decodeModelProto, ONNX_DTYPES } from '../tensors/onnx-proto.js';

/** One ONNX node. */
export interface GraphNode {
  /** Position in the graph (topological order). */
  index: number;
  /** The node's name, or `<opType>_<index>` when it has none. */
  name: string;
  opType: string;
  inputs: string[];
  outputs: string[];
  /**
   * The PyTorch module path the exporter attributed the node to, as dotted-path candidates
   * (most likely first), e.g. `['block2.conv2']` from `/block2/conv2/Conv`; empty when the node
   * carries no scope.
   */
  modulePaths: string[];
  /**
   * Where the scope came from: the TorchScript exporter's node name (`name`; it keeps a fused
   * Conv+BatchNorm under the Conv's scope), the torch.export exporter's `pkg.torch.onnx.name_scopes`
   * metadata (`metadata`; it keeps it under the BatchNorm's), or none.
   */
  scopeSource: 'name' | 'metadata' | 'none';
}

export interface OnnxGraph {
  nodes: GraphNode[];
  /** Graph inputs that are not initializers. */
  inputs: string[];
  outputs: string[];
  /** Initializer names (weights). */
  initializers: Set<string>;
  /** Tensor name -> index of the node producing it. */
  producer: Map<string, number>;
}

interface PbNodeWithMeta {
  op_type: string;
  name: string;
  input: string[];
  output: string[];
  metadata_props?: Array<{ key: string; value: string }>;
}

/**
 * Module path candidates from a TorchScript-exporter node name (`/layer2/downsample/downsample.0/Conv`):
 * each scope segment either extends the path by its own name or, when it repeats the last component
 * (`downsample.0` under `downsample`), replaces that component.
 */
export function scopeFromNodeName(name: string): string[] {
  if (!name.startsWith('/')) return [];
  const segs = name.split('/').slice(1, -1).filter((s) => s.length > 0);
  if (segs.length === 0) return [];
  let merged = '';
  let joined = '';
  for (const s of segs) {
    joined = joined === '' ? s : `${joined}.${s}`;
    if (merged === '') {
      merged = s;
      continue;
    }
    const last = merged.slice(merged.lastIndexOf('.') + 1);
    const parentEnd = merged.lastIndexOf('.');
    merged = s.startsWith(`${last}.`) ? (parentEnd >= 0 ? `${merged.slice(0, parentEnd)}.${s}` : s) : `${merged}.${s}`;
  }
  return merged === joined ? [merged] : [merged, joined];
}

/** Module path from the dynamo exporter's `pkg.torch.onnx.name_scopes` (`['', 'block1', 'block1.bn2', 'op']`). */
export function scopeFromNameScopes(value: string): string[] {
  const items = [...value.matchAll(/'([^']*)'|"([^"]*)"/g)].map((m) => m[1] ?? m[2] ?? '');
  const modules = items.slice(0, -1).filter((s) => s !== '');
  const last = modules[modules.length - 1];
  return last === undefined ? [] : [last];
}

/** Reads the graph of an ONNX model (no external data is read). */
export function parseOnnxGraph(bytes: Uint8Array, file: string): OnnxGraph {
  const model = decodeModelProto(bytes, file);
  const g = model.graph;
  if (g === undefined) throw new BenchalignError('E_TENSOR_FORMAT', 'the ONNX model has no graph', { file, expected: 'an ONNX ModelProto with a graph' });
  const initializers = new Set(g.initializer.map((t) => t.name));
  const nodes: GraphNode[] = (g.node as PbNodeWithMeta[]).map((n, index) => {
    const scopes = n.metadata_props?.find((p) => p.key === 'pkg.torch.onnx.name_scopes');
    const modulePaths = scopes !== undefined ? scopeFromNameScopes(scopes.value) : scopeFromNodeName(n.name);
    return {
      index,
      name: n.name || `${n.op_type}_${index}`,
      opType: n.op_type,
      inputs: [...n.input],
      outputs: [...n.output],
      modulePaths,
      scopeSource: modulePaths.length === 0 ? 'none' : scopes !== undefined ? 'metadata' : 'name',
    };
  });
  const producer = new Map<string, number>();
  for (const n of nodes) for (const o of n.outputs) if (o !== '') producer.set(o, n.index);
  const inputs = g.input.map((i) => i.name).filter((n) => !initializers.has(n));
  const known = new Set([...inputs, ...initializers]);
  for (const n of nodes) {
    for (const i of n.inputs) {
      if (i !== '' && !known.has(i) && !producer.has(i)) {
        // an outer-scope or missing value; reported by the engine, not here
        known.add(i);
      }
      const p = producer.get(i);
      if (p !== undefined && p >= n.index) {
        throw new BenchalignError('E_TENSOR_FORMAT', `node ${n.name} (#${n.index}) reads ${i}, produced later by node #${p}`, {
          file,
          expected: 'nodes in topological order (as the ONNX specification requires)',
        });
      }
    }
  }
  return { nodes, inputs, outputs: g.output.map((o) => o.name), initializers, producer };
}

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v > 127) {
    out.push((v & 127) | 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

function lengthDelimited(field: number, payload: Uint8Array): Uint8Array {
  const head = [(field << 3) | 2, ...varint(payload.length)];
  const out = new Uint8Array(head.length + payload.length);
  out.set(head, 0);
  out.set(payload, head.length);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** The type of an exposed tensor, when known (converters such as pnnx need it; ONNX Runtime and OpenVINO infer it). */
export interface ExposedType {
  dtype: string;
  /** Dims; strings are symbolic. */
  dims?: ReadonlyArray<number | string>;
}

function varintField(field: number, v: number): number[] {
  return [field << 3, ...varint(v)];
}

function typeProto(t: ExposedType): Uint8Array | undefined {
  const code = Object.entries(ONNX_DTYPES).find(([, d]) => d === t.dtype)?.[0];
  if (code === undefined) return undefined;
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [new Uint8Array(varintField(1, Number(code)))];
  if (t.dims !== undefined) {
    const dims = t.dims.map((d) =>
      typeof d === 'number' && Number.isInteger(d) && d >= 0 ? lengthDelimited(1, new Uint8Array(varintField(1, d))) : lengthDelimited(1, lengthDelimited(2, enc.encode(String(d)))),
    );
    parts.push(lengthDelimited(2, concat(dims)));
  }
  return lengthDelimited(1, concat(parts));
}

function readVarint(bytes: Uint8Array, at: number, file: string): { value: number; next: number } {
  let value = 0;
  let mul = 1;
  for (let i = at; i < bytes.length && i < at + 10; i++) {
    const b = bytes[i] as number;
    value += (b & 127) * mul;
    mul *= 128;
    if (b < 128) return { value, next: i + 1 };
  }
  throw new BenchalignError('E_TENSOR_FORMAT', `truncated varint at byte ${at}`, { file, expected: 'an ONNX ModelProto' });
}

/** Byte range of the top-level ModelProto.graph field (tag at `start`, payload at [payload, end)). */
function graphField(bytes: Uint8Array, file: string): { start: number; payload: number; end: number } {
  let at = 0;
  let found: { start: number; payload: number; end: number } | undefined;
  while (at < bytes.length) {
    const start = at;
    const tag = readVarint(bytes, at, file);
    at = tag.next;
    const wire = tag.value % 8;
    const field = Math.floor(tag.value / 8);
    if (wire === 0) at = readVarint(bytes, at, file).next;
    else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else if (wire === 2) {
      const len = readVarint(bytes, at, file);
      if (field === 7) {
        if (found !== undefined) throw new BenchalignError('E_UNSUPPORTED', 'the model has its graph field twice', { file, expected: 'one ModelProto.graph' });
        found = { start, payload: len.next, end: len.next + len.value };
      }
      at = len.next + len.value;
    } else throw new BenchalignError('E_TENSOR_FORMAT', `unknown protobuf wire type ${wire} at byte ${start}`, { file, expected: 'an ONNX ModelProto' });
    if (at > bytes.length) throw new BenchalignError('E_TENSOR_FORMAT', `field ${field} at byte ${start} runs past the end of the file`, { file, expected: 'an ONNX ModelProto' });
  }
  if (found === undefined) throw new BenchalignError('E_TENSOR_FORMAT', 'the ONNX model has no graph', { file, expected: 'an ONNX ModelProto with a graph' });
  return found;
}

/**
 * The model with `names` added as graph outputs, with their types where `types` knows them
 * (otherwise name only, and the engine infers the type). Only the graph field's length prefix
 * changes and the new `GraphProto.output` entries go at the end of the graph: every node,
 * weight and attribute stays byte for byte as it was.
 */
export function exposeTensors(bytes: Uint8Array, names: readonly string[], types: ReadonlyMap<string, ExposedType> = new Map(), file = 'model.onnx'): Uint8Array {
  if (names.length === 0) return bytes;
  const enc = new TextEncoder();
  const outputs = concat(
    names.map((n) => {
      const t = types.get(n);
      const tp = t !== undefined ? typeProto(t) : undefined;
      const vi = tp !== undefined ? concat([lengthDelimited(1, enc.encode(n)), lengthDelimited(2, tp)]) : lengthDelimited(1, enc.encode(n));
      return lengthDelimited(12, vi);
    }),
  );
  const g = graphField(bytes, file);
  const graph = concat([bytes.subarray(g.payload, g.end), outputs]);
  return concat([bytes.subarray(0, g.start), lengthDelimited(7, graph), bytes.subarray(g.end)]);
}
