/** The console form of a `localize` report: the per-layer table in graph order and the verdict. */
import type { LayerPoint } from '../alignment/localize.js';
import { fmtNum } from '../alignment/num.js';
import type { LocalizeReport } from '../execution/localize.js';

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function short(s: string, n: number): string {
  return s.length <= n ? s : `…${s.slice(s.length - n + 1)}`;
}

function row(p: LayerPoint, first: string | undefined): string[] {
  const a = p.alignment;
  const mark = p.tensor === first ? '>>' : p.status === 'diverged' ? ' x' : p.status === 'unavailable' ? ' ?' : '  ';
  const module = p.modules ? `${p.modules[0]}${p.folded?.length ? ` (+${p.folded.join(', ')})` : ''}` : '';
  return [
    mark,
    String(p.nodeIndex),
    short(p.node, 40),
    p.opType,
    short(module, 36),
    p.status,
    a ? fmtNum(a.maxAbsError) : '',
    a ? fmtNum(a.maxRelError) : '',
    a ? fmtNum(a.cosine, 7) : '',
    a ? fmtNum(a.snrDb) : '',
    a ? `${fmtNum(a.mismatchPct)}%` : p.reasons[0] ?? '',
  ];
}

/** The report as console text. */
export function formatLocalize(r: LocalizeReport): string {
  const lines: string[] = [];
  const ref = r.reference.kind === 'pytorch' ? `PyTorch ${r.reference.torch} (${r.reference.form}, ${r.reference.form.startsWith('torchscript ') ? 'module outputs from its inlined graph' : 'forward hooks'})` : `${r.reference.name} ${r.reference.version} (${r.reference.precision})`;
  lines.push(`localize ${r.model.name} on ${r.engine.name} ${r.engine.version} (${r.engine.precision}) against ${ref}`);
  lines.push(`  ${r.model.nodes} ONNX nodes, ${r.candidates} comparable tensor(s), ${r.points.length} compared in ${r.rounds} engine run(s); tolerance atol=${fmtNum(r.tolerance.atol)} rtol=${fmtNum(r.tolerance.rtol)}`);
  const head = ['', '#', 'node', 'op', 'module', 'status', 'max abs', 'max rel', 'cosine', 'SNR dB', 'mismatch'];
  const rows = [head, ...r.points.map((p) => row(p, r.firstDivergence?.tensor))];
  const widths = head.map((_, i) => Math.max(...rows.map((x) => (x[i] ?? '').length)));
  for (const x of rows) lines.push(`  ${x.map((c, i) => pad(c, widths[i] as number)).join('  ').trimEnd()}`);
  if (r.folded.length > 0) lines.push(`  folded by the export (no ONNX node of their own, compared at the tensor they were folded into): ${r.folded.map((f) => `${f.modules.join('+')} -> ${f.into}`).join(', ')}`);
  if (r.unmatchedModules.length > 0) lines.push(`  PyTorch modules with no ONNX tensor (not compared): ${r.unmatchedModules.join(', ')}`);
  for (const n of r.notExposed) lines.push(`  not exposed by ${n.engine}: ${n.tensor}`);
  if (r.engineFusion !== undefined) {
    lines.push(`  ${r.engine.name} fuses ${r.engineFusion.length} group(s) of ONNX nodes in the un-modified model${r.engineFusion.length > 0 ? ` (exposing intermediates may undo them), e.g. ${r.engineFusion.slice(0, 3).map((f) => `${f.onnxNodes.join(' + ')} -> ${f.name} (${f.opType})`).join('; ')}` : ''}`);
  }
  for (const n of r.notes) lines.push(`  note: ${n}`);
  const failed = r.outputs.filter((o) => !o.passed).map((o) => o.name);
  lines.push(r.outputs.length === 0 ? '  model outputs: no reference to compare with' : failed.length === 0 ? '  model outputs: aligned' : `  model outputs: FAILED (${failed.join(', ')})`);
  const d = r.firstDivergence;
  if (d === undefined) {
    lines.push(r.points.some((p) => p.status === 'unavailable') && r.points.every((p) => p.status !== 'diverged') ? 'No divergence among the compared tensors (some could not be compared).' : 'No divergence: every compared tensor aligns.');
  } else {
    const mod = d.modules?.length ? `, PyTorch module ${d.modules[0]}${d.folded?.length ? ` with ${d.folded.join(', ')} folded in` : ''}` : '';
    lines.push(`First divergent layer: ${d.node} (${d.opType}${mod}), tensor ${d.tensor}`);
    lines.push(`  fed by aligned tensor(s): ${d.alignedInputs.join(', ') || 'the model inputs'}`);
    if (d.span.length > 1) lines.push(`  the cause lies in these ${d.span.length} nodes: ${d.span.map((n) => `${n.name} (${n.opType})`).join(', ')}`);
    for (const f of r.divergenceFusedWith ?? []) lines.push(`  in the un-modified model ${r.engine.name} runs it fused: ${f.onnxNodes.join(' + ')} -> ${f.name} (${f.opType})`);
  }
  lines.push(`Written: ${r.outDir}/localize.json`);
  return lines.join('\n');
}
