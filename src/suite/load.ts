/**
 * Loading a suite file: parse (YAML or JSON), validate with the schema, check what the schema
 * cannot (files, hashes, unique names, bounds), and report every problem at once.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { BenchalignError } from '../errors.js';
import type { PathSegment, SuiteProblem } from '../config/errors.js';
import { describeValue, formatPath, problemsFromZod, SuiteConfigError } from '../config/errors.js';
import { readConfig } from '../config/reader.js';
import { hashFile } from '../model/hash.js';
import { MEASUREMENT_BOUNDS, measurementField, resolveMeasurement } from './measurement.js';
import { discoverOnnxTests, modelFromOnnxTestCase, ONNX_TESTS_EXPECTED } from './onnx-tests.js';
import type { PytorchModelRef } from '../model/model-ref.js';
import type { FileModelEntry, MeasurementEntry, PytorchModelEntry, SuiteFile } from './schema.js';
import { MeasurementSchema, SuiteFileSchema } from './schema.js';
import type { InputsSpec, Suite, SuiteAgents, SuiteEngine, SuiteModel } from '../model/suite.js';
import { resolveAgentEntries } from '../config/agents-file.js';
import type { SuiteAgents as SuiteAgentsEntry } from '../config/agents-schema.js';

type Raw = Record<string, unknown>;
type Problem = { path: PathSegment[]; message: string };

const isObj = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

async function kindOf(p: string): Promise<'file' | 'dir' | 'missing' | 'other'> {
  try {
    const s = await stat(p);
    return s.isFile() ? 'file' : s.isDirectory() ? 'dir' : 'other';
  } catch {
    return 'missing';
  }
}

async function checkFile(abs: string, at: PathSegment[], problems: Problem[]): Promise<boolean> {
  const kind = await kindOf(abs);
  if (kind === 'file') return true;
  problems.push({ path: at, message: kind === 'missing' ? `file not found: ${abs}` : `not a file: ${abs}` });
  return false;
}

/** What the checks beyond the schema found out, for building the suite. */
interface Facts {
  sha256: Map<number, string>;
  cases: Map<number, SuiteModel[]>;
  /** sha256 of each model's `pytorch` file (TorchScript, .pt2 or the factory's .py). */
  pytorchSha256: Map<number, string>;
}

async function checkModels(raw: Raw, dir: string, problems: Problem[]): Promise<Facts> {
  const facts: Facts = { sha256: new Map(), cases: new Map(), pytorchSha256: new Map() };
  const models = Array.isArray(raw.models) ? raw.models : [];
  const names = new Map<string, PathSegment[]>();
  const claim = (name: string, at: PathSegment[]) => {
    const first = names.get(name);
    if (first !== undefined) problems.push({ path: at, message: `duplicate model name "${name}" (also ${formatPath(first)})` });
    else names.set(name, at);
  };
  await Promise.all(
    models.map(async (m, i) => {
      if (!isObj(m)) return;
      const at = (...rest: PathSegment[]): PathSegment[] => ['models', i, ...rest];
      const onnxTests = str(m.onnxTests);
      if (onnxTests !== undefined) {
        const abs = path.resolve(dir, onnxTests);
        const kind = await kindOf(abs);
        if (kind !== 'dir') {
          problems.push({ path: at('onnxTests'), message: kind === 'missing' ? `folder not found: ${abs}` : `not a folder: ${abs}` });
          return;
        }
        try {
          const cases = await discoverOnnxTests(abs);
          const prefix = str(m.name);
          facts.cases.set(i, await Promise.all(cases.map((c) => modelFromOnnxTestCase(c, prefix !== undefined ? { index: i, prefix } : { index: i }))));
        } catch (e) {
          if (!(e instanceof BenchalignError)) throw e;
          problems.push({ path: at('onnxTests'), message: `no ONNX test cases in ${abs}; expected ${ONNX_TESTS_EXPECTED}` });
        }
        return;
      }
      const modelPath = str(m.path);
      if (modelPath !== undefined) {
        const abs = path.resolve(dir, modelPath);
        if (await checkFile(abs, at('path'), problems)) {
          const actual = await hashFile(abs);
          facts.sha256.set(i, actual);
          const expected = m.sha256;
          if (typeof expected === 'string' && /^[0-9a-fA-F]{64}$/.test(expected) && expected.toLowerCase() !== actual) {
            problems.push({ path: at('sha256'), message: `mismatch: ${abs} has sha256 ${actual}` });
          }
        }
      }
      if (isObj(m.pytorch)) {
        const file = await checkPytorch(m.pytorch, dir, (...p) => at('pytorch', ...p), problems);
        if (file !== undefined) facts.pytorchSha256.set(i, await hashFile(file));
      }
      const inputs = m.inputs;
      if (isObj(inputs) && inputs.source === 'reference' && str(inputs.file) !== undefined) {
        await checkFile(path.resolve(dir, str(inputs.file) ?? ''), at('inputs', 'file'), problems);
      }
      if (isObj(inputs) && inputs.source === 'random' && isObj(inputs.ranges)) {
        for (const [name, r] of Object.entries(inputs.ranges)) {
          if (Array.isArray(r) && typeof r[0] === 'number' && typeof r[1] === 'number' && r[0] > r[1]) {
            problems.push({ path: at('inputs', 'ranges', name), message: `expected low <= high, got [${r[0]}, ${r[1]}]` });
          }
        }
      }
      const reference = str(m.reference);
      if (reference !== undefined) {
        await checkFile(path.resolve(dir, reference), at('reference'), problems);
        if (!isObj(inputs) || inputs.source === 'random') {
          problems.push({
            path: at('inputs'),
            message: `${inputs === undefined ? 'required' : 'random inputs do not fit'} when reference is set: expected { source: reference, file: <the inputs the reference was computed from> }`,
          });
        }
      }
    }),
  );
  models.forEach((m, i) => {
    if (!isObj(m)) return;
    const cases = facts.cases.get(i);
    if (cases !== undefined) for (const c of cases) claim(c.name, ['models', i, 'onnxTests']);
    else if (str(m.name) !== undefined && str(m.onnxTests) === undefined) claim(str(m.name) ?? '', ['models', i, 'name']);
  });
  return facts;
}

