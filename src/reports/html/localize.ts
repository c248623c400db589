/**
 * The "Where it diverges" section of report.html: for each `localize` report found next to a
 * compared run (jobs that failed alignment), the first divergent layer and the error growth per
 * layer as an inline SVG chart (static markup: no script, nothing fetched). docs/localize.md.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fmtNum } from '../../alignment/num.js';
import type { LocalizeReport } from '../../execution/localize.js';

/** What the page needs of one localize report. */
export interface LocalizeView {
  model: string;
  engine: string;
  precision: string;
  reference: string;
  atol: number;
  rtol: number;
  firstDivergence?: { node: string; opType: string; module?: string; span: string[] };
  points: Array<{ index: number; node: string; opType: string; module?: string; status: string; maxAbsError?: number; cosine?: number; snrDb?: number }>;
  source: string;
}

function numOrUndefined(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  return undefined;
}

/** The view of one localize.json (read defensively: a malformed file is skipped by the caller). */
export function localizeView(r: LocalizeReport, source: string): LocalizeView {
  const ref = r.reference.kind === 'pytorch' ? `PyTorch ${r.reference.torch}` : `${r.reference.name} ${r.reference.precision}`;
  const d = r.firstDivergence;
  return {
    model: String(r.model.name),
    engine: String(r.engine.name),
    precision: String(r.engine.precision),
    reference: ref,
    atol: Number(r.tolerance.atol),
    rtol: Number(r.tolerance.rtol),
    ...(d ? { firstDivergence: { node: d.node, opType: d.opType, ...(d.modules?.[0] ? { module: d.modules[0] } : {}), span: d.span.map((s) => s.name) } } : {}),
    points: r.points.map((p) => ({
      index: p.nodeIndex,
      node: p.node,
      opType: p.opType,
      ...(p.modules?.[0] ? { module: p.modules[0] } : {}),
      status: p.status,
      ...(p.alignment ? { maxAbsError: numOrUndefined(p.alignment.maxAbsError), cosine: numOrUndefined(p.alignment.cosine), snrDb: numOrUndefined(p.alignment.snrDb) } : {}),
    })),
    source,
  };
}

/**
 * localize.json files that belong to a run folder: `<run>/localize/<any>/localize.json` (where
 * `run --localize` and `localize --out <run>/localize/<name>` write them). `input` is a run
 * folder or its results.json.
 */
