/** What `benchalign run` (and `runs wait`) print at the end of a run: the report table, the counts, the run folder. */
import type { FailedJobLocalization } from '../execution/localize.js';
import type { RunResults } from '../model/record.js';
import { toMarkdown } from './markdown.js';

/** Above this many jobs the report stays in its file and the terminal gets the counts. */
export const MAX_JOBS_PRINTED = 50;

/** The line that names the run folder and what it holds. */
export function runFolderLine(runDir: string): string {
  return `Results: ${runDir}/ (results.json, results.csv, report.md, junit.xml)\n`;
}

/** The end of a run for the terminal: the Markdown report (up to MAX_JOBS_PRINTED jobs), the counts, the run folder. */
export function runSummaryText(results: RunResults, runDir: string): string {
  const jobs = results.jobs;
  const table = jobs.length <= MAX_JOBS_PRINTED ? `${toMarkdown(results)}\n` : '';
  const counts = (['ok', 'failed', 'errored', 'skipped'] as const).map((s) => `${jobs.filter((j) => j.status === s).length} ${s}`);
  return `${table}\n${jobs.length} job(s): ${counts.join(', ')}${results.run.status === 'interrupted' ? ' (interrupted)' : ''}\n${runFolderLine(runDir)}`;
}

/** One `run --localize` outcome as a line: the first divergent layer, none, or why it was not localized. */
export function localizeLine(l: FailedJobLocalization): string {
  const d = l.firstDivergence;
  return `localize ${l.key}: ${l.error !== undefined ? `not localized: ${l.error}` : d ? `first divergent layer ${d.node} (${d.opType}${d.modules?.[0] ? `, ${d.modules[0]}` : ''})` : 'no divergent layer'}\n`;
}
