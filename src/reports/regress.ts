/** Renderings of a RegressReport: Markdown, JUnit XML, and the bounded GitHub step summary. */
import type { JobComparison, PerfComparison, RegressReport } from '../results/regress/compare-runs.js';

const ICON: Record<string, string> = {
  regressed: '❌ regressed',
  improved: '✅ improved',
  unchanged: 'unchanged',
  inconclusive: '❔ inconclusive',
  refused: '⛔ refused',
  missing: '❌ missing',
  'not-measured': 'not measured',
};

function esc(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function signedPct(ratio: number): string {
  const d = (ratio - 1) * 100;
  return `${d >= 0 ? '+' : ''}${d.toFixed(2)}%`;
}

function fmtP(p: number): string {
  if (p < 1e-15) return '< 1e-15';
  return p < 1e-4 ? p.toExponential(1) : p.toFixed(4);
}

function perfRow(j: JobComparison, p: PerfComparison): string {
  const noise = `${(p.noise.cv * 100).toFixed(2)}% ${p.noise.source === 'history' ? `(history, ${p.noise.values})` : '(default)'}`;
  return `| ${esc(j.model)} | ${esc(j.engine)} | ${p.metric} | ${p.baselineMs.toFixed(4)} | ${p.currentMs.toFixed(4)} | ${signedPct(p.ratio)} [${signedPct(p.ratioLow)}, ${signedPct(p.ratioHigh)}] | ${fmtP(p.q)} | ${noise} | ${ICON[p.verdict] ?? p.verdict} |`;
}

/** The report as Markdown: a summary line, the latency table, then accuracy and notes. */
export function regressMarkdown(r: RegressReport): string {
  const lines: string[] = [];
  lines.push(`## benchalign regress: ${r.summary}`, '');
  lines.push(`Baseline \`${r.baseline.runId}\` → current \`${r.current.runId}\`. Minimum effect p50 ${(r.options.minEffect.p50 * 100).toFixed(1)}%, p99 ${(r.options.minEffect.p99 * 100).toFixed(1)}%; BH FDR ${r.options.alpha}.`, '');
  const perf = r.jobs.flatMap((j) => j.perf.map((p) => perfRow(j, p)));
  if (perf.length > 0) {
    lines.push('| model | engine | metric | baseline ms | current ms | change [95% CI] | q (BH) | between-run CV | verdict |');
    lines.push('|---|---|---|---:|---:|---|---:|---|---|');
    lines.push(...perf, '');
  }
  const acc = r.jobs.flatMap((j) => j.accuracy.filter((a) => a.verdict !== 'unchanged').map((a) => `| ${esc(j.model)} | ${esc(j.engine)} | ${esc(a.output)} | ${ICON[a.verdict] ?? a.verdict} | ${esc(a.detail)} |`));
  if (acc.length > 0) {
    lines.push('**Accuracy**', '', '| model | engine | output | verdict | detail |', '|---|---|---|---|---|', ...acc, '');
  }
  const notes = r.jobs.flatMap((j) => [
    ...(j.status !== 'compared' ? [`- **${esc(j.key)}**: ${ICON[j.status] ?? j.status}: ${j.notes.map(esc).join('; ')}`] : j.notes.map((n) => `- ${esc(j.key)}: ${esc(n)}`)),
    ...j.perf.filter((p) => p.recommendation).map((p) => `- ${esc(j.key)} ${p.metric}: ${esc(p.recommendation ?? '')}`),
  ]);
  const defaults = r.jobs.some((j) => j.perf.some((p) => p.noise.source === 'default' && (p.baselineRepeats === 1 || p.currentRepeats === 1)));
  if (defaults) notes.push('- No recorded history for some single-run comparisons: the default between-run CV (p50 0.3%, p99 2%) widened them.');
  if (notes.length > 0) lines.push('**Notes**', '', ...notes, '');
  return lines.join('\n');
}

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** JUnit XML: one test case per (job, metric) and per accuracy output; regressions fail, refusals skip. */
export function regressJunit(r: RegressReport): string {
  const cases: string[] = [];
  let failures = 0;
  let skipped = 0;
  for (const j of r.jobs) {
    const cls = xml(`regress.${j.model}.${j.engine}`);
    if (j.status !== 'compared') {
      const msg = xml(j.notes.join('; '));
      if (j.status === 'missing') {
        failures++;
        cases.push(`    <testcase classname="${cls}" name="${xml(j.key)}"><failure message="${msg}"/></testcase>`);
      } else {
        skipped++;
        cases.push(`    <testcase classname="${cls}" name="${xml(j.key)}"><skipped message="${msg}"/></testcase>`);
      }
      continue;
    }
    for (const p of j.perf) {
      const text = `${p.metric} ${p.baselineMs.toFixed(4)} -> ${p.currentMs.toFixed(4)} ms (${signedPct(p.ratio)} [${signedPct(p.ratioLow)}, ${signedPct(p.ratioHigh)}], q=${fmtP(p.q)}): ${p.verdict}`;
      const body = p.verdict === 'regressed' ? `<failure message="${xml(text)}"/>` : `<system-out>${xml(text + (p.recommendation ? `; ${p.recommendation}` : ''))}</system-out>`;
      if (p.verdict === 'regressed') failures++;
      cases.push(`    <testcase classname="${cls}" name="${xml(`${j.key} ${p.metric}`)}">${body}</testcase>`);
    }
    for (const a of j.accuracy) {
      const body = a.verdict === 'regressed' ? `<failure message="${xml(a.detail)}"/>` : `<system-out>${xml(a.detail)}</system-out>`;
      if (a.verdict === 'regressed') failures++;
      cases.push(`    <testcase classname="${cls}" name="${xml(`${j.key} accuracy ${a.output}`)}">${body}</testcase>`);
    }
  }
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="benchalign regress" tests="${cases.length}" failures="${failures}" skipped="${skipped}">`,
    `  <testsuite name="${xml(`${r.baseline.runId} -> ${r.current.runId}`)}" tests="${cases.length}" failures="${failures}" skipped="${skipped}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

/** GitHub's step summary limit is 1 MiB per step; stay under it with room to spare. */
export const GITHUB_SUMMARY_LIMIT = 1024 * 1024 - 4096;

/** Cuts Markdown at a line boundary so that its UTF-8 size is at most `limit`, with a note. */
export function boundedMarkdown(md: string, limit = GITHUB_SUMMARY_LIMIT): string {
  if (Buffer.byteLength(md, 'utf8') <= limit) return md;
  const note = '\n\n_… truncated to stay under the 1 MiB step-summary limit; the full report is in the --json / --junit output._\n';
  const budget = limit - Buffer.byteLength(note, 'utf8');
  const lines = md.split('\n');
  let size = 0;
  let n = 0;
  for (const line of lines) {
    const s = Buffer.byteLength(line, 'utf8') + 1;
    if (size + s > budget) break;
    size += s;
    n++;
  }
  return lines.slice(0, n).join('\n') + note;
}
