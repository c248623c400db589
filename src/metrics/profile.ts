/**
 * Per-layer profiles (`run --profile`), pure: what an engine's own profiler reported, summed
 * over the profiled iterations, turned into one record per layer and per op type with time,
 * share and count. docs/profile.md.
 */

import type { ProfileLayer, ProfileOp, ProfileSummary, RawProfile, RawProfileLayer } from '../model/profile.js';

export type { ProfileLayer, ProfileOp, ProfileSummary, RawProfile, RawProfileLayer };

/** Summarizes a raw profile; `steadyMeanMs` (the timed loop's mean latency) gives the overhead. */
export function summarizeProfile(raw: RawProfile, steadyMeanMs?: number): ProfileSummary {
  const n = Math.max(1, raw.iterations);
  const merged = new Map<string, RawProfileLayer>();
  for (const l of raw.layers) {
    if (!(l.timeNs >= 0) || !Number.isFinite(l.timeNs)) continue;
    const key = `${l.name}\u0000${l.opType}`;
    const m = merged.get(key);
    if (m) {
      m.timeNs += l.timeNs;
      m.count += l.count;
    } else merged.set(key, { ...l });
  }
  const totalNs = [...merged.values()].reduce((s, l) => s + l.timeNs, 0);
  const share = (ns: number): number => (totalNs > 0 ? (100 * ns) / totalNs : 0);
  const layers: ProfileLayer[] = [...merged.values()]
    .sort((a, b) => b.timeNs - a.timeNs || a.name.localeCompare(b.name))
    .map((l) => ({
      name: l.name,
      opType: l.opType,
      msPerInference: l.timeNs / n / 1e6,
      sharePct: share(l.timeNs),
      callsPerInference: l.count / n,
      ...(l.onnxNodes && l.onnxNodes.length > 0 ? { onnxNodes: [...l.onnxNodes] } : {}),
    }));
  const byOp = new Map<string, { ns: number; layers: number }>();
  for (const l of merged.values()) {
    const o = byOp.get(l.opType) ?? { ns: 0, layers: 0 };
    o.ns += l.timeNs;
    o.layers += 1;
    byOp.set(l.opType, o);
  }
  const ops: ProfileOp[] = [...byOp.entries()]
    .sort((a, b) => b[1].ns - a[1].ns || a[0].localeCompare(b[0]))
    .map(([opType, o]) => ({ opType, msPerInference: o.ns / n / 1e6, sharePct: share(o.ns), layers: o.layers }));
  const wallMsPerInference = raw.wallNs / n / 1e6;
  const out: ProfileSummary = { profiler: raw.profiler, iterations: raw.iterations, wallMsPerInference, layerMsPerInference: totalNs / n / 1e6, layers, ops };
  if (steadyMeanMs !== undefined && steadyMeanMs > 0 && raw.wallNs > 0) out.overheadPct = 100 * (wallMsPerInference / steadyMeanMs - 1);
  if (raw.notes && raw.notes.length > 0) out.notes = [...raw.notes];
  return out;
}

const FAMILIES: Array<[RegExp, string]> = [
  [/conv/, 'conv'],
  [/matmul|gemm|fullyconnected|fully_connected|linear|addmm|^mm$|^bmm$|innerproduct|inner_product/, 'matmul'],
  [/pool|reducemean|^mean$|^reduce\d*$/, 'pool/reduce'],
  [/relu|sigmoid|gelu|tanh|swish|silu|clip|clamp|hardswish|erf|eltwise_activation/, 'activation'],
  [/batchnorm|batch_norm|layernorm|layer_norm|normaliz|mvn|instancenorm|groupnorm/, 'norm'],
  [/softmax/, 'softmax'],
  [/^add$|^sub$|^mul$|^div$|eltwise|binaryop|^add_$|^pow$|^subtract$|^multiply$|^divide$/, 'eltwise'],
  [/reshape|flatten|transpose|permute|squeeze|view|concat|split|slice|gather|expand|reorder|copy|contiguous/, 'layout'],
];

/**
 * A cross-engine op family for an engine's op type (`Conv`, `Convolution`, `aten::conv2d`,
 * `Convolution_1` -> `conv`), so that `compare` can line engines up; unknown types keep their
 * lowercased name. A heuristic: both names are always shown.
 */
export function opFamily(opType: string): string {
  const t = opType.toLowerCase().replace(/^aten::/, '').replace(/_\d+$/, '').replace(/\s*\(.*$/, '').replace(/\s+/g, '');
  for (const [re, family] of FAMILIES) if (re.test(t)) return family;
  return t;
}

/** The op families of a profile, slowest first. */
export function opFamilies(p: ProfileSummary): Array<{ family: string; msPerInference: number; sharePct: number }> {
  const m = new Map<string, { ms: number; share: number }>();
  for (const o of p.ops) {
    const f = opFamily(o.opType);
    const cur = m.get(f) ?? { ms: 0, share: 0 };
    cur.ms += o.msPerInference;
    cur.share += o.sharePct;
    m.set(f, cur);
  }
  return [...m.entries()].map(([family, v]) => ({ family, msPerInference: v.ms, sharePct: v.share })).sort((a, b) => b.msPerInference - a.msPerInference || a.family.localeCompare(b.family));
}

/**
 * Op families that make engine `a` slower than engine `b`: per family ({@link opFamily}), the
 * time difference per inference (a - b), largest first, positive ones only.
 */
export function slowerOps(a: ProfileSummary, b: ProfileSummary): Array<{ family: string; aMs: number; bMs: number; deltaMs: number }> {
  const aOps = new Map(opFamilies(a).map((o) => [o.family, o.msPerInference]));
  const bOps = new Map(opFamilies(b).map((o) => [o.family, o.msPerInference]));
  const names = new Set([...aOps.keys(), ...bOps.keys()]);
  return [...names]
    .map((family) => ({ family, aMs: aOps.get(family) ?? 0, bMs: bOps.get(family) ?? 0, deltaMs: (aOps.get(family) ?? 0) - (bOps.get(family) ?? 0) }))
    .filter((d) => d.deltaMs > 0)
    .sort((x, y) => y.deltaMs - x.deltaMs || x.family.localeCompare(y.family));
}
