/**
 * The ONNX Runtime worker process: serves the worker protocol (docs/workers.md) with
 * onnxruntime-node. Started by OnnxRuntimeRunner; never imported by the harness.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { BenchalignError } from '../../errors.js';
import { isDType, type DType, type DTypeDataMap } from '../../tensors/dtype.js';
import { makeTensor, type Tensor } from '../../tensors/tensor.js';
import { readNpy, writeNpy } from '../../tensors/npy.js';
import { PROTOCOL_VERSION, RpcCode, type HelloResult, type InferParams, type InferResult, type LoadParams, type LoadResult, type MeasureParams, type MeasureResultMsg, type ProfileParams, type ProfileResultMsg, type SetInputsParams } from '../protocol.js';
import type { TensorMeta } from '../../model/model-ref.js';
import { WorkerError, serveWorker } from '../worker-server.js';
import { parseOrtOptions, type OrtOptions } from './options.js';
import { profileSession } from './profile.js';
import { Lanes } from './lanes.js';

interface State {
  session: ort.InferenceSession;
  modelPath: string;
  options: OrtOptions;
  inputs: TensorMeta[];
  outputs: TensorMeta[];
  feeds: Record<string, ort.Tensor> | undefined;
  /** Threads with their own sessions for concurrency > 1 (./lanes.ts), started on first use. */
  lanes: Lanes;
}
let state: State | undefined;

function providerLibsPresent(): string[] {
  const found: string[] = [];
  try {
    const pkgDir = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
    const binDir = join(pkgDir, 'bin', 'napi-v6', process.platform, process.arch);
    if (existsSync(join(binDir, 'libonnxruntime_providers_cuda.so'))) found.push('cuda');
    if (existsSync(join(binDir, 'libonnxruntime_providers_tensorrt.so'))) found.push('tensorrt');
  } catch {
    return found;
  }
  return found;
}

function devices(): string[] {
  const supported = ort.listSupportedBackends();
  const libs = providerLibsPresent();
  return ['cpu', 'cuda', 'tensorrt'].filter((ep) => {
    const b = supported.find((s) => s.name === ep);
    return b !== undefined && (ep === 'cpu' || b.bundled || libs.includes(ep));
  });
}

function meta(list: readonly ort.InferenceSession.ValueMetadata[]): TensorMeta[] {
  return list.map((m) =>
    m.isTensor ? { name: m.name, dtype: m.type, dims: [...m.shape] } : { name: m.name, dtype: 'non-tensor', dims: [] },
  );
}

function sessionOptions(o: OrtOptions): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: o.executionProviders,
    graphOptimizationLevel: o.graphOptimizationLevel,
    executionMode: o.executionMode,
    logSeverityLevel: 3,
    ...(o.intraOpThreads > 0 ? { intraOpNumThreads: o.intraOpThreads } : {}),
    ...(o.interOpThreads > 0 ? { interOpNumThreads: o.interOpThreads } : {}),
  };
}

function decidePrecision(precision: string, inputs: TensorMeta[], outputs: TensorMeta[]): { effective: string; notes: string[] } {
  const fp16Model = [...inputs, ...outputs].some((m) => m.dtype === 'float16');
  const stored = fp16Model ? 'fp16' : 'fp32';
  if (precision === 'fp32') {
    return { effective: stored, notes: fp16Model ? ['the model is stored in fp16; onnxruntime runs it as stored'] : [] };
  }
  if (precision === 'fp16' && fp16Model) return { effective: 'fp16', notes: [] };
  throw new WorkerError(RpcCode.Unsupported, `onnxruntime runs a model at its stored precision (${stored}); precision ${precision} is unsupported for this model`, {
    benchalignCode: 'E_UNSUPPORTED',
    expected: `precision ${stored}, or a model converted to ${precision}`,
  });
}

