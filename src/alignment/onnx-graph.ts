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

/**
 * The model with `names` added as graph outputs, with their types where `types` knows them
 * (otherwise name only, and the engine infers the type). Protobuf merges a message appended to
 * another: `ModelProto{graph{output: [...]}}` after the original bytes appends to
 * `graph.output` and leaves everything else as it was, byte for byte.
 */
export function exposeTensors(bytes: Uint8Array, names: readonly string[], types: ReadonlyMap<string, ExposedType> = new Map()): Uint8Array {
  if (names.length === 0) return bytes;
  const enc = new TextEncoder();
  const outputs = names.map((n) => {
    const t = types.get(n);
    const tp = t !== undefined ? typeProto(t) : undefined;
    const vi = tp !== undefined ? concat([lengthDelimited(1, enc.encode(n)), lengthDelimited(2, tp)]) : lengthDelimited(1, enc.encode(n));
    return lengthDelimited(12, vi);
  });
  return concat([bytes, lengthDelimited(7, concat(outputs))]);
}
