/** `benchalign regress`: compare a current run against a baseline (docs/regress.md). */
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { BenchalignError, ExitCode } from '../../errors.js';
import type { RunResults } from '../../model/record.js';
import { compareRuns } from '../../results/regress/compare-runs.js';
import { boundedMarkdown, regressJunit, regressMarkdown } from '../../reports/regress.js';
import { historyNoise, isFileRef, readResultsFile } from '../../results/regress/io.js';
import { DEFAULT_STORE_PATH, displayStoreLocation, isPostgresUrl, openStore, type ResultsStore } from '../../results/store/store.js';

interface RegressOpts {
  baseline: string;
  current?: string;
  store?: string;
  minEffectP50: number;
  minEffectP99: number;
  json?: boolean;
  junit?: string;
  githubSummary?: boolean;
  allowEnvChange?: boolean;
}

function fraction(v: string): number {
  const x = Number(v);
  if (!(x >= 0 && x < 1)) throw new BenchalignError('E_USAGE', `minimum effect ${v}`, { expected: 'a fraction in [0, 1), e.g. 0.03' });
  return x;
}

function nothing(message: string): void {
  process.stderr.write(`benchalign regress: ${message}\n`);
  process.exitCode = ExitCode.NothingMeasured;
}

export function registerRegress(program: Command): void {
  program
    .command('regress')
    .description('Compare a run against a baseline: latency p50/p99 compared over worker processes (t), BH-controlled, and accuracy (exit 0 no regression, 1 a regression, 3 store unreadable, 4 nothing comparable)')
    .requiredOption('--baseline <ref>', 'baseline: run id, tag (its latest run), or results.json / run folder')
    .option('--current <ref>', 'current: run id, tag, or results.json / run folder (default: the latest run in the store)')
    .option('--store <path>', 'results store: a SQLite file or a postgres://user@host:port/db URL', DEFAULT_STORE_PATH)
    .option('--min-effect-p50 <f>', 'smallest p50 change that counts, as a fraction', fraction, 0.03)
    .option('--min-effect-p99 <f>', 'smallest p99 change that counts, as a fraction', fraction, 0.05)
    .option('--json', 'print the report as JSON')
    .option('--junit <file>', 'write a JUnit XML report')
    .option('--github-summary', 'append the Markdown report to $GITHUB_STEP_SUMMARY (kept under 1 MiB)')
    .option('--allow-env-change', 'compare even when the device fingerprint or engine version changed')
    .action(async (opts: RegressOpts) => {
      const storePath = opts.store ?? DEFAULT_STORE_PATH;
      const needStore = !isFileRef(opts.baseline) || opts.current === undefined || !isFileRef(opts.current);
      let store: ResultsStore | undefined;
      if (isPostgresUrl(storePath)) store = await openStore(storePath, { mustExist: true });
      else if (needStore || existsSync(storePath)) {
        if (!existsSync(storePath)) throw new BenchalignError('E_INFRA', `no results store at ${storePath}`, { expected: 'a store written by `benchalign run --store`' });
        store = await openStore(storePath, { mustExist: true });
      }
      try {
        const load = async (ref: string): Promise<RunResults | undefined> => (isFileRef(ref) ? readResultsFile(ref) : store?.getRun(ref));
        const baseline = await load(opts.baseline);
        if (!baseline) return nothing(`no run or tag "${opts.baseline}" in ${displayStoreLocation(storePath)}: nothing to compare against`);
        let current: RunResults | undefined;
        if (opts.current !== undefined) {
          current = await load(opts.current);
          if (!current) return nothing(`no run or tag "${opts.current}" in ${displayStoreLocation(storePath)}`);
        } else {
          const latest = (await store?.listRuns({ limit: 2 }))?.find((r) => r.id !== baseline.run.id);
          current = latest ? await store?.getRun(latest.id) : undefined;
          if (!current) return nothing(`no run other than the baseline in ${displayStoreLocation(storePath)}`);
        }
        const report = compareRuns(baseline, current, {
          minEffect: { p50: opts.minEffectP50, p99: opts.minEffectP99 },
          allowEnvChange: opts.allowEnvChange === true,
          noiseFor: await historyNoise(store, [current.run.id], current.jobs),
        });
        const md = regressMarkdown(report);
        process.stdout.write(opts.json ? `${JSON.stringify(report, null, 1)}\n` : `${md}\n`);
        if (report.exitCode === ExitCode.NothingMeasured) process.stderr.write(`benchalign regress: ${report.summary}\n`);
        if (opts.junit !== undefined) writeFileSync(opts.junit, regressJunit(report));
        if (opts.githubSummary) {
          const target = process.env.GITHUB_STEP_SUMMARY;
          if (target) appendFileSync(target, `${boundedMarkdown(md)}\n`);
          else process.stderr.write('benchalign regress: warning: --github-summary but $GITHUB_STEP_SUMMARY is not set\n');
        }
        process.exitCode = report.exitCode;
      } finally {
        await store?.close();
      }
    });
}
