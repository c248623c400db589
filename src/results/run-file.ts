/** Reading a run's results.json (or a run folder) with its shape checked. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BenchalignError } from '../errors.js';
import { RESULTS_SCHEMA_VERSION, type JobResult, type RunResults } from '../model/record.js';

/**
 * Reads one run from a results.json path or a run folder that holds one, checking its shape
 * (schema version, run id, suite, each job's key/model/engine/status): the one reader of
 * results files, for compare, regress and signoff.
 */
export function readRunFile(input: string, storeLookedUp = false): RunResults {
  let file = resolve(input);
  if (!existsSync(file)) {
    throw new BenchalignError('E_IO', storeLookedUp ? 'no such file or folder, and no such run id or tag in the results store' : 'no such file or folder', {
      file: input,
      expected: 'a results.json file, a run folder that holds one, or a run id / tag recorded by `benchalign run`',
    });
  }
  if (statSync(file).isDirectory()) {
    file = join(file, 'results.json');
    if (!existsSync(file)) throw new BenchalignError('E_IO', 'the folder holds no results.json', { file: input, expected: 'a run folder written by `benchalign run`' });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new BenchalignError('E_CONFIG', `not valid JSON: ${e instanceof Error ? e.message : String(e)}`, { file, expected: 'a results.json written by `benchalign run`' });
  }
  const r = parsed as Partial<RunResults> | null;
  const problems: string[] = [];
  if (typeof r !== 'object' || r === null || Array.isArray(r)) problems.push('not a JSON object');
  else {
    if (r.schemaVersion !== RESULTS_SCHEMA_VERSION) problems.push(`schemaVersion: ${JSON.stringify(r.schemaVersion)}, this benchalign reads ${RESULTS_SCHEMA_VERSION}`);
    if (typeof r.run !== 'object' || r.run === null || typeof r.run.id !== 'string') problems.push('run.id: missing');
    if (typeof r.suite !== 'object' || r.suite === null || typeof r.suite.name !== 'string') problems.push('suite.name: missing');
    if (!Array.isArray(r.jobs)) problems.push('jobs: expected an array');
    else {
      r.jobs.forEach((j: Partial<JobResult> | null, i) => {
        if (typeof j !== 'object' || j === null) return problems.push(`jobs[${i}]: not an object`);
        if (typeof j.key !== 'string') problems.push(`jobs[${i}].key: missing`);
        if (typeof j.model?.name !== 'string') problems.push(`jobs[${i}].model.name: missing`);
        if (typeof j.engine?.name !== 'string') problems.push(`jobs[${i}].engine.name: missing`);
        if (!['ok', 'failed', 'errored', 'skipped'].includes(j.status as string)) problems.push(`jobs[${i}].status: ${JSON.stringify(j.status)}`);
        return undefined;
      });
    }
  }
  if (problems.length > 0) {
    throw new BenchalignError('E_CONFIG', `not a benchalign results file: ${problems.slice(0, 8).join('; ')}${problems.length > 8 ? `; and ${problems.length - 8} more` : ''}`, {
      file,
      expected: 'a results.json written by `benchalign run` (docs/results.md)',
    });
  }
  return parsed as RunResults;
}

