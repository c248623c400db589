/** `benchalign run [--localize]`: runSuite, then the first divergent layer of each job that failed alignment. */
import { localizeFailedJobs, type FailedJobLocalization } from '../execution/localize.js';
import { runSuite, type RunSuiteOptions, type RunSuiteOutcome } from './run.js';

export interface RunAndLocalizeOptions extends RunSuiteOptions {
  /** Localize each job that failed alignment into <run>/localize/ (needs `suitePath`). */
  localize?: boolean;
  /** Progress lines of the localization. */
  onLocalizeLog?: (line: string) => void;
}

export interface RunAndLocalizeOutcome extends RunSuiteOutcome {
  /** One entry per job localized; empty without `localize`, for a detached run, or without a suite file. */
  localized: FailedJobLocalization[];
}

export async function runAndLocalize(options: RunAndLocalizeOptions): Promise<RunAndLocalizeOutcome> {
  const { localize, onLocalizeLog, ...runOptions } = options;
  const outcome = await runSuite(runOptions);
  if (outcome.queued?.detached || localize !== true || options.suitePath === undefined) return { ...outcome, localized: [] };
  return { ...outcome, localized: await localizeFailedJobs(options.suitePath, outcome.results.jobs, outcome.runDir, onLocalizeLog) };
}
