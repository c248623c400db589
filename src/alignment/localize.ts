/**
 * Localization (pure): which ONNX tensors to compare, how PyTorch modules map onto them, and
 * which layer diverges first. The runs themselves (engines, PyTorch hooks) live in
 * src/execution/localize.ts; docs/localize.md has the full rules.
 */
import type { GraphNode, OnnxGraph } from './onnx-graph.js';
import type { OutputAlignment } from '../model/alignment.js';

/** One PyTorch module call recorded by a forward hook (hooks.json of the PyTorch side). */
export interface HookRecord {
  /** Dotted module path; the k-th call (k >= 1) of a module called several times is `path#k`. */
  name: string;
  /** Class name, e.g. `Conv2d`. */
  type: string;
  /** Completion order of the call (forward hooks fire when a module returns). */
  order: number;
  /** True for a module without child modules. */
  leaf: boolean;
  /** Output dims, when the output is one tensor. */
  dims?: number[];
}

/** A PyTorch module matched to the ONNX tensor that carries its output. */
export interface ModuleMatch {
  tensor: string;
  /** The module whose hook output is the reference for `tensor`. */
  reference: string;
  /** Every module whose output this tensor is (e.g. `block2.out` and `block2`), deepest first. */
  modules: string[];
  /** Modules with no ONNX node of their own, folded into this tensor by the export (e.g. BatchNorm after a Conv). */
  folded: string[];
}

export interface ModuleMapping {
  matches: ModuleMatch[];
  /** Modules that ran in PyTorch but own no ONNX node and were not folded into a neighbour. */
  unmatched: string[];
}

/** A module path candidate resolved against the recorded hook names (`relu_1` -> `relu#1`). */
function resolvePath(candidates: readonly string[], hooks: ReadonlySet<string>): string | undefined {
  for (const c of candidates) if (hooks.has(c)) return c;
  for (const c of candidates) {
    const m = /^(.*)_(\d+)$/.exec(c);
    if (m && hooks.has(`${m[1]}#${m[2]}`)) return `${m[1]}#${m[2]}`;
  }
  return undefined;
}

