/**
 * Checks of the names a suite uses against what they name, once the models can be read: an
 * engine name must be a registered engine, and every input or output name (in `outputs`,
 * `shapes`, `inputs.ranges`, `tolerances`) must be one of the model's. A typo would otherwise
 * leave a gate at its default silently (`outputs: { logit: { atol: 1e-9 } }` for `logits`).
 * Runs before any job; each problem is E_CONFIG (exit 2) with a did-you-mean.
 */
import { readOnnxIoNames, type OnnxIoNames } from '../tensors/onnx-io-names.js';
import { FILE_CONCURRENCY, mapLimit } from './concurrency.js';
import { formatPath, suggest, SuiteConfigError, type PathSegment, type SuiteProblem } from '../config/errors.js';
import type { Suite } from '../model/suite.js';

function unknownName(kind: string, name: string, known: readonly string[]): string {
  const hint = suggest(name, known);
  const list = known.length > 0 ? ` (the model's ${kind}s: ${known.slice(0, 20).join(', ')}${known.length > 20 ? ', ...' : ''})` : '';
  return `no ${kind} "${name}" in the model${hint !== undefined ? `; did you mean "${hint}"?` : ''}${list}`;
}

/**
 * Engine names of the suite that are not in `known` (the registered engines: src/runners'
 * engineNames(), passed in by the caller since the suite floor sits below the runners), as
 * problems with a did-you-mean.
 */
export function engineNameProblems(suite: Suite, known: readonly string[]): SuiteProblem[] {
  const problems: SuiteProblem[] = [];
  suite.engines.forEach((e, j) => {
    if (known.includes(e.name)) return;
    const hint = suggest(e.name, known);
    problems.push({ path: formatPath(['engines', j, 'name']), message: `unknown engine "${e.name}"${hint !== undefined ? `; did you mean "${hint}"?` : ''} (registered: ${known.join(', ')})` });
  });
  return problems;
}

/**
 * The problems of the names a suite uses: unknown engines, and input/output names that no
 * model input/output has. Models whose I/O names cannot be read here (not ONNX) are not
 * checked; their engine still reports a missing name when the job runs.
 */
export async function suiteNameProblems(suite: Suite, knownEngines: readonly string[], signal?: AbortSignal): Promise<SuiteProblem[]> {
  const problems = engineNameProblems(suite, knownEngines);
  const own = suite.models.filter((m) => m.origin.onnxTestCase === undefined);
  const io = await mapLimit(own, FILE_CONCURRENCY, (m) => (m.path.toLowerCase().endsWith('.onnx') ? readOnnxIoNames(m.path) : Promise.resolve(undefined)), signal);
  const push = (at: PathSegment[], message: string) => problems.push({ path: formatPath(at), message });
  own.forEach((m, k) => {
    const names = io[k];
    if (names === undefined) return;
    const at = (...rest: PathSegment[]): PathSegment[] => ['models', m.origin.index, ...rest];
    for (const name of Object.keys(m.outputs)) if (name !== '*' && !names.outputs.includes(name)) push(at('outputs', name), unknownName('output', name, names.outputs));
    for (const name of Object.keys(m.shapes)) if (!names.inputs.includes(name)) push(at('shapes', name), unknownName('input', name, names.inputs));
    if (m.inputs.source === 'random') {
      for (const name of Object.keys(m.inputs.ranges)) if (!names.inputs.includes(name)) push(at('inputs', 'ranges', name), unknownName('input', name, names.inputs));
    }
  });
  // A suite-wide tolerance must name an output of some model; checkable only when every model's outputs are known.
  const known = io.filter((x): x is OnnxIoNames => x !== undefined);
  if (known.length > 0 && known.length === suite.models.length) {
    const all = [...new Set(known.flatMap((x) => x.outputs))];
    for (const name of Object.keys(suite.tolerances)) {
      if (name === '*' || all.includes(name)) continue;
      const hint = suggest(name, all);
      push(['tolerances', name], `no model of the suite has an output "${name}"${hint !== undefined ? `; did you mean "${hint}"?` : ''} (outputs: ${all.slice(0, 20).join(', ')}${all.length > 20 ? ', ...' : ''})`);
    }
  }
  return problems;
}

/** Throws SuiteConfigError (E_CONFIG, exit 2) listing every name problem of the suite. */
export async function checkSuiteNames(suite: Suite, knownEngines: readonly string[], signal?: AbortSignal): Promise<void> {
  const problems = await suiteNameProblems(suite, knownEngines, signal);
  if (problems.length > 0) throw new SuiteConfigError(suite.path, problems);
}