function validFields(shape: Record<string, z.ZodType>, v: unknown): Raw {
  const out: Raw = {};
  if (!isObj(v)) return out;
  for (const [k, schema] of Object.entries(shape)) {
    const r = z.safeParse(schema, v[k]);
    if (r.success && r.data !== undefined) out[k] = r.data;
  }
  return out;
}

/** The fields of a measurement mapping that are valid, so bounds are checked despite other problems. */
function measurementLayer(v: unknown): MeasurementEntry | undefined {
  if (!isObj(v)) return undefined;
  const layer = validFields({ ...MeasurementSchema.shape, warmup: z.unknown() }, v) as MeasurementEntry;
  if (isObj(v.warmup)) layer.warmup = validFields(MeasurementSchema.shape.warmup.unwrap().shape, v.warmup);
  return layer;
}

function hasField(layer: MeasurementEntry, field: string): boolean {
  const [a, b] = field.split('.');
  const v = (layer as Raw)[a ?? ''];
  return b === undefined ? v !== undefined : isObj(v) && v[b] !== undefined;
}

function checkBounds(raw: Raw, problems: Problem[]): void {
  const suiteLayer = measurementLayer(raw.measurement);
  const check = (layers: Array<MeasurementEntry | undefined>, at: PathSegment[], own: MeasurementEntry | undefined) => {
    const m = resolveMeasurement(...layers);
    for (const [lo, hi] of MEASUREMENT_BOUNDS) {
      const low = measurementField(m, lo);
      const high = measurementField(m, hi);
      if (!(low > high)) continue;
      const sets = (f: string) => own !== undefined && hasField(own, f);
      if (!sets(lo) && !sets(hi)) continue;
      const blame = sets(hi) ? hi : lo;
      problems.push({ path: [...at, ...blame.split('.')], message: `expected ${hi} >= ${lo}, got ${high} < ${low}` });
    }
  };
  check([suiteLayer], ['measurement'], suiteLayer);
  const models = Array.isArray(raw.models) ? raw.models : [];
  models.forEach((m, i) => {
    if (!isObj(m) || !isObj(m.measurement)) return;
    const own = measurementLayer(m.measurement);
    if (own !== undefined) check([suiteLayer, own], ['models', i, 'measurement'], own);
  });
}

