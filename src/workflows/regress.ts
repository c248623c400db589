/**
 * `benchalign regress`, the orchestration: open the store when a reference needs it, resolve the baseline and the
 * current run (run id, tag, results.json or run folder; the current run defaults to the latest in the store), read
 * the between-run noise from the store's history, compare (results/regress), and render (reports/regress) and
 * write the JUnit file and the GitHub step summary when asked. See docs/regress.md.
 */
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { BenchalignError, ExitCode } from '../errors.js';
import type { RunResults } from '../model/record.js';
import { compareForRegress, type RegressMetric, type RegressReport } from '../results/regress/compare-runs.js';
import { historyNoise, isFileRef, readResultsFile } from '../results/regress/io.js';
import { DEFAULT_STORE_PATH, displayStoreLocation, isPostgresUrl, openStore, type ResultsStore } from '../results/store/store.js';
import { boundedMarkdown, regressJunit, regressMarkdown } from '../reports/regress.js';

export interface RegressRequest {
  /** Run id, tag (its latest run), or results.json / run folder. */
  baseline: string;
  /** As `baseline`; default: the latest run in the store other than the baseline. */
  current?: string;
  /** Results store: a SQLite file or a postgres:// URL. Default DEFAULT_STORE_PATH. */
  store?: string;
  minEffect: Record<RegressMetric, number>;
  allowEnvChange?: boolean;
  /** Write a JUnit XML report to this file. */
  junit?: string;
  /** Append the Markdown report (kept under 1 MiB) to $GITHUB_STEP_SUMMARY. */
  githubSummary?: boolean;
}

export interface RegressOutcome {
  /** Absent when there was nothing to compare (see `message`). */
  report?: RegressReport;
  /** The report as Markdown (reports/regress.ts), when there is a report. */
  markdown?: string;
  exitCode: ExitCode;
  /** Why there is no report (a baseline or current run not found), for stderr. */
  message?: string;
  /** Things the user should know that did not stop the comparison, for stderr. */
  warnings: string[];
}

function nothing(message: string): RegressOutcome {
  return { exitCode: ExitCode.NothingMeasured, message, warnings: [] };
}

/** Compares the current run against the baseline; the exit code is the report's (0, 1 or 4). */
export async function regress(req: RegressRequest): Promise<RegressOutcome> {
  const storePath = req.store ?? DEFAULT_STORE_PATH;
  const needStore = !isFileRef(req.baseline) || req.current === undefined || !isFileRef(req.current);
  let store: ResultsStore | undefined;
  if (isPostgresUrl(storePath)) store = await openStore(storePath, { mustExist: true });
  else if (needStore || existsSync(storePath)) {
    if (!existsSync(storePath)) throw new BenchalignError('E_INFRA', `no results store at ${storePath}`, { expected: 'a store written by `benchalign run --store`' });
    store = await openStore(storePath, { mustExist: true });
  }
  try {
    const load = async (ref: string): Promise<RunResults | undefined> => (isFileRef(ref) ? readResultsFile(ref) : store?.getRun(ref));
    const baseline = await load(req.baseline);
    if (!baseline) return nothing(`no run or tag "${req.baseline}" in ${displayStoreLocation(storePath)}: nothing to compare against`);
    let current: RunResults | undefined;
    if (req.current !== undefined) {
      current = await load(req.current);
      if (!current) return nothing(`no run or tag "${req.current}" in ${displayStoreLocation(storePath)}`);
    } else {
      const latest = (await store?.listRuns({ limit: 2 }))?.find((r) => r.id !== baseline.run.id);
      current = latest ? await store?.getRun(latest.id) : undefined;
      if (!current) return nothing(`no run other than the baseline in ${displayStoreLocation(storePath)}`);
    }
    const report = compareForRegress(baseline, current, {
      minEffect: req.minEffect,
      allowEnvChange: req.allowEnvChange === true,
      noiseFor: await historyNoise(store, [current.run.id], current.jobs),
    });
    const markdown = regressMarkdown(report);
    const warnings: string[] = [];
    if (req.junit !== undefined) writeFileSync(req.junit, regressJunit(report));
    if (req.githubSummary) {
      const target = process.env.GITHUB_STEP_SUMMARY;
      if (target) appendFileSync(target, `${boundedMarkdown(markdown)}\n`);
      else warnings.push('--github-summary but $GITHUB_STEP_SUMMARY is not set');
    }
    return { report, markdown, exitCode: report.exitCode, warnings };
  } finally {
    await store?.close();
  }
}
