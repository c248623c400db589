/**
 * `benchalign compare`, the orchestration: read the runs (files, run folders, or run ids / tags from the results store),
 * merge them and write the engine comparison report (reports/compare.ts): report.html, report.md and report.csv.
 * Not to be confused with results/regress's compareForRegress, the regression gate between two runs.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BenchalignError } from '../errors.js';
import type { RunResults } from '../model/record.js';
import { VERSION } from '../version.js';
import { compareCsv, compareMarkdown, mergeRuns, resolveBaseline } from '../reports/compare.js';
import { toHtml } from '../reports/html/render.js';
import { findLocalizeReports } from '../reports/html/localize.js';
import { buildReportData, type LoadedRun, type ReportData } from '../reports/html/view-model.js';
import { writeFileAtomic } from '../reports/run-dir.js';
import { readRunFile } from '../results/run-file.js';
import { DEFAULT_STORE_PATH, isPostgresUrl, openStore, type ResultsStore } from '../results/store/store.js';

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

/** A run from a file or folder when `input` exists, else by run id or tag from the store. */
export async function loadRunOrStored(input: string, store: ResultsStore | undefined): Promise<LoadedRun> {
  if (!existsSync(resolve(input)) && store) {
    const stored = await store.getRun(input);
    if (stored) return { source: `store:${input}`, results: stored };
  }
  return { source: input, results: readRunFile(input, store !== undefined) };
}

/** Reads the runs and writes report.html, report.md and report.csv into the output folder. */
export async function compareEngines(options: CompareOptions): Promise<CompareOutcome> {
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
  const baseline = resolveBaseline(runs.flatMap((r) => r.results.jobs), options.baselineEngine);
  const suites = [...new Set(runs.map((r) => r.results.suite.name))].join(', ');
  const data = buildReportData(runs, baseline, `benchalign compare: ${suites}`, VERSION, now);
  const localized = options.inputs.flatMap((i) => findLocalizeReports(i));
  if (localized.length > 0) data.localize = localized;
  const outDir = resolve(options.outDir ?? join('reports', `${timestamp(now)}-compare`));
  mkdirSync(outDir, { recursive: true });
  const files = { html: join(outDir, 'report.html'), md: join(outDir, 'report.md'), csv: join(outDir, 'report.csv') };
  writeFileAtomic(files.html, toHtml(data));
  writeFileAtomic(files.md, compareMarkdown(merged, data));
  writeFileAtomic(files.csv, compareCsv(runs));
  return { outDir, files, merged, data };
}
