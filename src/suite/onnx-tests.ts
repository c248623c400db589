/**
 * The ONNX test-data source: a folder whose subfolders (at any depth) each hold `model.onnx`
 * and `test_data_set_N/{input,output}_K.pb`, as in the ONNX backend tests and model zoos.
 * Discovery only lists files; protobuf is read later, by the runner.
 */
import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { BenchalignError } from '../errors.js';
import { hashFile } from '../model/hash.js';
import type { Suite, SuiteEngine, SuiteModel } from '../model/suite.js';
import { resolveMeasurement } from './measurement.js';

/** One ONNX test case. */
export interface OnnxTestCase {
  /** Folder relative to the discovery root, with "/" separators; the root's own name when the root is a case. */
  name: string;
  /** Absolute folder of the case. */
  dir: string;
  /** Absolute path of its model.onnx. */
  modelPath: string;
  /** Absolute `test_data_set_N` folders, by N ascending. */
  dataSets: string[];
}

export const ONNX_TESTS_EXPECTED =
  'subfolders, at any depth, each holding model.onnx and test_data_set_N/ folders with input_K.pb and output_K.pb';

const DATA_SET = /^test_data_set_(\d+)$/;

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

async function subdirs(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const out: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.') || e.name === 'node_modules') continue;
    if (e.isDirectory() || (e.isSymbolicLink() && (await isDir(path.join(dir, e.name))))) out.push(e.name);
  }
  return out.sort(byCodePoint);
}

function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

async function caseAt(dir: string, name: string): Promise<OnnxTestCase | undefined> {
  const modelPath = path.join(dir, 'model.onnx');
  if (!(await isFile(modelPath))) return undefined;
  const sets = (await subdirs(dir))
    .map((d) => ({ d, m: DATA_SET.exec(d) }))
    .filter((x): x is { d: string; m: RegExpExecArray } => x.m !== null)
    .sort((a, b) => Number(a.m[1]) - Number(b.m[1]));
  if (sets.length === 0) return undefined;
  return { name, dir, modelPath, dataSets: sets.map((s) => path.join(dir, s.d)) };
}

/**
 * Every case under `dir`, sorted by name. A folder that is a case is not searched further.
 * Throws E_CONFIG when `dir` is missing, not a folder, or holds no case.
 */
export async function discoverOnnxTests(dir: string): Promise<OnnxTestCase[]> {
  const root = path.resolve(dir);
  if (!(await isDir(root))) {
    const exists = await stat(root).then(
      () => true,
      () => false,
    );
    throw new BenchalignError('E_CONFIG', exists ? 'not a folder' : 'onnx-tests folder not found', { file: root, expected: `a folder of ${ONNX_TESTS_EXPECTED}` });
  }
  const cases: OnnxTestCase[] = [];
  const walk = async (d: string): Promise<void> => {
    const rel = path.relative(root, d).split(path.sep).join('/');
    const c = await caseAt(d, rel === '' ? path.basename(root) : rel);
    if (c !== undefined) {
      cases.push(c);
      return;
    }
    for (const sub of await subdirs(d)) await walk(path.join(d, sub));
  };
  await walk(root);
  if (cases.length === 0) {
    throw new BenchalignError('E_CONFIG', 'no ONNX test cases found', { file: root, expected: ONNX_TESTS_EXPECTED });
  }
  return cases.sort((a, b) => byCodePoint(a.name, b.name));
}

/** A suite model for one ONNX test case; `prefix` is prepended to the case name. */
export async function modelFromOnnxTestCase(c: OnnxTestCase, origin: { index: number; prefix?: string }): Promise<SuiteModel> {
  return {
    name: origin.prefix !== undefined ? `${origin.prefix}/${c.name}` : c.name,
    path: c.modelPath,
    sha256: await hashFile(c.modelPath),
    shapes: {},
    inputs: { source: 'onnx-test-data', dataSets: c.dataSets },
    reference: { source: 'onnx-test-data', dataSets: c.dataSets },
    outputs: {},
    measurement: resolveMeasurement(),
    origin: { index: origin.index, onnxTestCase: c.name },
  };
}

export interface OnnxTestsSuiteOptions {
  /** Precision of every engine. Default fp32. */
  precision?: SuiteEngine['precision'];
}

/**
 * The suite behind `benchalign run --onnx-tests <dir> --engines a,b`: every case on every
 * engine, default measurement, no tolerance overrides. Its `sha256` covers the case list and
 * the model hashes, so two runs of the same folder are comparable.
 */
export async function suiteFromOnnxTests(dir: string, engines: string[], options: OnnxTestsSuiteOptions = {}): Promise<Suite> {
  if (engines.length === 0) throw new BenchalignError('E_USAGE', 'no engines given', { expected: 'at least one engine name, e.g. --engines onnxruntime' });
  const root = path.resolve(dir);
  const cases = await discoverOnnxTests(root);
  const models = await Promise.all(cases.map((c) => modelFromOnnxTestCase(c, { index: 0 })));
  const suiteEngines: SuiteEngine[] = [...new Set(engines)].map((name) => ({ name, precision: options.precision ?? 'fp32', options: {} }));
  const canonical = JSON.stringify({ models: models.map((m) => [m.name, m.sha256, m.reference]), engines: suiteEngines });
  return {
    name: `onnx-tests-${path.basename(root).replace(/[^A-Za-z0-9._-]/g, '_')}`,
    description: `ONNX test-data cases under ${root}`,
    path: root,
    dir: root,
    sha256: createHash('sha256').update(canonical).digest('hex'),
    models,
    engines: suiteEngines,
    measurement: resolveMeasurement(),
    tolerances: {},
  };
}