function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (isObj(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}

function checkEngines(raw: Raw, problems: Problem[]): void {
  const engines = Array.isArray(raw.engines) ? raw.engines : [];
  const configs = new Map<string, number>();
  const labels = new Map<string, number>();
  engines.forEach((e, j) => {
    if (!isObj(e) || str(e.name) === undefined) return;
    const config = canonicalJson([e.name, e.precision ?? 'fp32', e.options ?? {}]);
    const same = configs.get(config);
    if (same !== undefined) problems.push({ path: ['engines', j], message: `same engine, precision and options as engines[${same}]` });
    else configs.set(config, j);
    const label = str(e.label);
    if (label === undefined) return;
    const key = `${String(e.name)}/${label}`;
    const other = labels.get(key);
    if (other !== undefined) problems.push({ path: ['engines', j, 'label'], message: `duplicate label "${label}" for ${String(e.name)} (also engines[${other}])` });
    else labels.set(key, j);
  });
}

/** A model entry with neither `path` nor `onnxTests` is neither kind: say so, rather than ask for onnxTests. */
function explainModelKind(raw: Raw, p: Problem): Problem {
  const [top, i, key] = p.path;
  if (top !== 'models' || typeof i !== 'number' || key !== 'onnxTests' || p.path.length !== 3) return p;
  const m = Array.isArray(raw.models) ? (raw.models[i] as unknown) : undefined;
  if (!isObj(m) || 'path' in m || 'onnxTests' in m) return p;
  return { path: ['models', i], message: 'expected path (a model file) or onnxTests (a folder of ONNX test cases)' };
}

function defaultName(file: string): string {
  const base = path.basename(file).replace(/\.(ya?ml|json)$/i, '').replace(/[^A-Za-z0-9._-]/g, '_');
  return /^[A-Za-z0-9]/.test(base) ? base : `suite${base}`;
}

function inputsOf(m: FileModelEntry, dir: string): InputsSpec {
  const inputs = m.inputs ?? { source: 'random' as const, seed: 0, ranges: {} };
  if (inputs.source === 'reference') return { source: 'reference', file: path.resolve(dir, inputs.file) };
  const { '*': star, ...ranges } = inputs.ranges;
  return { source: 'random', seed: inputs.seed, ranges, defaultRange: star ?? [0, 1] };
}

const PYTORCH_KINDS = ['torchscript', 'exported', 'factory'] as const;

/** The `pytorch` entry names exactly one model form, and its file exists; returns that file. */
async function checkPytorch(p: Record<string, unknown>, dir: string, at: (...p: PathSegment[]) => PathSegment[], problems: Problem[]): Promise<string | undefined> {
  const given = PYTORCH_KINDS.filter((k) => p[k] !== undefined);
  if (given.length !== 1) {
    problems.push({ path: at(), message: `expected exactly one of torchscript, exported or factory, got ${given.length === 0 ? 'none' : given.join(' and ')}` });
    return undefined;
  }
  const kind = given[0] as (typeof PYTORCH_KINDS)[number];
  const value = str(p[kind]);
  if (value === undefined) return undefined;
  const file = path.resolve(dir, kind === 'factory' ? value.slice(0, value.lastIndexOf(':')) : value);
  if (kind === 'factory' && !/^.+\.py:[A-Za-z_][A-Za-z0-9_]*$/.test(value)) return undefined;
  return (await checkFile(file, at(kind), problems)) ? file : undefined;
}

function pytorchOf(p: PytorchModelEntry, dir: string): PytorchModelRef {
  const inputs = p.inputs?.map((t) => ({ name: t.name, dtype: t.dtype, dims: t.dims }));
  const extra = { ...(inputs ? { inputs } : {}), ...(p.outputs ? { outputs: p.outputs } : {}) };
  if (p.factory !== undefined) {
    const colon = p.factory.lastIndexOf(':');
    return { kind: 'factory', path: path.resolve(dir, p.factory.slice(0, colon)), factory: p.factory.slice(colon + 1), ...extra };
  }
  if (p.exported !== undefined) return { kind: 'exported', path: path.resolve(dir, p.exported), ...extra };
  return { kind: 'torchscript', path: path.resolve(dir, p.torchscript ?? ''), ...extra };
}

function build(file: string, sha256: string, data: SuiteFile, facts: Facts): Suite {
  const dir = path.dirname(file);
  const measurement = resolveMeasurement(data.measurement);
  const models: SuiteModel[] = data.models.flatMap((m, index): SuiteModel[] => {
    if ('onnxTests' in m) {
      return (facts.cases.get(index) ?? []).map((c) => ({
        ...c,
        outputs: m.outputs,
        measurement: resolveMeasurement(data.measurement, m.measurement),
        ...(m.agents !== undefined ? { agentLabels: m.agents.labels } : {}),
      }));
    }
    const model: SuiteModel = {
      name: m.name,
      path: path.resolve(dir, m.path),
      sha256: facts.sha256.get(index) ?? '',
      shapes: m.shapes,
      inputs: inputsOf(m, dir),
      outputs: m.outputs,
      measurement: resolveMeasurement(data.measurement, m.measurement),
      origin: { index },
    };
    if (m.reference !== undefined) model.reference = { source: 'file', path: path.resolve(dir, m.reference) };
    if (m.budgets !== undefined) model.budgets = m.budgets;
    if (m.pytorch !== undefined) model.pytorch = { ...pytorchOf(m.pytorch, dir), sha256: facts.pytorchSha256.get(index) ?? '' };
    if (m.agents !== undefined) model.agentLabels = m.agents.labels;
    return [model];
  });
  const suite: Suite = {
    name: data.name ?? defaultName(file),
    path: file,
    dir,
    sha256,
    models,
    engines: data.engines.map((e) => {
      const engine: SuiteEngine = { name: e.name, precision: e.precision, options: e.options };
      if (e.label !== undefined) engine.label = e.label;
      if (e.agents !== undefined) engine.agentLabels = e.agents.labels;
      return engine;
    }),
    measurement,
    tolerances: data.tolerances,
  };
  if (data.description !== undefined) suite.description = data.description;
  if (data.agents !== undefined) suite.agents = suiteAgents(file, data.agents);
  return suite;
}

/** The suite's `agents:`, resolved against the suite's folder (duplicate names and misplaced keys are problems). */
function suiteAgents(file: string, raw: SuiteAgentsEntry): SuiteAgents {
  const dir = path.dirname(file);
  const spec = Array.isArray(raw) ? { list: raw } : raw;
  const problems: SuiteProblem[] = [];
  const out: SuiteAgents = {};
  if (spec.list !== undefined) out.list = resolveAgentEntries(spec.list, dir, Array.isArray(raw) ? ['agents'] : ['agents', 'list'], problems);
  if (problems.length > 0) throw new SuiteConfigError(file, problems);
  if ('file' in spec && spec.file !== undefined) out.file = path.resolve(dir, spec.file);
  if ('labels' in spec && spec.labels !== undefined) out.labels = spec.labels;
  if ('maxAttempts' in spec && spec.maxAttempts !== undefined) out.maxAttempts = spec.maxAttempts;
  return out;
}

/**
 * Loads, validates and resolves a suite file. Throws SuiteConfigError (E_CONFIG) listing
 * every problem with its path and line, or E_CONFIG when the file cannot be read.
 */
export async function loadSuite(file: string): Promise<Suite> {
  const { abs, sha256, raw, where } = await readConfig(file, 'suite file', 'a YAML or JSON suite file', (f, problems) => new SuiteConfigError(f, problems));
  if (!isObj(raw)) {
    throw new SuiteConfigError(abs, [{ path: '', message: `expected a mapping with models and engines, got ${describeValue(raw)}` }]);
  }
  const parsed = z.safeParse(SuiteFileSchema, raw);
  const problems: Problem[] = parsed.success ? [] : problemsFromZod(parsed.error.issues, SuiteFileSchema, raw).map((p) => explainModelKind(raw, p));
  const facts = await checkModels(raw, path.dirname(abs), problems);
  checkBounds(raw, problems);
  checkEngines(raw, problems);
  if (problems.length > 0 || !parsed.success) {
    const located = new Map<string, SuiteProblem>();
    for (const p of problems) {
      const out: SuiteProblem = { path: formatPath(p.path), message: p.message, ...where(p.path) };
      located.set(`${out.path}\0${out.message}`, out);
    }
    const byLine = (a: SuiteProblem, b: SuiteProblem) => (a.line ?? Infinity) - (b.line ?? Infinity) || (a.col ?? 0) - (b.col ?? 0);
    throw new SuiteConfigError(abs, [...located.values()].sort(byLine));
  }
  return build(abs, sha256, parsed.data, facts);
}