function checkShapes(shapes: Record<string, number[]>, inputs: TensorMeta[]): string[] {
  const notes: string[] = [];
  const problems: string[] = [];
  for (const [name, dims] of Object.entries(shapes)) {
    const m = inputs.find((i) => i.name === name);
    if (m === undefined) {
      problems.push(`shapes.${name}: no such input (inputs: ${inputs.map((i) => i.name).join(', ')})`);
      continue;
    }
    if (m.dims.length !== dims.length) {
      problems.push(`shapes.${name}: rank ${dims.length}, but the model declares [${m.dims.join(', ')}]`);
      continue;
    }
    m.dims.forEach((d, i) => {
      if (typeof d === 'number' && d >= 0 && d !== dims[i]) problems.push(`shapes.${name}[${i}]: ${dims[i]}, but the model fixes it to ${d}`);
      if (typeof d === 'string') notes.push(`${name}: ${d} pinned to ${dims[i]}`);
    });
  }
  if (problems.length > 0) {
    throw new WorkerError(RpcCode.InvalidParams, `pinned shapes do not fit the model:\n  ${problems.join('\n  ')}`, { benchalignCode: 'E_SHAPE' });
  }
  return notes;
}

function toOrt(t: Tensor): ort.Tensor {
  if (t.dtype === 'bfloat16') throw new BenchalignError('E_UNSUPPORTED', 'onnxruntime-node has no bfloat16 tensors', { expected: 'float32 or float16' });
  return new ort.Tensor(t.dtype, t.data as ort.Tensor.DataType, [...t.dims]);
}

function fromOrt(name: string, v: ort.Tensor): Tensor {
  if (!isDType(v.type)) {
    throw new BenchalignError('E_UNSUPPORTED', `output ${name} has type ${v.type}, which benchalign cannot compare`, { expected: 'a numeric or bool tensor' });
  }
  const dtype: DType = v.type;
  let data = v.data as DTypeDataMap[DType];
  if (dtype === 'float16' && !(data instanceof Uint16Array)) {
    const a = data as unknown as ArrayLike<number> & { buffer: ArrayBufferLike; byteOffset: number; length: number };
    data = new Uint16Array(a.buffer, a.byteOffset, a.length);
  }
  return makeTensor(dtype, v.dims.map(Number), data);
}

function requireState(): State {
  if (state === undefined) throw new WorkerError(RpcCode.State, 'no model is loaded', { benchalignCode: 'E_USAGE', expected: 'load before this request' });
  return state;
}

function requireFeeds(s: State): Record<string, ort.Tensor> {
  if (s.feeds === undefined) throw new WorkerError(RpcCode.State, 'no inputs are set', { benchalignCode: 'E_USAGE', expected: 'setInputs before this request' });
  return s.feeds;
}

async function unload(): Promise<null> {
  const s = state;
  state = undefined;
  if (s) {
    await s.lanes.close();
    await s.session.release();
  }
  return null;
}

