/** `benchalign zoo list`: the catalog as a table or JSON. */
import { ZOO, type ZooArchitecture } from './catalog.js';

/** Approximate fp32 size of the weights, MB (4 bytes a parameter). */
export function weightsMB(a: ZooArchitecture): number {
  return (a.parameters * 4) / 1e6;
}

export function zooListJson(): Array<Record<string, unknown>> {
  return ZOO.map((a) => ({
    name: a.name,
    task: a.task,
    family: a.family,
    source: a.source,
    inputs: a.inputs.map((i) => ({
      name: i.name,
      dtype: i.dtype,
      dims: i.dims,
      shape: i.shape,
      fill: i.fill,
      ...(i.range ? { range: i.range } : {}),
      ...(i.pad !== undefined ? { pad: i.pad } : {}),
      dynamicDims: i.dims.flatMap((d, k) => (typeof d === 'string' ? [{ axis: k, name: d }] : [])),
    })),
    outputs: a.outputs,
    parameters: a.parameters,
    weightsMB: Number(weightsMB(a).toFixed(1)),
    gmacs: a.gmacs,
    sweeps: a.family === 'cnn' ? { batchSizes: [1, 4, 8], concurrency: [1, 2] } : { batchSizes: [1], concurrency: [1] },
  }));
}

const fmtDims = (d: Array<number | string>): string => `[${d.join(', ')}]`;

export function formatZooList(): string {
  const rows = ZOO.map((a) => [
    a.name,
    a.task,
    a.inputs.map((i) => `${i.name} ${i.dtype}${fmtDims(i.dims)}${i.dims.some((d) => typeof d === 'string') ? `=${fmtDims(i.shape)}` : ''}`).join(' '),
    `${(a.parameters / 1e6).toFixed(1)}M`,
    `${weightsMB(a).toFixed(0)} MB`,
    a.gmacs >= 0.1 ? a.gmacs.toFixed(1) : a.gmacs.toPrecision(2),
  ]);
  const head = ['name', 'task', 'inputs (dims = prepared shape)', 'params', 'weights', 'GMACs'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  const sources = ZOO.map((a) => `  ${a.name}: ${a.source}`);
  return `${[line(head), ...rows.map(line)].join('\n')}\n\nSources (seeded random weights, nothing downloaded):\n${sources.join('\n')}\n`;
}
