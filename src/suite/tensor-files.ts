/**
 * Before any job runs, every tensor file the selected jobs will read (reference outputs, inputs
 * from a file) is read once: a truncated, lying or unsafe file is then a configuration problem
 * of the suite (exit 2, naming the model and field), not an errored job (exit 1 or 4) found
 * after the other jobs ran.
 */
import { isBenchalignError, ExitCode, describeError } from '../errors.js';
import { readTensors } from '../tensors/read.js';
import { mapLimit } from './concurrency.js';
import { formatPath, SuiteConfigError, type PathSegment, type SuiteProblem } from '../config/errors.js';
import type { Job } from '../model/job.js';
import type { Suite } from '../model/suite.js';

/** Tensor files read at once: each may be large, so fewer than model files. */
const TENSOR_FILE_CONCURRENCY = 4;

/** Throws SuiteConfigError naming each model field whose tensor file cannot be read. */
export async function checkTensorFiles(suite: Suite, jobs: readonly Job[], signal?: AbortSignal): Promise<void> {
  const wanted = new Map<string, PathSegment[][]>();
  const want = (file: string, at: PathSegment[]) => wanted.set(file, [...(wanted.get(file) ?? []), at]);
  const seen = new Set<string>();
  const byName = new Map(suite.models.map((m) => [m.name, m] as const));
  for (const job of jobs) {
    const m = byName.get(job.model.name);
    if (m === undefined || seen.has(m.name) || m.origin.onnxTestCase !== undefined) continue;
    seen.add(m.name);
    if (m.inputs.source === 'reference') want(m.inputs.file, ['models', m.origin.index, 'inputs', 'file']);
    if (m.reference?.source === 'file') want(m.reference.path, ['models', m.origin.index, 'reference']);
  }
  const files = [...wanted.keys()];
  const problems: SuiteProblem[] = [];
  await mapLimit(
    files,
    TENSOR_FILE_CONCURRENCY,
    async (file) => {
      try {
        await readTensors(file);
      } catch (e) {
        if (!isBenchalignError(e) || e.exitCode !== ExitCode.Usage) throw e;
        for (const at of wanted.get(file) ?? []) problems.push({ path: formatPath(at), message: `[${e.code}] ${describeError(e)}` });
      }
    },
    signal,
  );
  if (problems.length > 0) throw new SuiteConfigError(suite.path, problems);
}