function parentOf(path: string): string {
  const base = path.replace(/#\d+$/, '');
  const i = base.lastIndexOf('.');
  return i < 0 ? '' : base.slice(0, i);
}

/** Whether a node attributed to `nodePath` belongs to `module` (itself or a submodule; `m#k` is another call of `m`). */
function inScope(nodePath: string, module: string): boolean {
  return nodePath === module || (!module.includes('#') && nodePath.startsWith(`${module}.`));
}

function sameDims(a: readonly number[] | undefined, b: readonly number[] | undefined): boolean {
  return a !== undefined && b !== undefined && a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Maps hooked PyTorch modules to ONNX tensors by the exporter's node scopes. A module's tensor is
 * the last output of its scope that leaves the scope (read by a node outside it, or a graph
 * output). Leaf modules that own no node are folded into a leaf sibling's tensor, the way the
 * exporter fuses: the TorchScript exporter keeps a fused Conv+BatchNorm under the Conv's scope
 * (node-less followers fold into it and the last of them is the reference), the torch.export
 * exporter under the BatchNorm's (node-less predecessors fold into it; the owner stays the reference).
 */
export function mapModules(graph: OnnxGraph, hooks: readonly HookRecord[]): ModuleMapping {
  const names = new Set(hooks.map((h) => h.name));
  const nodePath = graph.nodes.map((n) => resolvePath(n.modulePaths, names));
  const consumers = new Map<string, number[]>();
  for (const n of graph.nodes) for (const i of n.inputs) consumers.set(i, [...(consumers.get(i) ?? []), n.index]);
  const outputs = new Set(graph.outputs);

  const tensorOf = new Map<string, string>();
  for (const h of hooks) {
    if (h.name === '') continue;
    const scope = graph.nodes.filter((n) => {
      const p = nodePath[n.index];
      return p !== undefined && inScope(p, h.name);
    });
    const inside = new Set(scope.map((n) => n.index));
    let best: string | undefined;
    for (const n of scope) {
      for (const o of n.outputs) {
        if (o === '') continue;
        const leaves = outputs.has(o) || (consumers.get(o) ?? []).some((c) => !inside.has(c));
        if (leaves) best = o;
      }
    }
    if (best !== undefined) tensorOf.set(h.name, best);
  }

  const byOrder = [...hooks].filter((h) => h.leaf && h.name !== '').sort((a, b) => a.order - b.order);
  const folded = new Map<string, string[]>();
  const foldedInto = new Map<string, string>();
  const sourceOf = (module: string): GraphNode['scopeSource'] => {
    const t = tensorOf.get(module);
    const p = t !== undefined ? graph.producer.get(t) : undefined;
    return p !== undefined ? (graph.nodes[p] as GraphNode).scopeSource : 'none';
  };
  const foldable = (next: HookRecord, owner: HookRecord): boolean =>
    !tensorOf.has(next.name) && parentOf(next.name) === parentOf(owner.name) && sameDims(next.dims, owner.dims) && !foldedInto.has(next.name);
  for (let i = 0; i < byOrder.length; i++) {
    const owner = byOrder[i] as HookRecord;
    if (!tensorOf.has(owner.name)) continue;
    const chain: string[] = [];
    if (sourceOf(owner.name) === 'name') {
      // TorchScript exporter: the fused node keeps the first module's scope; node-less followers are folded into it
      for (let j = i + 1; j < byOrder.length && foldable(byOrder[j] as HookRecord, owner); j++) chain.push((byOrder[j] as HookRecord).name);
    } else {
      // torch.export exporter: the fused node takes the last module's scope; node-less predecessors are folded into it
      for (let j = i - 1; j >= 0 && foldable(byOrder[j] as HookRecord, owner); j--) chain.unshift((byOrder[j] as HookRecord).name);
    }
    if (chain.length > 0) {
      folded.set(owner.name, chain);
      for (const c of chain) foldedInto.set(c, owner.name);
    }
  }

  const depth = (p: string): number => (p === '' ? 0 : p.split('.').length);
  const byTensor = new Map<string, string[]>();
  for (const [module, tensor] of tensorOf) byTensor.set(tensor, [...(byTensor.get(tensor) ?? []), module]);
  const leafSet = new Set(hooks.filter((h) => h.leaf).map((h) => h.name));
  const matches: ModuleMatch[] = [];
  for (const [tensor, modules] of byTensor) {
    modules.sort((a, b) => Number(leafSet.has(b)) - Number(leafSet.has(a)) || depth(b) - depth(a) || a.localeCompare(b));
    const head = modules[0] as string;
    const chain = folded.get(head) ?? [];
    const followers = chain.length > 0 && sourceOf(head) === 'name';
    matches.push({ tensor, reference: followers ? (chain[chain.length - 1] as string) : head, modules, folded: chain });
  }
  const producerIndex = (t: string): number => graph.producer.get(t) ?? -1;
  matches.sort((a, b) => producerIndex(a.tensor) - producerIndex(b.tensor));
  const unmatched = hooks
    .filter((h) => h.name !== '' && !tensorOf.has(h.name) && !foldedInto.has(h.name) && h.leaf)
    .map((h) => h.name);
  return { matches, unmatched };
}

/**
 * Every tensor worth comparing between two engines, in graph order: node outputs that are not
 * constants (Constant nodes, or nodes reading only initializers and constants).
 */
export function comparableTensors(graph: OnnxGraph): string[] {
  const constant = new Set<string>(graph.initializers);
  const out: string[] = [];
  for (const n of graph.nodes) {
    const isConst = n.opType === 'Constant' || (n.inputs.length > 0 && n.inputs.every((i) => i === '' || constant.has(i)));
    for (const o of n.outputs) {
      if (o === '') continue;
      if (isConst) constant.add(o);
      else out.push(o);
    }
  }
  return out;
}

export type PointStatus = 'aligned' | 'diverged' | 'unavailable';

/** One compared tensor (a row of the per-layer table). */
export interface LayerPoint {
  tensor: string;
  /** The producing node. */
  node: string;
  nodeIndex: number;
  opType: string;
  /** PyTorch modules whose output this is (deepest first), when compared against PyTorch. */
  modules?: string[];
  /** PyTorch modules folded into this tensor by the export. */
  folded?: string[];
  status: PointStatus;
  /** Why unavailable, or why it diverged (the alignment's reasons). */
  reasons: string[];
  alignment?: OutputAlignment;
  /** The bisection round that compared it (1-based). */
  round: number;
}

/** The earliest diverged layer whose nearest compared inputs all align. */
export interface Divergence {
  tensor: string;
  node: string;
  nodeIndex: number;
  opType: string;
  modules?: string[];
  /** PyTorch modules the export folded into it. */
  folded?: string[];
  /** The aligned tensors feeding it (the last aligned points before it); empty when it reads the graph inputs directly. */
  alignedInputs: string[];
  /** The nodes between those aligned points and the diverged tensor, the node itself last: where the cause is. */
  span: Array<{ name: string; opType: string; modules: string[] }>;
}

function pointNodeIndex(graph: OnnxGraph, tensor: string): number {
  return graph.producer.get(tensor) ?? -1;
}

/** The nodes feeding `nodeIndex` back to the nearest compared points, and those points. */
export function spanBack(graph: OnnxGraph, nodeIndex: number, compared: ReadonlyMap<string, PointStatus>): { nodes: GraphNode[]; frontier: string[] } {
  const seen = new Set<number>([nodeIndex]);
  const frontier = new Set<string>();
  const stack = [...(graph.nodes[nodeIndex]?.inputs ?? [])];
  while (stack.length > 0) {
    const t = stack.pop() as string;
    if (t === '') continue;
    const s = compared.get(t);
    if (s === 'aligned' || s === 'diverged') {
      frontier.add(t);
      continue;
    }
    const p = graph.producer.get(t);
    if (p === undefined || seen.has(p)) continue;
    seen.add(p);
    stack.push(...(graph.nodes[p]?.inputs ?? []));
  }
  const nodes = [...seen].sort((a, b) => a - b).map((i) => graph.nodes[i] as GraphNode);
  return { nodes, frontier: [...frontier] };
}

/**
 * The first divergent layer: in graph order, the first diverged point whose nearest compared
 * inputs (through uncompared nodes) all aligned. Undefined when nothing diverged.
 */
export function firstDivergence(graph: OnnxGraph, points: readonly LayerPoint[], moduleOf: (node: GraphNode) => string[] = (n) => n.modulePaths): Divergence | undefined {
  const compared = new Map(points.map((p) => [p.tensor, p.status] as const));
  const ordered = [...points].sort((a, b) => a.nodeIndex - b.nodeIndex);
  for (const p of ordered) {
    if (p.status !== 'diverged') continue;
    const { nodes, frontier } = spanBack(graph, pointNodeIndex(graph, p.tensor), compared);
    if (frontier.some((t) => compared.get(t) !== 'aligned')) continue;
    return {
      tensor: p.tensor,
      node: p.node,
      nodeIndex: p.nodeIndex,
      opType: p.opType,
      ...(p.modules ? { modules: p.modules } : {}),
      ...(p.folded ? { folded: p.folded } : {}),
      alignedInputs: frontier.sort((a, b) => pointNodeIndex(graph, a) - pointNodeIndex(graph, b)),
      span: nodes.map((n) => ({ name: n.name, opType: n.opType, modules: moduleOf(n) })),
    };
  }
  return undefined;
}

/**
 * Up to `k` indices spread evenly over [lo, hi], `hi` always included, ascending: the tensors a
 * bisection round exposes. All of them when the window holds at most `k`.
 */
export function probeWindow(lo: number, hi: number, k: number): number[] {
  const n = hi - lo + 1;
  if (n <= 0) return [];
  if (n <= k) return Array.from({ length: n }, (_, i) => lo + i);
  const out = new Set<number>();
  for (let i = 1; i <= k; i++) out.add(lo - 1 + Math.round((i * n) / k));
  return [...out].filter((x) => x >= lo && x <= hi).sort((a, b) => a - b);
}

/**
 * The next window after a round over [lo, ...]: from just after the last aligned probe before
 * the first diverged one, up to that diverged probe. Undefined when no probe diverged.
 */
export function narrowWindow(lo: number, probes: readonly number[], status: (index: number) => PointStatus): { lo: number; hi: number } | undefined {
  let from = lo;
  for (const i of probes) {
    const s = status(i);
    if (s === 'diverged') return { lo: from, hi: i };
    if (s === 'aligned') from = i + 1;
  }
  return undefined;
}
