/**
 * ONNX test-data folders: `model.onnx` next to `test_data_set_N/input_K.pb` and
 * `output_K.pb`. Tensor names come from the TensorProto name, else from the model graph's
 * inputs (initializers excluded) and outputs, in order, else `input_K` / `output_K`.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BenchalignError } from '../errors.js';
import { readFileOrThrow } from './npy.js';
import { decodeModelProto, parseTensorProto } from './onnx-proto.js';
import type { NamedTensors } from './tensor.js';

/** One `test_data_set_N` folder. */
export interface OnnxTestDataSet {
  /** Folder name, e.g. `test_data_set_0`. */
  name: string;
  inputs: NamedTensors;
  outputs: NamedTensors;
}

/** A whole ONNX test-data folder. */
export interface OnnxTestData {
  /** Path of `model.onnx`, or undefined when the folder has none. */
  model: string | undefined;
  /** Data sets in numeric order. */
  sets: OnnxTestDataSet[];
}

/** Graph input names (initializers excluded) and output names of an ONNX model file. */
export async function onnxModelIoNames(modelPath: string): Promise<{ inputs: string[]; outputs: string[] }> {
  const m = decodeModelProto(await readFileOrThrow(modelPath), modelPath);
  const g = m.graph;
  if (g === undefined || g === null) return { inputs: [], outputs: [] };
  const inits = new Set(g.initializer.map((t) => t.name));
  return { inputs: g.input.map((v) => v.name).filter((n) => !inits.has(n)), outputs: g.output.map((v) => v.name) };
}

const SET_RE = /^test_data_set_(\d+)$/;
const PB_RE = /^(input|output)_(\d+)\.pb$/;

/** Lists the data-set folders of a test-data directory, in numeric order. */
export function listOnnxTestDataSets(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    throw new BenchalignError('E_IO', `cannot list: ${(e as Error).message}`, { file: dir, cause: e });
  }
  return names
    .filter((n) => SET_RE.test(n) && statSync(join(dir, n)).isDirectory())
    .sort((a, b) => Number(SET_RE.exec(a)?.[1]) - Number(SET_RE.exec(b)?.[1]));
}

/** Reads every data set of an ONNX test-data folder (or only `onlySet` when given). */
export async function readOnnxTestData(dir: string, onlySet?: number): Promise<OnnxTestData> {
  const setNames = listOnnxTestDataSets(dir);
  if (setNames.length === 0) throw new BenchalignError('E_TENSOR_FORMAT', 'no test_data_set_N folders', { file: dir, expected: 'an ONNX test-data folder: model.onnx + test_data_set_0/input_0.pb ...' });
  const modelPath = join(dir, 'model.onnx');
  const model = existsSync(modelPath) ? modelPath : undefined;
  const io = model !== undefined ? await onnxModelIoNames(model) : { inputs: [], outputs: [] };
  const chosen = onlySet === undefined ? setNames : setNames.filter((n) => n === `test_data_set_${onlySet}`);
  if (chosen.length === 0) {
    throw new BenchalignError('E_USAGE', `no test_data_set_${onlySet}`, { file: dir, expected: `one of ${setNames.join(', ')}` });
  }
  const sets: OnnxTestDataSet[] = [];
  for (const setName of chosen) {
    const setDir = join(dir, setName);
    const files = readdirSync(setDir)
      .map((f) => ({ f, m: PB_RE.exec(f) }))
      .filter((x): x is { f: string; m: RegExpExecArray } => x.m !== null)
      .sort((a, b) => Number(a.m[2]) - Number(b.m[2]));
    const inputs: NamedTensors = new Map();
    const outputs: NamedTensors = new Map();
    for (const { f, m } of files) {
      const kind = m[1] as 'input' | 'output';
      const k = Number(m[2]);
      const path = join(setDir, f);
      const { name, tensor } = parseTensorProto(await readFileOrThrow(path), path);
      const fallback = (kind === 'input' ? io.inputs : io.outputs)[k] ?? `${kind}_${k}`;
      (kind === 'input' ? inputs : outputs).set(name !== '' ? name : fallback, tensor);
    }
    sets.push({ name: setName, inputs, outputs });
  }
  return { model, sets };
}
