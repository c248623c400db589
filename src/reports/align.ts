/**
 * Reporters for an AlignReport: readable text and JSON (non-finite numbers as strings).
 */
import type { AlignReport } from '../alignment/align-files.js';
import { fmtNum } from '../alignment/num.js';
import type { OutputAlignment, Tolerance } from '../model/alignment.js';

const BAR_WIDTH = 40;

function fmtTolerance(t: Tolerance, exact: boolean): string {
  if (exact) return 'exact (integer/bool)';
  const parts: string[] = [];
  if (t.elementwise !== false) parts.push(`atol=${fmtNum(t.atol)} rtol=${fmtNum(t.rtol)}`);
  else parts.push('elementwise off');
  if (t.cosineMin !== undefined) parts.push(`cosine>=${fmtNum(t.cosineMin, 8)}`);
  if (t.snrMinDb !== undefined) parts.push(`snr>=${fmtNum(t.snrMinDb)}dB`);
  if (t.topK !== undefined) parts.push(`top-${t.topK}${t.top1Min !== undefined ? ` top1>=${fmtNum(t.top1Min)}` : ''}`);
  if (t.equalNan === false) parts.push('equalNan=false');
  return parts.join(', ');
}

/** ASCII bars of the log10-decade error histogram. */
export function formatHistogram(h: { edges: number[]; counts: number[] }): string[] {
  const max = Math.max(1, ...h.counts);
  return h.counts.map((c, i) => {
    const lo = h.edges[i] as number;
    const hi = h.edges[i + 1] as number;
    const label = i === 0 ? '           == 0' : `[${lo.toExponential(0)}, ${hi.toExponential(0)})`;
    const bar = '#'.repeat(c > 0 ? Math.max(1, Math.round((c / max) * BAR_WIDTH)) : 0);
    return `    ${label.padStart(16)} ${String(c).padStart(10)} ${bar}`;
  });
}

export function formatOutput(o: OutputAlignment): string {
  const lines: string[] = [];
  lines.push(`${o.passed ? 'PASS' : 'FAIL'}  ${o.name}  ${o.actualDType}[${o.actualDims.join('x')}] vs ${o.referenceDType}[${o.referenceDims.join('x')}]`);
  if (o.mapping) {
    const m = o.mapping;
    const how = m.name.by === 'name' ? 'by name' : m.name.by === 'map' ? 'by --map' : 'by index';
    lines.push(`  mapping:    actual "${m.name.actual}" -> reference "${m.name.reference}" (${how})${m.layout.length ? `; ${m.layout.join('; ')}` : ''}`);
  }
  lines.push(`  tolerance:  ${fmtTolerance(o.tolerance, o.exact === true)}`);
  for (const n of o.notes ?? []) lines.push(`  note:       ${n}`);
  if (o.count > 0) {
    lines.push(
      `  abs error:  max ${fmtNum(o.maxAbsError)}  mean ${fmtNum(o.meanAbsError)}  rmse ${fmtNum(o.rmse)}   max rel ${fmtNum(o.maxRelError)} (denominator max(|r|, ${fmtNum(o.relFloor ?? NaN)}))`,
    );
    lines.push(`  similarity: cosine ${fmtNum(o.cosine, 8)}  snr ${fmtNum(o.snrDb)} dB`);
    lines.push(`  mismatches: ${o.mismatchCount} of ${o.count} (${fmtNum(o.mismatchPct)}%)`);
    if (o.nan.actual + o.nan.reference + o.inf.actual + o.inf.reference > 0) {
      lines.push(`  non-finite: NaN actual ${o.nan.actual} / reference ${o.nan.reference}; Inf actual ${o.inf.actual} / reference ${o.inf.reference}`);
    }
    if (o.topk) {
      lines.push(`  top-k:      top-1 agreement ${fmtNum(o.topk.top1Agreement)}, top-${o.topk.k} overlap ${fmtNum(o.topk.topkAgreement)} over ${o.topk.rows} rows`);
    }
    if (!o.exact) {
      lines.push(`  would pass: atol >= ${fmtNum(o.minPassingAtol)} (at rtol ${fmtNum(o.tolerance.rtol)}), or rtol >= ${fmtNum(o.minPassingRtol)} (at atol ${fmtNum(o.tolerance.atol)})`);
    }
    if (o.histogram && o.histogram.counts.length > 0) {
      lines.push('  |a - r| histogram:');
      lines.push(...formatHistogram(o.histogram));
    }
    if (o.worst.length > 0) {
      lines.push('  worst elements:');
      for (const w of o.worst) {
        lines.push(`    [${w.index.join(', ')}]  actual ${fmtNum(w.actual, 7)}  reference ${fmtNum(w.reference, 7)}  |diff| ${fmtNum(w.absError)}`);
      }
    }
  }
  for (const r of o.reasons) lines.push(`  reason:     ${r}`);
  return lines.join('\n');
}

/** The text report: each output, missing and extra tensors, and a summary line. */
export function formatAlignReport(report: AlignReport): string {
  const lines: string[] = [];
  lines.push(`actual:    ${report.actual.path} (${report.actual.format}, ${report.actual.names.length} tensors)`);
  lines.push(`reference: ${report.reference.path} (${report.reference.format}, ${report.reference.names.length} tensors)`);
  lines.push(`precision: ${report.precision}`);
  lines.push('');
  for (const o of report.outputs) lines.push(formatOutput(o), '');
  for (const m of report.missing) {
    lines.push(`FAIL  ${m}  missing: no actual tensor for reference "${m}" (actual has: ${report.actual.names.join(', ') || 'none'}; use --map actual=reference, or --ignore ${m} when it is not an output)`);
  }
  if (report.extraActual.length > 0) lines.push(`ignored actual tensors: ${report.extraActual.join(', ')}`);
  if (report.ignored.length > 0) lines.push(`left out (--ignore): ${report.ignored.join(', ')}`);
  const passed = report.outputs.filter((o) => o.passed).length;
  const total = report.outputs.length + report.missing.length;
  lines.push(`${report.passed ? 'PASS' : 'FAIL'}: ${passed}/${total} outputs aligned${report.missing.length ? `, ${report.missing.length} missing` : ''}`);
  return lines.join('\n');
}

/** JSON text of the report; NaN and +-Infinity become the strings "NaN", "Infinity", "-Infinity". */
export function alignReportToJson(report: AlignReport): string {
  return JSON.stringify(
    report,
    (_k, v: unknown) => {
      if (typeof v === 'number' && !Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
      return v;
    },
    2,
  );
}