export function findLocalizeReports(input: string): LocalizeView[] {
  const abs = resolve(input);
  let dir: string;
  try {
    dir = statSync(abs).isDirectory() ? abs : dirname(abs);
  } catch {
    return [];
  }
  const root = join(dir, 'localize');
  let names: string[];
  try {
    names = readdirSync(root).sort();
  } catch {
    return [];
  }
  const out: LocalizeView[] = [];
  for (const n of names) {
    const file = join(root, n, 'localize.json');
    try {
      const r = JSON.parse(readFileSync(file, 'utf8')) as LocalizeReport;
      if (r?.schema !== 'benchalign.localize/1' || !Array.isArray(r.points)) continue;
      out.push(localizeView(r, file));
    } catch {
      // not a localize report (or unreadable): skipped
    }
  }
  return out;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const W = 720;
const H = 220;
const M = { l: 56, r: 12, t: 12, b: 28 };

/** The error-growth chart: log10 max abs error per compared layer in graph order, the atol line, the first divergent layer marked. */
export function errorGrowthSvg(v: LocalizeView): string {
  const pts = v.points.filter((p) => p.maxAbsError !== undefined && Number.isFinite(p.maxAbsError));
  if (pts.length === 0) return '<p class="hint">No layer could be compared.</p>';
  const floor = 1e-12;
  const ys = pts.map((p) => Math.log10(Math.max(p.maxAbsError as number, floor)));
  const atolY = Math.log10(Math.max(v.atol, floor));
  const lo = Math.floor(Math.min(...ys, atolY));
  const hi = Math.ceil(Math.max(...ys, atolY));
  const span = Math.max(1, hi - lo);
  const x = (i: number): number => M.l + (pts.length === 1 ? 0.5 : i / (pts.length - 1)) * (W - M.l - M.r);
  const y = (val: number): number => M.t + (1 - (val - lo) / span) * (H - M.t - M.b);
  const parts: string[] = [];
  for (let d = lo; d <= hi; d++) {
    parts.push(`<line x1="${M.l}" x2="${W - M.r}" y1="${y(d).toFixed(1)}" y2="${y(d).toFixed(1)}" stroke="#ddd"/>`);
    parts.push(`<text x="${M.l - 6}" y="${(y(d) + 4).toFixed(1)}" text-anchor="end" font-size="11">1e${d}</text>`);
  }
  parts.push(`<line x1="${M.l}" x2="${W - M.r}" y1="${y(atolY).toFixed(1)}" y2="${y(atolY).toFixed(1)}" stroke="#888" stroke-dasharray="4 3"><title>atol ${fmtNum(v.atol)}</title></line>`);
  parts.push(`<polyline fill="none" stroke="#4a6fa5" stroke-width="1.5" points="${pts.map((_, i) => `${x(i).toFixed(1)},${y(ys[i] as number).toFixed(1)}`).join(' ')}"/>`);
  pts.forEach((p, i) => {
    const first = v.firstDivergence?.node === p.node;
    const color = p.status === 'diverged' ? '#c0392b' : p.status === 'aligned' ? '#2e8b57' : '#999';
    const label = `${p.node} (${p.opType}${p.module ? `, ${p.module}` : ''}): max abs error ${fmtNum(p.maxAbsError as number)}, ${p.status}`;
    parts.push(`<circle cx="${x(i).toFixed(1)}" cy="${y(ys[i] as number).toFixed(1)}" r="${first ? 6 : 3.5}" fill="${color}"${first ? ' stroke="#000" stroke-width="1.5"' : ''}><title>${esc(label)}</title></circle>`);
  });
  parts.push(`<text x="${(M.l + W - M.r) / 2}" y="${H - 6}" text-anchor="middle" font-size="11">compared layers in graph order (${pts.length}); dashed: atol</text>`);
  parts.push(`<text transform="translate(12 ${(M.t + H - M.b) / 2}) rotate(-90)" text-anchor="middle" font-size="11">max abs error</text>`);
  return `<svg class="localize-chart" role="img" aria-label="max abs error per layer for ${esc(v.model)} on ${esc(v.engine)}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}">${parts.join('')}</svg>`;
}

/** The section, or nothing when no localize report was found. */
export function localizeSectionHtml(views: readonly LocalizeView[]): string {
  if (views.length === 0) return '';
  const blocks = views.map((v) => {
    const d = v.firstDivergence;
    const verdict = d
      ? `First divergent layer: <b>${esc(d.node)}</b> (${esc(d.opType)}${d.module ? `, PyTorch module <code>${esc(d.module)}</code>` : ''})${d.span.length > 1 ? `; the cause lies in ${d.span.length} nodes: ${d.span.map(esc).join(', ')}` : ''}`
      : 'No divergence among the compared layers.';
    const rows = v.points
      .map((p) => `<tr class="${esc(p.status)}"><td>${p.index}</td><td>${esc(p.node)}</td><td>${esc(p.opType)}</td><td>${esc(p.module ?? '')}</td><td>${esc(p.status)}</td><td>${p.maxAbsError === undefined ? '' : esc(fmtNum(p.maxAbsError))}</td><td>${p.cosine === undefined ? '' : esc(fmtNum(p.cosine, 7))}</td><td>${p.snrDb === undefined ? '' : esc(fmtNum(p.snrDb))}</td></tr>`)
      .join('');
    return `<article class="localize"><h3>${esc(v.model)} on ${esc(v.engine)} ${esc(v.precision)} against ${esc(v.reference)}</h3>
<p>${verdict}</p>
${errorGrowthSvg(v)}
<details><summary>Per-layer table (${v.points.length} compared; atol ${esc(fmtNum(v.atol))}, rtol ${esc(fmtNum(v.rtol))})</summary><div class="table-wrap"><table><thead><tr><th>#</th><th>node</th><th>op</th><th>module</th><th>status</th><th>max abs</th><th>cosine</th><th>SNR dB</th></tr></thead><tbody>${rows}</tbody></table></div></details>
<p class="hint">${esc(v.source)}</p></article>`;
  });
  return `<section id="localize-section"><h2>Where it diverges</h2>\n${blocks.join('\n')}\n</section>`;
}
