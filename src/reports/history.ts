/** Renderings of `benchalign history`: per series a sparkline, the table of runs and the change points; or JSON. */
import type { ChangePoint } from '../metrics/changepoint.js';
import type { HistoryPoint } from '../results/store/store.js';
import { sparkline } from './sparkline.js';

/** What a rendering needs of a series (workflows/history.ts builds it). */
export interface HistorySeriesView {
  key: string;
  model: string;
  engine: string;
  deviceHash: string | null;
  metric: string;
  points: HistoryPoint[];
  values: ({ value: number; low?: number; high?: number } | undefined)[];
  changePoints: (ChangePoint & { runId: string })[];
}

/** The series as Markdown: per series a heading, the sparkline, one table row per run, then the change points. */
export function historyMarkdown(all: readonly HistorySeriesView[]): string {
  const md: string[] = [];
  for (const s of all) {
    const cpRuns = new Set(s.changePoints.map((c) => c.runId));
    md.push(`### ${s.key} on device ${(s.deviceHash ?? 'unknown').slice(0, 12)}: ${s.metric} ms`, '');
    md.push(`\`${sparkline(s.values.map((v) => v?.value))}\`  (${s.points.length} runs, oldest first)`, '');
    md.push('| run | started | tags | commit | value ms | 95% CI | |', '|---|---|---|---|---:|---|---|');
    s.points.forEach((p, i) => {
      const v = s.values[i];
      const ci = v?.low !== undefined && v.high !== undefined ? `[${v.low.toFixed(4)}, ${v.high.toFixed(4)}]` : '';
      md.push(`| ${p.runId} | ${p.startedAt} | ${p.tags.join(', ')} | ${(p.gitCommit ?? '').slice(0, 9)} | ${v ? v.value.toFixed(4) : p.status} | ${ci} | ${cpRuns.has(p.runId) ? '◀ change' : ''} |`);
    });
    md.push('');
    if (s.changePoints.length === 0) md.push('No change point (rule: docs/regress.md).', '');
    for (const c of s.changePoints) md.push(`- change at ${c.runId}: ${c.before.toFixed(4)} → ${c.after.toFixed(4)} ms (${c.shift >= 0 ? '+' : ''}${(c.shift * 100).toFixed(2)}%, ${c.score.toFixed(1)} standard errors)`);
    if (s.changePoints.length > 0) md.push('');
  }
  return md.join('\n');
}

/** The series as `--json` prints them: per series its identity, the points with their values, the change points. */
export function historyJson(all: readonly HistorySeriesView[]): unknown[] {
  return all.map((s) => ({
    key: s.key,
    model: s.model,
    engine: s.engine,
    deviceHash: s.deviceHash,
    metric: s.metric,
    points: s.points.map((p, i) => ({ runId: p.runId, startedAt: p.startedAt, tags: p.tags, gitCommit: p.gitCommit, ...(s.values[i] ?? {}) })),
    changePoints: s.changePoints,
  }));
}
