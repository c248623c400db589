/**
 * The engine comparison report of `benchalign compare`: merges several runs' jobs and renders report.html
 * (self-contained, with charts), report.md and report.csv. Reading the runs and writing the files:
 * workflows/compare.ts.
 */
import { BenchalignError } from '../errors.js';
import { RESULTS_SCHEMA_VERSION, type JobResult, type RunResults } from '../model/record.js';
import { VERSION } from '../version.js';
import { toCsv } from './csv.js';
import { fmtMs, mdTable } from './format.js';
import { jobVariant, runLabel, type LoadedRun, type ReportData } from './html/view-model.js';
import { toMarkdown } from './markdown.js';
import { slowerOpsSection } from './profile.js';
import { readRunFile } from '../results/run-file.js';

function timestamp(d: Date): string {
  return d.toISOString().replace(/[:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/** Reads one run from a results.json path or a run folder (see readRunFile). */
export function loadRun(input: string): LoadedRun {
  return { source: input, results: readRunFile(input) };
}

/** The engine variant a baseline name picks, or an error naming the ones present. */
export function resolveBaseline(jobs: readonly JobResult[], asked: string | undefined): string {
  const variants = [...new Set(jobs.map(jobVariant))];
  if (variants.length === 0) return asked ?? '–';
  if (asked === undefined) return variants[0] as string;
  if (variants.includes(asked)) return asked;
  const byEngine = jobs.find((j) => j.engine.name === asked);
  if (byEngine) return jobVariant(byEngine);
  throw new BenchalignError('E_USAGE', `--baseline-engine ${asked}: no job ran that engine`, { expected: `one of ${[...new Set([...jobs.map((j) => j.engine.name), ...variants])].join(', ')}` });
}

/** One RunResults holding every job, for the Markdown reporter. */
export function mergeRuns(runs: readonly LoadedRun[], now: Date): RunResults {
  const first = runs[0]?.results;
  if (!first) throw new BenchalignError('E_USAGE', 'nothing to compare', { expected: 'at least one results.json or run folder' });
  const starts = runs.map((r) => r.results.run.startedAt).sort();
  const ends = runs.map((r) => r.results.run.endedAt).filter((e): e is string => e !== undefined).sort();
  const devices = new Set(runs.flatMap((r) => r.results.jobs.map((j) => (j.device ?? r.results.device)?.hash ?? 'unknown')));
  const merged: RunResults = {
    schemaVersion: RESULTS_SCHEMA_VERSION,
    tool: { name: 'benchalign', version: VERSION },
    suite: { name: `compare: ${[...new Set(runs.map((r) => r.results.suite.name))].join(', ')}`, path: runs.map((r) => r.source).join(', '), sha256: '' },
    run: {
      id: `${timestamp(now)}-compare`,
      startedAt: starts[0] ?? now.toISOString(),
      status: runs.every((r) => r.results.run.status === 'complete') ? 'complete' : 'interrupted',
      argv: [],
      mode: runs.every((r) => r.results.run.mode === 'accuracy-only') ? 'accuracy-only' : 'benchmark',
    },
    jobs: runs.flatMap((r) => r.results.jobs.map((j) => ({ ...j, device: j.device ?? r.results.device }) as JobResult)),
  };
  // Two runs holding the same job would print identical rows: each row then names its run.
  const keys = runs.map((r) => new Set(r.results.jobs.map((j) => `${j.key}\0${(j.device ?? r.results.device)?.hash ?? 'unknown'}`)));
  const shared = keys.some((k, i) => keys.some((o, m) => m !== i && [...k].some((x) => o.has(x))));
  if (shared) {
    merged.jobs = runs.flatMap((r, i) =>
      r.results.jobs.map((j) => ({ ...j, model: { ...j.model, name: `${j.model.name} [${runLabel(r.results.run.id, i)}]` }, device: j.device ?? r.results.device }) as JobResult),
    );
  }
  const lastEnd = ends[ends.length - 1];
  if (lastEnd !== undefined) merged.run.endedAt = lastEnd;
  if (devices.size === 1 && first.device) merged.device = first.device;
  return merged;
}

/** report.md of a comparison: the merged report, the runs, the devices, the speedups, the slower ops. */
export function compareMarkdown(merged: RunResults, data: ReportData): string {
  const out = [toMarkdown(merged).trimEnd(), ''];
  out.push('## Runs compared', '');
  out.push(mdTable(['label', 'run', 'suite', 'read from', 'started', 'status', 'jobs'], data.runs.map((r, i) => [r.label, r.id, r.suite, r.source, r.startedAt, r.status, String(data.jobs.filter((j) => j.run === i).length)])));
  out.push('');
  if (data.devices.length > 1) {
    out.push('## Devices', '');
    out.push(mdTable(['device', 'fingerprint', 'jobs'], data.devices.map((d, i) => [d.label, d.id.slice(0, 16), data.jobs.filter((j) => j.device === i).map((j) => `${j.model}/${j.variant}`).join(', ')])));
    out.push('');
  }
  // With runs that share jobs, the baseline is taken within each run and every row names its run.
  const key = (j: (typeof data.jobs)[number]): string => `${j.model}\0${j.device}${data.multiRun ? `\0${j.run}` : ''}`;
  const base = new Map<string, (typeof data.jobs)[number]>();
  for (const j of data.jobs) if (j.variant === data.baseline && j.p50 && !base.has(key(j))) base.set(key(j), j);
  const rows: string[][] = [];
  for (const j of data.jobs) {
    const b = base.get(key(j));
    if (!b || !j.p50 || !b.p50) continue;
    const run = data.multiRun ? [data.runs[j.run]?.label ?? ''] : [];
    rows.push([j.model, j.variant, ...run, data.devices[j.device]?.label ?? '', fmtMs(j.p50[0]), fmtMs(b.p50[0]), `${(b.p50[0] / j.p50[0]).toFixed(2)}×`]);
  }
  if (rows.length > 0) {
    out.push(`## Speedup over ${data.baseline}`, '');
    out.push(`p50 of the baseline divided by p50 of the engine, same model and device${data.multiRun ? ' and run' : ''} (> 1 is faster).`, '');
    out.push(mdTable(['model', 'engine', ...(data.multiRun ? ['run'] : []), 'device', 'p50 ms', 'baseline p50 ms', 'speedup'], rows));
    out.push('');
  }
  out.push(...slowerOpsSection(merged.jobs, data.baseline));
  return out.join('\n');
}

/** CSV of every run, each row with its own run id; one header. */
export function compareCsv(runs: readonly LoadedRun[]): string {
  return runs
    .map((r, i) => {
      const csv = toCsv({ ...r.results, jobs: r.results.jobs.map((j) => ({ ...j, device: j.device ?? r.results.device }) as JobResult) });
      return i === 0 ? csv : csv.slice(csv.indexOf('\n') + 1);
    })
    .join('');
}

/** What `benchalign compare` prints: the counts, the baseline, the problems, and where the report is. */
export function compareSummaryText(data: ReportData, outDir: string): string {
  const notOk = data.jobs.filter((j) => j.status !== 'ok').length;
  return (
    `${data.jobs.length} job(s) from ${data.runs.length} run(s) on ${data.devices.length} device(s), baseline ${data.baseline}${notOk > 0 ? `, ${notOk} not ok (listed under Problems)` : ''}\n` +
    `Report: ${outDir}/ (report.html, report.md, report.csv)\n`
  );
}
