/**
 * Localization logic, pure: exporter scopes, exposing tensors on a real ONNX file, mapping PyTorch
 * modules onto tensors (folded BatchNorm both ways, a module called twice), the first divergent
 * layer and its span on hand-built graphs, and the bisection windows.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { comparableTensors, firstDivergence, mapModules, narrowWindow, probeWindow, type HookRecord, type LayerPoint, type PointStatus } from '../../src/alignment/localize.js';
import { exposeTensors, parseOnnxGraph, scopeFromNameScopes, scopeFromNodeName, type GraphNode, type OnnxGraph } from '../../src/alignment/onnx-graph.js';
import { decodeModelProto } from '../../src/tensors/onnx-proto.js';
import { ONNX_PROTO } from '../../src/tensors/onnx-schema.js';
import { REPO } from '../runners/helpers.js';

/** A graph from `[name, op, inputs, outputs, scope?]` rows, in order. */
function graph(rows: Array<[string, string, string[], string[], string?]>, inputs = ['x'], outputs?: string[], source: GraphNode['scopeSource'] = 'name'): OnnxGraph {
  const nodes: GraphNode[] = rows.map(([name, opType, ins, outs, scope], index) => ({
    index,
    name,
    opType,
    inputs: ins,
    outputs: outs,
    modulePaths: scope !== undefined ? [scope] : [],
    scopeSource: scope !== undefined ? source : 'none',
  }));
  const producer = new Map<string, number>();
  for (const n of nodes) for (const o of n.outputs) producer.set(o, n.index);
  return { nodes, inputs, outputs: outputs ?? (nodes[nodes.length - 1]?.outputs ?? []), initializers: new Set(['w']), producer };
}

function point(g: OnnxGraph, tensor: string, status: PointStatus): LayerPoint {
  const i = g.producer.get(tensor) as number;
  const n = g.nodes[i] as GraphNode;
  return { tensor, node: n.name, nodeIndex: i, opType: n.opType, status, reasons: [], round: 1 };
}

function hook(name: string, order: number, leaf = true, dims = [1, 4]): HookRecord {
  return { name, type: 'M', order, leaf, dims };
}

describe('exporter scopes', () => {
  it('reads module paths from TorchScript-exporter node names, merging Sequential children', () => {
    expect(scopeFromNodeName('/block2/conv2/Conv')).toEqual(['block2.conv2']);
    expect(scopeFromNodeName('/layer2/downsample/downsample.0/Conv')).toEqual(['layer2.downsample.0', 'layer2.downsample.downsample.0']);
    expect(scopeFromNodeName('/stem/stem.0/Conv')).toEqual(['stem.0', 'stem.stem.0']);
    expect(scopeFromNodeName('/Flatten')).toEqual([]);
    expect(scopeFromNodeName('Conv_12')).toEqual([]);
  });

  it('reads the torch.export exporter name_scopes metadata (the last entry is the aten op)', () => {
    expect(scopeFromNameScopes("['', 'block1', 'block1.bn2', '_native_batch_norm_legit_no_training_2']")).toEqual(['block1.bn2']);
    expect(scopeFromNameScopes("['', 'add']")).toEqual([]);
    expect(scopeFromNameScopes('garbage')).toEqual([]);
  });
});

