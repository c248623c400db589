/** `benchalign regress`: compare a current run against a baseline (docs/regress.md). */
import type { Command } from 'commander';
import { BenchalignError, ExitCode } from '../../errors.js';
import { DEFAULT_STORE_PATH } from '../../results/store/store.js';
import { regress } from '../../workflows/regress.js';

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
      const outcome = await regress({
        baseline: opts.baseline,
        ...(opts.current !== undefined ? { current: opts.current } : {}),
        ...(opts.store !== undefined ? { store: opts.store } : {}),
        minEffect: { p50: opts.minEffectP50, p99: opts.minEffectP99 },
        allowEnvChange: opts.allowEnvChange === true,
        ...(opts.junit !== undefined ? { junit: opts.junit } : {}),
        githubSummary: opts.githubSummary === true,
      });
      if (outcome.report) {
        process.stdout.write(opts.json ? `${JSON.stringify(outcome.report, null, 1)}\n` : `${outcome.markdown}\n`);
        if (outcome.exitCode === ExitCode.NothingMeasured) process.stderr.write(`benchalign regress: ${outcome.report.summary}\n`);
      } else if (outcome.message !== undefined) process.stderr.write(`benchalign regress: ${outcome.message}\n`);
      for (const w of outcome.warnings) process.stderr.write(`benchalign regress: warning: ${w}\n`);
      process.exitCode = outcome.exitCode;
    });
}