serveWorker({
  hello: (): HelloResult => ({
    protocol: PROTOCOL_VERSION,
    engine: 'onnxruntime',
    version: ort.env.versions.node ?? ort.env.versions.common,
    pid: process.pid,
    devices: devices(),
  }),

  load: async (raw): Promise<LoadResult> => {
    const p = raw as LoadParams;
    await unload();
    const options = parseOrtOptions(p.options ?? {});
    const here = devices();
    const missing = options.executionProviders.filter((ep) => !here.includes(ep));
    if (missing.length > 0) {
      throw new WorkerError(RpcCode.Unsupported, `execution provider ${missing.join(', ')} is not available here`, {
        benchalignCode: 'E_UNSUPPORTED',
        expected: `one of ${here.join('|')}`,
      });
    }
    const t0 = process.hrtime.bigint();
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(p.modelPath, sessionOptions(options));
    } catch (e) {
      throw new WorkerError(RpcCode.Engine, `cannot load ${p.modelPath}: ${(e as Error).message}`, { benchalignCode: 'E_ENGINE' });
    }
    const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const inputs = meta(session.inputMetadata);
    const outputs = meta(session.outputMetadata);
    try {
      const { effective, notes } = decidePrecision(p.precision, inputs, outputs);
      notes.push(...checkShapes(p.shapes ?? {}, inputs));
      state = { session, modelPath: p.modelPath, options, feeds: undefined, inputs, outputs, lanes: new Lanes({ modelPath: p.modelPath, sessionOptions: sessionOptions(options) }) };
      return { loadMs, inputs, outputs, effectivePrecision: effective, notes, appliedOptions: { ...options } };
    } catch (e) {
      await session.release();
      throw e;
    }
  },

  setInputs: async (raw) => {
    const s = requireState();
    const p = raw as SetInputsParams;
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, path] of Object.entries(p.inputs ?? {})) {
      if (!s.inputs.some((m) => m.name === name)) {
        throw new WorkerError(RpcCode.InvalidParams, `unknown input ${name}`, {
          benchalignCode: 'E_SHAPE',
          expected: `inputs ${s.inputs.map((m) => m.name).join(', ')}`,
        });
      }
      feeds[name] = toOrt(await readNpy(path));
    }
    const missing = s.inputs.filter((m) => !(m.name in feeds)).map((m) => m.name);
    if (missing.length > 0) {
      throw new WorkerError(RpcCode.InvalidParams, `missing input ${missing.join(', ')}`, { benchalignCode: 'E_SHAPE', expected: 'a tensor for every model input' });
    }
    s.feeds = feeds;
    return null;
  },

  infer: async (raw): Promise<InferResult> => {
    const s = requireState();
    const feeds = requireFeeds(s);
    const p = raw as InferParams;
    const t0 = process.hrtime.bigint();
    const results = await s.session.run(feeds);
    const latencyNs = Number(process.hrtime.bigint() - t0);
    await mkdir(p.outputDir, { recursive: true });
    const outputs: Record<string, string> = {};
    let i = 0;
    for (const m of s.outputs) {
      const v = results[m.name];
      if (v === undefined) continue;
      const path = join(p.outputDir, `${i++}.npy`);
      await writeNpy(path, fromOrt(m.name, v as ort.Tensor));
      outputs[m.name] = path;
    }
    return { outputs, latencyNs };
  },

  measure: async (raw): Promise<MeasureResultMsg> => {
    const s = requireState();
    const feeds = requireFeeds(s);
    const p = raw as MeasureParams;
    const iterations = Math.max(1, Math.floor(p.iterations));
    const concurrency = Math.max(1, Math.floor(p.concurrency ?? 1));
    const session = s.session;
    const samplesNs: number[] = [];
    const start = process.hrtime.bigint();
    const deadline = start + BigInt(Math.round(p.maxDurationMs * 1e6));
    let end = start;
    if (concurrency === 1) {
      for (let i = 0; i < iterations; i++) {
        const t0 = process.hrtime.bigint();
        await session.run(feeds);
        end = process.hrtime.bigint();
        samplesNs.push(Number(end - t0));
        if (end >= deadline) break;
      }
    } else {
      // N requests in flight need N threads: session.run blocks the JS thread (./lanes.ts).
      try {
        const r = await s.lanes.measure(feeds, concurrency, iterations, p.maxDurationMs);
        return { samplesNs: r.samplesNs, wallNs: r.wallNs, startedAtNs: r.startedAtNs };
      } catch (e) {
        throw new WorkerError(RpcCode.Engine, (e as Error).message, { benchalignCode: 'E_ENGINE' });
      }
    }
    return { samplesNs, wallNs: Number(end - start), startedAtNs: Number(start) };
  },

  profile: async (raw): Promise<ProfileResultMsg> => {
    const s = requireState();
    const feeds = requireFeeds(s);
    const p = raw as ProfileParams;
    return profileSession(s.modelPath, sessionOptions(s.options), feeds, p);
  },

  unload,
  shutdown: unload,
});
