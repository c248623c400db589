/**
 * `benchalign compare`: reads several runs' results.json, merges their jobs and writes
 * report.html (self-contained, with charts), report.md and report.csv.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BenchalignError } from '../errors.js';
import { RESULTS_SCHEMA_VERSION, type JobResult, type RunResults } from '../model/record.js';
import { writeFileAtomic } from './run-dir.js';
import { VERSION } from '../version.js';
import { toCsv } from './csv.js';
import { fmtMs, mdTable } from './format.js';
import { toHtml } from './html/render.js';
import { buildReportData, jobVariant, type LoadedRun, type ReportData } from './html/view-model.js';
import { toMarkdown } from './markdown.js';
import { DEFAULT_STORE_PATH, isPostgresUrl, openStore, type ResultsStore } from '../results/store/store.js';
import { readRunFile } from '../results/run-file.js';

export interface CompareOptions {
  /** results.json files, run folders holding one, or run ids / tags in the results store. */
  inputs: string[];
  /** The results store that run ids and tags are looked up in. Default reports/benchalign.db. */
  storePath?: string;
  /**
   * Engine the speedups are relative to: an engine name (`onnxruntime`, its first variant is
   * used) or a variant as shown in the report (`onnxruntime/fp32/t2`). Default: the first engine.
   */
  baselineEngine?: string;
  /** Output folder. Default `reports/<timestamp>-compare/` under the current directory. */
  outDir?: string;
  now?: Date;
}

export interface CompareOutcome {
  outDir: string;
  /** Absolute paths of report.html, report.md and report.csv. */
  files: { html: string; md: string; csv: string };
  merged: RunResults;
  data: ReportData;
}

function timestamp(d: Date): string {
  return d.toISOString().replace(/[:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/** Reads one run from a results.json path or a run folder (see readRunFile). */
export function loadRun(input: string): LoadedRun {
  return { source: input, results: readRunFile(input) };
}

/** A run from a file or folder when `input` exists, else by run id or tag from the store. */
export async function loadRunOrStored(input: string, store: ResultsStore | undefined): Promise<LoadedRun> {
  if (!existsSync(resolve(input)) && store) {
    const stored = await store.getRun(input);
    if (stored) return { source: `store:${input}`, results: stored };
  }
  return { source: input, results: readRunFile(input, store !== undefined) };
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
  const lastEnd = ends[ends.length - 1];
  if (lastEnd !== undefined) merged.run.endedAt = lastEnd;
  if (devices.size === 1 && first.device) merged.device = first.device;
  return merged;
}

function compareMarkdown(merged: RunResults, data: ReportData): string {
  const out = [toMarkdown(merged).trimEnd(), ''];
  out.push('## Runs compared', '');
  out.push(mdTable(['run', 'suite', 'read from', 'started', 'status', 'jobs'], data.runs.map((r, i) => [r.id, r.suite, r.source, r.startedAt, r.status, String(data.jobs.filter((j) => j.run === i).length)])));
  out.push('');
  if (data.devices.length > 1) {
    out.push('## Devices', '');
    out.push(mdTable(['device', 'fingerprint', 'jobs'], data.devices.map((d, i) => [d.label, d.id.slice(0, 16), data.jobs.filter((j) => j.device === i).map((j) => `${j.model}/${j.variant}`).join(', ')])));
    out.push('');
  }
  const base = new Map<string, (typeof data.jobs)[number]>();
  for (const j of data.jobs) if (j.variant === data.baseline && j.p50 && !base.has(`${j.model}\0${j.device}`)) base.set(`${j.model}\0${j.device}`, j);
  const rows: string[][] = [];
  for (const j of data.jobs) {
    const b = base.get(`${j.model}\0${j.device}`);
    if (!b || !j.p50 || !b.p50) continue;
    rows.push([j.model, j.variant, data.devices[j.device]?.label ?? '', fmtMs(j.p50[0]), fmtMs(b.p50[0]), `${(b.p50[0] / j.p50[0]).toFixed(2)}×`]);
  }
  if (rows.length > 0) {
    out.push(`## Speedup over ${data.baseline}`, '');
    out.push(`p50 of the baseline divided by p50 of the engine, same model and device (> 1 is faster).`, '');
    out.push(mdTable(['model', 'engine', 'device', 'p50 ms', 'baseline p50 ms', 'speedup'], rows));
    out.push('');
  }
  return out.join('\n');
}

/** CSV of every run, each row with its own run id; one header. */
function compareCsv(runs: readonly LoadedRun[]): string {
  return runs
    .map((r, i) => {
      const csv = toCsv({ ...r.results, jobs: r.results.jobs.map((j) => ({ ...j, device: j.device ?? r.results.device }) as JobResult) });
      return i === 0 ? csv : csv.slice(csv.indexOf('\n') + 1);
    })
    .join('');
}

/** Reads the runs and writes report.html, report.md and report.csv into the output folder. */
export async function compareRuns(options: CompareOptions): Promise<CompareOutcome> {
  if (options.inputs.length === 0) throw new BenchalignError('E_USAGE', 'nothing to compare', { expected: 'at least one results.json or run folder' });
  const now = options.now ?? new Date();
  const storePath = options.storePath !== undefined && isPostgresUrl(options.storePath) ? options.storePath : resolve(options.storePath ?? DEFAULT_STORE_PATH);
  const needsStore = options.inputs.some((i) => !existsSync(resolve(i)));
  const store = needsStore && (isPostgresUrl(storePath) || existsSync(storePath)) ? await openStore(storePath, { mustExist: true }) : undefined;
  const runs: LoadedRun[] = [];
  try {
    for (const i of options.inputs) runs.push(await loadRunOrStored(i, store));
  } finally {
    await store?.close();
  }
  const merged = mergeRuns(runs, now);
  const baseline = resolveBaseline(merged.jobs, options.baselineEngine);
  const suites = [...new Set(runs.map((r) => r.results.suite.name))].join(', ');
  const data = buildReportData(runs, baseline, `benchalign compare: ${suites}`, VERSION, now);
  const outDir = resolve(options.outDir ?? join('reports', `${timestamp(now)}-compare`));
  mkdirSync(outDir, { recursive: true });
  const files = { html: join(outDir, 'report.html'), md: join(outDir, 'report.md'), csv: join(outDir, 'report.csv') };
  writeFileAtomic(files.html, toHtml(data));
  writeFileAtomic(files.md, compareMarkdown(merged, data));
  writeFileAtomic(files.csv, compareCsv(runs));
  return { outDir, files, merged, data };
}
