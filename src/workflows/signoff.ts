/**
 * `benchalign signoff`, the I/O side: load the policy, get the run (run a suite, or read a
 * run from the store or a results file), compare against the baseline, evaluate, promote
 * when asked and every check passed, and write signoff.json and signoff.md.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { runSuite } from './run.js';
import { BenchalignError, ExitCode, describeError } from '../errors.js';
import { VERSION } from '../version.js';
import type { RunResults } from '../model/record.js';
import { writeFileAtomic } from '../reports/run-dir.js';
import { readRunFile } from '../results/run-file.js';
import { compareForRegress } from '../results/regress/compare-runs.js';
import { historyNoise } from '../results/regress/io.js';
import { gitInfo, isPostgresUrl, openStore, type ResultsStore } from '../results/store/store.js';
import { evaluateSignoff, type BaselineContext } from '../results/signoff/evaluate.js';
import { loadPolicy } from '../results/signoff/policy.js';
import { SIGNOFF_SCHEMA_VERSION, devicesOf, resultsSha256, type SignoffRecord } from '../results/signoff/record.js';
import { signoffMarkdown } from '../reports/signoff.js';

export interface SignoffOptions {
  /** A suite file (run first), a run id or tag in the store, or a results.json / run folder. */
  target: string;
  /** The policy file (YAML or JSON). */
  policyPath: string;
  /** Results store (SQLite path or postgres:// URL). */
  store: string;
  /** Where signoff.json and signoff.md go (and the run folder, when a suite is run). Default: the run folder, or reports/<timestamp>-signoff/. */
  outDir?: string;
  /** Tag the run with the baseline tag when every check passed. */
  promote?: boolean;
  /** Overrides the policy's baselineTag. */
  baselineTag?: string;
  /** No progress output while running a suite. */
  quiet?: boolean;
  argv?: string[];
  signal?: AbortSignal;
}

export interface SignoffOutcome {
  record: SignoffRecord;
  outDir: string;
  /** 0 every check passed, 1 one failed, 3 interrupted (Ctrl-C), or every check passed but --promote could not write the store. */
  exitCode: ExitCode;
}

type TargetKind = 'suite' | 'file' | 'store';

/** What the target names: a suite file, a results file or run folder, or (otherwise) a run id or tag. */
export function classifyTarget(target: string): TargetKind {
  if (!existsSync(target)) return /\.(ya?ml|json)$/i.test(target) ? 'file' : 'store';
  if (statSync(target).isDirectory()) return 'file';
  if (/\.ya?ml$/i.test(target)) return 'suite';
  if (/\.json$/i.test(target)) {
    try {
      const v = JSON.parse(readFileSync(target, 'utf8')) as Record<string, unknown> | null;
      if (v && typeof v === 'object' && 'jobs' in v && 'run' in v) return 'file';
    } catch {
      return 'file';
    }
    return 'suite';
  }
  return 'suite';
}

function timestamp(d: Date): string {
  return d.toISOString().replace(/[:]/g, '').replace(/\.\d+Z$/, 'Z');
}

async function openExisting(location: string): Promise<ResultsStore | undefined> {
  if (!isPostgresUrl(location) && !existsSync(location)) return undefined;
  return openStore(location, { mustExist: true });
}

