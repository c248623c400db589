/**
 * A job's input tensors: from the reference file (the PyTorch inputs saved next to the
 * outputs), seeded random data with a range per input, or an ONNX test-data set.
 */
import { BenchalignError } from '../errors.js';
import { createPrng } from '../metrics/prng.js';
import type { InputsSpec } from '../model/suite.js';
import { DTYPE_CTOR, floatToBf16Bits, floatToHalfBits, isDType, type DType, type DTypeDataMap } from '../tensors/dtype.js';
import { readOnnxTestData } from '../tensors/onnx-test-data.js';
import { readTensors } from '../tensors/read.js';
import { formatDims, makeTensor, numel, type NamedTensors, type Tensor } from '../tensors/tensor.js';
import type { TensorMeta } from '../model/model-ref.js';

/** Concrete dims of an input: the engine's dims with symbolic ones replaced by the pins. */
export function concreteDims(meta: TensorMeta, pins: Record<string, number[]>): number[] {
  const pinned = pins[meta.name];
  if (pinned) return pinned;
  const symbolic = meta.dims.filter((d) => typeof d !== 'number' || d < 0);
  if (symbolic.length > 0) {
    throw new BenchalignError('E_CONFIG', `input "${meta.name}" has dynamic dims [${meta.dims.join(', ')}]`, {
      expected: `a pinned shape: shapes: { ${meta.name}: [...] } in the suite`,
    });
  }
  return meta.dims as number[];
}

function randomTensor(dtype: DType, dims: number[], range: [number, number], next: () => number): Tensor {
  const n = numel(dims);
  const [low, high] = range;
  const data = new DTYPE_CTOR[dtype](n) as DTypeDataMap[DType];
  const isInt = !['float32', 'float64', 'float16', 'bfloat16', 'bool'].includes(dtype);
  for (let i = 0; i < n; i++) {
    const u = next();
    if (dtype === 'bool') (data as Uint8Array)[i] = u < 0.5 ? 0 : 1;
    else if (dtype === 'float16') (data as Uint16Array)[i] = floatToHalfBits(low + u * (high - low));
    else if (dtype === 'bfloat16') (data as Uint16Array)[i] = floatToBf16Bits(low + u * (high - low));
    else if (isInt) {
      const v = Math.floor(low) + Math.floor(u * (Math.floor(high) - Math.floor(low) + 1));
      if (dtype === 'int64') (data as BigInt64Array)[i] = BigInt(v);
      else if (dtype === 'uint64') (data as BigUint64Array)[i] = BigInt(v);
      else (data as Int32Array)[i] = v;
    } else (data as Float32Array)[i] = low + u * (high - low);
  }
  return makeTensor(dtype, dims, data);
}

function checkAgainstMeta(feeds: NamedTensors, metas: readonly TensorMeta[], pins: Record<string, number[]>, source: string): void {
  const problems: string[] = [];
  for (const m of metas) {
    const t = feeds.get(m.name);
    if (!t) {
      problems.push(`input "${m.name}" is missing (found: ${[...feeds.keys()].join(', ') || 'none'})`);
      continue;
    }
    if (t.dtype !== m.dtype) problems.push(`input "${m.name}" is ${t.dtype}, the model expects ${m.dtype}`);
    const want = pins[m.name] ?? m.dims;
    const bad = want.length !== t.dims.length || want.some((d, i) => typeof d === 'number' && d >= 0 && d !== t.dims[i]);
    if (bad) problems.push(`input "${m.name}" has shape ${formatDims(t.dims)}, the model expects [${want.join(', ')}]`);
  }
  if (problems.length > 0) throw new BenchalignError('E_CONFIG', `${source}: ${problems.join('; ')}`);
}

/**
 * Reads the input tensors a spec names (nothing for random inputs). Done before the model is
 * loaded, so that unsupported inputs (string tensors, sequences) skip the job cheaply.
 */
export async function readInputFiles(spec: InputsSpec): Promise<{ tensors: NamedTensors; source: string } | undefined> {
  if (spec.source === 'random') return undefined;
  if (spec.source === 'reference') return { tensors: (await readTensors(spec.file)).tensors, source: spec.file };
  const dir = spec.dataSets[0];
  if (dir === undefined) throw new BenchalignError('E_CONFIG', 'ONNX test case has no test_data_set_* folder');
  const data = await readOnnxTestData(dir.replace(/\/test_data_set_\d+\/?$/, ''), dataSetIndex(dir));
  const set = data.sets[0];
  if (!set) throw new BenchalignError('E_CONFIG', `${dir}: no test data set`);
  return { tensors: set.inputs, source: dir };
}

/** Builds the feeds for one job from its input spec (and files read before) and the engine's input metadata. */
export async function buildInputs(
  spec: InputsSpec,
  metas: readonly TensorMeta[],
  pins: Record<string, number[]>,
  preread?: { tensors: NamedTensors; source: string },
): Promise<NamedTensors> {
  if (spec.source === 'random') {
    const prng = createPrng(spec.seed);
    const next = (): number => prng.nextFloat();
    const feeds: NamedTensors = new Map();
    for (const m of metas) {
      if (!isDType(m.dtype)) throw new BenchalignError('E_UNSUPPORTED', `input "${m.name}" has type ${m.dtype}`, { expected: 'a numeric or bool tensor' });
      feeds.set(m.name, randomTensor(m.dtype, concreteDims(m, pins), spec.ranges[m.name] ?? spec.defaultRange, next));
    }
    return feeds;
  }
  const { tensors, source } = preread ?? (await readInputFiles(spec)) ?? { tensors: new Map(), source: '' };
  const wanted = new Set(metas.map((m) => m.name));
  const picked: NamedTensors = new Map([...tensors].filter(([k]) => wanted.has(k)));
  checkAgainstMeta(picked, metas, pins, source);
  return picked;
}

/**
 * The feeds repeated `batch` times along a leading batch dimension of size 1, for the
 * batch-size sweep. An input whose leading dim is not 1 cannot be batched this way.
 */
export function tileBatch(feeds: NamedTensors, batch: number): NamedTensors {
  const out: NamedTensors = new Map();
  for (const [name, t] of feeds) {
    if (t.dims[0] !== 1) {
      throw new BenchalignError('E_SHAPE', `input "${name}" has shape ${formatDims(t.dims)}`, { expected: 'a leading batch dimension of size 1 to sweep batch sizes' });
    }
    const data = new DTYPE_CTOR[t.dtype](t.data.length * batch) as DTypeDataMap[DType];
    for (let i = 0; i < batch; i++) (data as Float32Array).set(t.data as Float32Array, i * t.data.length);
    out.set(name, makeTensor(t.dtype, [batch, ...t.dims.slice(1)], data));
  }
  return out;
}

/** `.../test_data_set_3` -> 3. */
export function dataSetIndex(dir: string): number {
  const m = /test_data_set_(\d+)\/?$/.exec(dir);
  return m ? Number(m[1]) : 0;
}