describe('exposeTensors', () => {
  const path = join(REPO, 'suites/models/cnn/model.onnx');
  const bytes = new Uint8Array(readFileSync(path));

  it('adds graph outputs and leaves the rest of the model as it was', () => {
    const names = ['/layer2/conv2/Conv_output_0', '/stem/stem.2/Relu_output_0'];
    const out = exposeTensors(bytes, names, new Map([[names[0] as string, { dtype: 'float32', dims: ['batch', 48, 16, 16] }]]));
    expect(out.length).toBeGreaterThan(bytes.length);
    const before = decodeModelProto(bytes, path);
    const after = decodeModelProto(out, 'exposed');
    expect(after.graph?.output.map((o) => o.name)).toEqual(['logits', ...names]);
    expect(after.graph?.node.length).toBe(before.graph?.node.length);
    expect(after.graph?.initializer.length).toBe(before.graph?.initializer.length);
    expect(after.graph?.initializer.map((t) => Buffer.from(t.raw_data).toString('base64'))).toEqual(before.graph?.initializer.map((t) => Buffer.from(t.raw_data).toString('base64')));
    const typed = after.graph?.output[1]?.type?.tensor_type;
    expect(typed?.elem_type).toBe(1);
    expect(typed?.shape?.dim.map((d) => d.dim_param || Number(d.dim_value))).toEqual(['batch', 48, 16, 16]);
    expect(after.graph?.output[2]?.type).toBeFalsy();
  });

  it('gives a model ONNX Runtime runs, returning the exposed tensors', async () => {
    const out = exposeTensors(bytes, ['/stem/stem.2/Relu_output_0']);
    const session = await ort.InferenceSession.create(out);
    try {
      const r = await session.run({ input: new ort.Tensor('float32', new Float32Array(3 * 32 * 32).fill(0.5), [1, 3, 32, 32]) });
      expect(r['/stem/stem.2/Relu_output_0']?.dims).toEqual([1, 32, 32, 32]);
      expect(r.logits?.dims).toEqual([1, 10]);
    } finally {
      await session.release();
    }
  });

  it('parses the graph in order with producers, scopes and comparable tensors', () => {
    const g = parseOnnxGraph(bytes, path);
    expect(g.nodes[0]).toMatchObject({ name: '/stem/stem.0/Conv', opType: 'Conv', modulePaths: ['stem.0', 'stem.stem.0'], scopeSource: 'name' });
    expect(g.inputs).toEqual(['input']);
    expect(g.outputs).toEqual(['logits']);
    expect(g.producer.get('logits')).toBe(g.nodes.length - 1);
    expect(comparableTensors(g)).toHaveLength(g.nodes.length);
  });

  it('refuses a model whose nodes are out of order, naming the node', () => {
    const Model = protobuf.parse(ONNX_PROTO, { keepCase: true }).root.lookupType('onnx.ModelProto');
    const msg = Model.create({
      ir_version: 8,
      graph: {
        name: 'g',
        node: [
          { name: 'second', op_type: 'Relu', input: ['t'], output: ['y'] },
          { name: 'first', op_type: 'Relu', input: ['x'], output: ['t'] },
        ],
        input: [{ name: 'x' }],
        output: [{ name: 'y' }],
      },
    });
    expect(() => parseOnnxGraph(Model.encode(msg).finish(), 'bad.onnx')).toThrow(/bad\.onnx: node second \(#0\) reads t, produced later by node #1/);
  });
});

describe('comparableTensors', () => {
  it('skips Constant nodes and nodes computed from weights only', () => {
    const g = graph([
      ['c', 'Constant', [], ['k']],
      ['wk', 'Mul', ['w', 'k'], ['wk_out']],
      ['m', 'MatMul', ['x', 'wk_out'], ['y']],
    ]);
    expect(comparableTensors(g)).toEqual(['y']);
  });
});

describe('mapModules', () => {
  // TorchScript exporter, BatchNorm folded: /b/conv/Conv (scope b.conv), relu under b.relu, called twice
  const legacy = graph(
    [
      ['/b/conv/Conv', 'Conv', ['x', 'w'], ['c'], 'b.conv'],
      ['/b/relu/Relu', 'Relu', ['c'], ['r'], 'b.relu'],
      ['/b/Add', 'Add', ['r', 'x'], ['s'], 'b'],
      ['/b/relu_1/Relu', 'Relu', ['s'], ['y'], 'b.relu_1'],
    ],
    ['x'],
    ['y'],
  );
  const hooks = [hook('b.conv', 0), hook('b.bn', 1), hook('b.relu', 2), hook('b.relu#1', 3), hook('b', 4, false), hook('b.drop', 5, true, [9])];

  it('folds a node-less BatchNorm into the Conv before it (TorchScript exporter) and uses it as the reference', () => {
    const m = mapModules(legacy, hooks);
    const conv = m.matches.find((x) => x.tensor === 'c');
    expect(conv).toEqual({ tensor: 'c', reference: 'b.bn', modules: ['b.conv'], folded: ['b.bn'] });
  });

  it('maps the second call of a module (relu_1) to its own call, and the parent to the same tensor', () => {
    const m = mapModules(legacy, hooks);
    expect(m.matches.find((x) => x.tensor === 'r')?.reference).toBe('b.relu');
    expect(m.matches.find((x) => x.tensor === 'y')).toEqual({ tensor: 'y', reference: 'b.relu#1', modules: ['b.relu#1', 'b'], folded: [] });
    expect(m.matches.map((x) => x.tensor)).toEqual(['c', 'r', 'y']);
  });

  it('lists a node-less module whose shape fits no neighbour as unmatched', () => {
    expect(mapModules(legacy, hooks).unmatched).toEqual(['b.drop']);
  });

  it('folds node-less predecessors into the BatchNorm scope (torch.export exporter) and keeps the owner as reference', () => {
    const dyn = graph(
      [
        ['node_Conv_1', 'Conv', ['x', 'w'], ['c'], 'b.bn'],
        ['node_relu', 'Relu', ['c'], ['y'], 'b.relu'],
      ],
      ['x'],
      ['y'],
      'metadata',
    );
    const m = mapModules(dyn, [hook('b.conv', 0), hook('b.bn', 1), hook('b.relu', 2), hook('b', 3, false)]);
    expect(m.matches[0]).toEqual({ tensor: 'c', reference: 'b.bn', modules: ['b.bn'], folded: ['b.conv'] });
    expect(m.unmatched).toEqual([]);
  });
});

describe('firstDivergence', () => {
  // x -> a -> b -> c -> d ; side branch a -> e -> d (d = Add(c, e))
  const g = graph([
    ['A', 'Conv', ['x', 'w'], ['a']],
    ['B', 'Relu', ['a'], ['b']],
    ['C', 'Conv', ['b', 'w'], ['c']],
    ['E', 'Conv', ['a', 'w'], ['e']],
    ['D', 'Add', ['c', 'e'], ['d']],
  ]);

  it('is the earliest diverged tensor whose compared inputs align, with the span back to them', () => {
    const pts = [point(g, 'a', 'aligned'), point(g, 'c', 'diverged'), point(g, 'd', 'diverged')];
    const d = firstDivergence(g, pts);
    expect(d?.tensor).toBe('c');
    expect(d?.alignedInputs).toEqual(['a']);
    expect(d?.span.map((n) => n.name)).toEqual(['B', 'C']);
  });

  it('skips a diverged tensor when an uncompared side input leads to a diverged point', () => {
    const pts = [point(g, 'a', 'diverged'), point(g, 'd', 'diverged')];
    expect(firstDivergence(g, pts)?.tensor).toBe('a');
    expect(firstDivergence(g, pts)?.alignedInputs).toEqual([]);
  });

  it('walks through tensors that could not be compared and reports the whole span', () => {
    const pts = [point(g, 'a', 'aligned'), point(g, 'b', 'unavailable'), point(g, 'c', 'aligned'), point(g, 'd', 'diverged')];
    const d = firstDivergence(g, pts);
    expect(d?.tensor).toBe('d');
    expect(d?.alignedInputs).toEqual(['a', 'c']);
    expect(d?.span.map((n) => n.name)).toEqual(['E', 'D']);
  });

  it('is undefined when everything aligns', () => {
    expect(firstDivergence(g, [point(g, 'a', 'aligned'), point(g, 'd', 'aligned')])).toBeUndefined();
  });
});

describe('bisection windows', () => {
  it('spreads k probes over the window, the last one always included', () => {
    expect(probeWindow(0, 99, 4)).toEqual([24, 49, 74, 99]);
    expect(probeWindow(10, 12, 4)).toEqual([10, 11, 12]);
    expect(probeWindow(5, 4, 4)).toEqual([]);
  });

  it('narrows to the span between the last aligned probe and the first diverged one', () => {
    const s = (bad: number) => (i: number): PointStatus => (i >= bad ? 'diverged' : 'aligned');
    expect(narrowWindow(0, [24, 49, 74, 99], s(60))).toEqual({ lo: 50, hi: 74 });
    expect(narrowWindow(0, [24, 49, 74, 99], s(3))).toEqual({ lo: 0, hi: 24 });
    expect(narrowWindow(0, [24, 49, 74, 99], s(1000))).toBeUndefined();
  });

  it('finds the first diverged index of any monotone sequence in few rounds', () => {
    for (const n of [1, 2, 7, 64, 65, 300]) {
      for (const bad of [0, 1, Math.floor(n / 2), n - 1]) {
        if (bad >= n) continue;
        const status = (i: number): PointStatus => (i >= bad ? 'diverged' : 'aligned');
        const probed = new Set<number>();
        let window: { lo: number; hi: number } | undefined = { lo: 0, hi: n - 1 };
        let rounds = 0;
        while (window) {
          const probes = probeWindow(window.lo, window.hi, 8).filter((i) => !probed.has(i));
          if (probes.length === 0) break;
          rounds++;
          for (const i of probes) probed.add(i);
          window = narrowWindow(window.lo, probeWindow(window.lo, window.hi, 8), status);
        }
        const first = [...probed].sort((a, b) => a - b).find((i) => status(i) === 'diverged');
        expect(first, `n=${n} bad=${bad}`).toBe(bad);
        expect(probed.has(bad - 1) || bad === 0, `n=${n} bad=${bad}: the aligned neighbour was compared`).toBe(true);
        expect(rounds).toBeLessThanOrEqual(Math.ceil(Math.log(Math.max(n, 2)) / Math.log(8)) + 1);
      }
    }
  });
});