/** Runs the sign-off (docs/signoff.md). Config and usage errors throw (exit 2); a store that cannot be read throws E_INFRA (exit 3). */
export async function signoff(options: SignoffOptions): Promise<SignoffOutcome> {
  const policy = await loadPolicy(options.policyPath);
  const tag = options.baselineTag ?? policy.baselineTag;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(tag)) throw new BenchalignError('E_USAGE', `--baseline-tag ${JSON.stringify(tag)}`, { expected: 'a tag of letters, digits, ".", "_" or "-"' });
  const kind = classifyTarget(options.target);
  let results: RunResults;
  let runDir: string | undefined;
  let git: SignoffRecord['git'] | undefined;
  let store: ResultsStore | undefined;
  let storeProblem: string | undefined;
  try {
    if (kind === 'suite') {
      const outcome = await runSuite({
        suitePath: options.target,
        store: options.store,
        ...(options.outDir !== undefined ? { outDir: options.outDir } : {}),
        quiet: options.quiet === true,
        ...(options.argv ? { argv: options.argv } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      results = outcome.results;
      runDir = outcome.runDir;
      // runSuite has already warned when it could not record the run; the checks say what is missing
      store = await openExisting(options.store).catch((e: unknown) => {
        storeProblem = `the results store ${options.store} cannot be read: ${describeError(e)}`;
        return undefined;
      });
    } else if (kind === 'file') {
      results = readRunFile(options.target);
      const abs = resolve(options.target);
      runDir = statSync(abs).isDirectory() ? abs : dirname(abs);
      store = await openExisting(options.store);
    } else {
      store = await openExisting(options.store);
      const found = await store?.getRun(options.target);
      if (!found) {
        if (!store) {
          throw new BenchalignError('E_INFRA', `"${options.target}" is no file or folder, and there is no results store at ${options.store} to look it up in as a run id or tag`, {
            expected: 'a suite file, a results.json or run folder, or a run id / tag in a store written by `benchalign run --store`',
          });
        }
        return readRunFile(options.target, true) as never;
      }
      results = found;
    }

    const summary = store ? (await store.listRuns({ suite: results.suite.name, limit: 100_000 })).find((r) => r.id === results.run.id) : undefined;
    if (summary) git = { commit: summary.gitCommit, branch: summary.gitBranch, source: 'store' };
    else {
      const g = gitInfo();
      git = { commit: g.commit, branch: g.branch, source: 'checkout' };
    }

    const baseline: BaselineContext = { tag };
    if (policy.criteria.some((c) => c.noRegression)) {
      if (!store) baseline.missing = storeProblem ?? `no results store at ${options.store}`;
      else {
        const base = await store.getRun(tag);
        if (!base) baseline.missing = `no run tagged ${tag} in ${store.path}`;
        else {
          baseline.runId = base.run.id;
          baseline.report = compareForRegress(base, results, {
            minEffect: { p50: policy.regress.minEffectP50, p99: policy.regress.minEffectP99 },
            allowEnvChange: policy.regress.allowEnvChange,
            noiseFor: await historyNoise(store, [results.run.id], results.jobs),
          });
        }
      }
    }

    const checks = evaluateSignoff(results, policy, baseline);
    const failed = checks.filter((c) => !c.passed).length;
    const passed = failed === 0;
    const record: SignoffRecord = {
      schemaVersion: SIGNOFF_SCHEMA_VERSION,
      tool: { name: 'benchalign', version: VERSION },
      createdAt: new Date().toISOString(),
      verdict: passed ? 'pass' : 'fail',
      summary: passed ? `SIGN-OFF PASSED: ${checks.length} of ${checks.length} checks passed` : `SIGN-OFF FAILED: ${failed} of ${checks.length} checks failed`,
      policy: { path: policy.path, sha256: policy.sha256, ...(policy.name !== undefined ? { name: policy.name } : {}), baselineTag: tag },
      run: {
        id: results.run.id,
        startedAt: results.run.startedAt,
        ...(results.run.endedAt !== undefined ? { endedAt: results.run.endedAt } : {}),
        status: results.run.status,
        mode: results.run.mode,
        source: kind,
        ref: options.target,
      },
      suite: results.suite,
      resultsSha256: resultsSha256(results),
      git,
      devices: devicesOf(results),
      baseline: {
        tag,
        ...(baseline.runId !== undefined ? { runId: baseline.runId } : {}),
        ...(baseline.missing !== undefined ? { note: baseline.missing } : baseline.runId === results.run.id ? { note: 'the run is the baseline itself' } : {}),
      },
      checks,
      counts: { passed: checks.length - failed, failed },
    };

    let infraFailure = false;
    if (options.promote) {
      try {
        record.promotion = await promote(store, options.store, results, tag, passed, failed);
      } catch (e) {
        infraFailure = true;
        record.promotion = { tag, promoted: false, note: `the store could not be written: ${describeError(e)}` };
      }
    }

    const outDir = resolve(options.outDir ?? runDir ?? join('reports', `${timestamp(new Date())}-signoff`));
    mkdirSync(outDir, { recursive: true });
    writeFileAtomic(join(outDir, 'signoff.json'), `${JSON.stringify(record, null, 1)}\n`);
    writeFileAtomic(join(outDir, 'signoff.md'), signoffMarkdown(record));
    const interrupted = options.signal?.aborted === true;
    return { record, outDir, exitCode: interrupted || (passed && infraFailure) ? ExitCode.Infra : passed ? ExitCode.Ok : ExitCode.GateFailed };
  } finally {
    await store?.close();
  }
}

async function promote(store: ResultsStore | undefined, location: string, results: RunResults, tag: string, passed: boolean, failed: number): Promise<NonNullable<SignoffRecord['promotion']>> {
  if (!passed) return { tag, promoted: false, note: `${failed} check${failed === 1 ? '' : 's'} failed: the run is not tagged ${tag}` };
  let s = store;
  try {
    s ??= await openStore(location);
    if ((await s.resolveRunId(results.run.id)) === results.run.id) await s.tagRun(results.run.id, tag);
    else await s.recordRun(results, { tags: [tag] });
    const now = await s.resolveRunId(tag);
    const note =
      now === results.run.id
        ? `run ${results.run.id} tagged ${tag} in ${s.path}: it is the new baseline`
        : `run ${results.run.id} tagged ${tag} in ${s.path}, but ${now ?? 'another run'} started later and stays what "${tag}" resolves to`;
    return { tag, promoted: true, note };
  } finally {
    if (s !== store) await s?.close();
  }
}
