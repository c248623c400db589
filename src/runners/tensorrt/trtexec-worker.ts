/**
 * The trtexec backend of the TensorRT runner: a Node worker that speaks the worker protocol
 * and runs the `trtexec` program (BENCHALIGN_TRTEXEC) for each request, reading its
 * --exportTimes and --exportOutput JSON. Each `infer`/`measure` is one trtexec process that
 * deserializes the plan again; the samples are trtexec's per-iteration latencyMs (CUDA
 * events: H2D + compute + D2H), with the phase split.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { BenchalignError } from '../../errors.js';
import type { DType } from '../../tensors/dtype.js';
import { readNpy, writeNpy } from '../../tensors/npy.js';
import type { Tensor } from '../../tensors/tensor.js';
import { runConverter } from '../convert-cache.js';
import type { HelloResult, LoadResult, MeasureResultMsg } from '../protocol.js';
import { serveWorker } from '../worker-server.js';
import { parseTrtexecOutput, parseTrtexecTimes, trtexecRunArgv } from './trtexec.js';
import { NEEDS_TENSORRT, readBuildInfo, tensorRtVersionFromBanner, type BuildInfo } from './build-info.js';

const trtexec = process.env.BENCHALIGN_TRTEXEC ?? 'trtexec';

interface Active {
  plan: string;
  info: BuildInfo;
  device: number;
  dir: string;
  inputFiles: Record<string, string>;
  shapes: Record<string, number[]>;
  /** Latest per-iteration latency seen, ms, to size a measure batch to its time budget. */
  iterMs: number;
}

let active: Active | undefined;
let hello: HelloResult | undefined;

function gpus(): string[] {
  const r = spawnSync('nvidia-smi', ['--query-gpu=index,name', '--format=csv,noheader'], { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0 || r.error) {
    throw new BenchalignError('E_ENGINE_MISSING', `${NEEDS_TENSORRT}: trtexec is at ${trtexec}, but nvidia-smi finds no NVIDIA GPU (${r.error?.message ?? r.stderr.trim()})`);
  }
  const lines = r.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  if (lines.length === 0) throw new BenchalignError('E_ENGINE_MISSING', `${NEEDS_TENSORRT}: nvidia-smi lists no GPU`);
  return lines.map((l) => {
    const [idx, ...name] = l.split(',');
    return `cuda:${idx?.trim()} (${name.join(',').trim()})`;
  });
}

function doHello(): HelloResult {
  if (hello) return hello;
  const r = spawnSync(trtexec, ['--help'], { encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw new BenchalignError('E_ENGINE_MISSING', `${NEEDS_TENSORRT}: cannot run ${trtexec}: ${r.error.message}`);
  const version = tensorRtVersionFromBanner(`${r.stdout}\n${r.stderr}`);
  if (version === undefined) throw new BenchalignError('E_ENGINE_MISSING', `${NEEDS_TENSORRT}: ${trtexec} --help printed no "TensorRT vNNNN" banner`);
  hello = { protocol: 1, engine: 'tensorrt', version, pid: process.pid, devices: gpus() };
  return hello;
}

function requireActive(): Active {
  if (!active) throw new BenchalignError('E_ENGINE', 'no plan is loaded', { expected: 'load first' });
  return active;
}

async function runTrtexec(argv: string[], timeoutMs: number): Promise<void> {
  try {
    await runConverter(argv, { cwd: requireActive().dir, timeoutMs });
  } catch (e) {
    throw new BenchalignError('E_ENGINE', e instanceof Error ? e.message : String(e));
  }
}

function load(params: unknown): LoadResult {
  const h = doHello();
  const p = params as { modelPath?: string; options?: Record<string, unknown> };
  if (typeof p.modelPath !== 'string' || !p.modelPath.endsWith('.plan')) {
    throw new BenchalignError('E_UNSUPPORTED', `tensorrt (trtexec): ${String(p.modelPath)} is not a TensorRT plan`, { expected: "a plan built by the runner's prepare()" });
  }
  unload();
  const info = readBuildInfo(join(dirname(p.modelPath), 'build.json'));
  const device = typeof p.options?.device === 'number' ? p.options.device : 0;
  active = { plan: p.modelPath, info, device, dir: mkdtempSync(join(tmpdir(), 'benchalign-trtexec-')), inputFiles: {}, shapes: {}, iterMs: 1 };
  return {
    loadMs: 0,
    inputs: info.inputs,
    outputs: info.outputs,
    effectivePrecision: info.precision.effectivePrecision,
    notes: [...info.precision.notes, ...info.notes, 'trtexec backend: the plan is deserialized by each trtexec run; latency is trtexec latencyMs (CUDA events: H2D + compute + D2H)'],
    appliedOptions: {
      backend: 'trtexec',
      timing: 'events',
      trtexec,
      device,
      gpu: h.devices[device],
      tf32: info.precision.tf32,
      builderFlags: info.builderFlags,
      profiles: info.profiles,
      workspaceMiB: info.workspaceMiB,
      builderOptimizationLevel: info.builderOptimizationLevel,
    },
  };
}

async function setInputs(params: unknown): Promise<null> {
  const a = requireActive();
  const files = (params as { inputs?: Record<string, string> }).inputs ?? {};
  const wanted = a.info.inputs.map((i) => i.name);
  const missing = wanted.filter((n) => !(n in files));
  if (missing.length > 0) throw new BenchalignError('E_SHAPE', `tensorrt: no data for inputs ${missing.join(', ')}`, { expected: `inputs ${wanted.join(', ')}` });
  a.inputFiles = {};
  a.shapes = {};
  let i = 0;
  for (const name of wanted) {
    const t: Tensor = await readNpy(files[name] as string);
    const declared = a.info.inputs.find((x) => x.name === name)?.dtype;
    if (declared !== undefined && declared !== t.dtype) {
      throw new BenchalignError('E_SHAPE', `tensorrt: input ${name} is ${t.dtype}, the model takes ${declared}`);
    }
    const path = join(a.dir, `input${i++}.bin`);
    writeFileSync(path, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    a.inputFiles[name] = path;
    if (name in a.info.profiles) a.shapes[name] = [...t.dims];
  }
  return null;
}

async function infer(params: unknown): Promise<{ outputs: Record<string, string>; latencyNs: number }> {
  const a = requireActive();
  const outputDir = (params as { outputDir?: string }).outputDir;
  if (typeof outputDir !== 'string') throw new BenchalignError('E_USAGE', 'infer: outputDir is missing');
  const times = join(a.dir, 'times.json');
  const outJson = join(a.dir, 'output.json');
  await runTrtexec(trtexecRunArgv({ trtexec, planPath: a.plan, device: a.device, shapes: a.shapes, inputFiles: a.inputFiles, iterations: 1, exportTimes: times, exportOutput: outJson }), 300_000);
  const t = parseTrtexecTimes(await readFile(times, 'utf8'), times);
  const dtypes: Record<string, DType> = Object.fromEntries(a.info.outputs.map((o) => [o.name, o.dtype as DType]));
  const tensors = parseTrtexecOutput(await readFile(outJson, 'utf8'), outJson, dtypes);
  const outputs: Record<string, string> = {};
  let i = 0;
  for (const [name, tensor] of tensors) {
    const path = join(outputDir, `${i++}.npy`);
    await writeNpy(path, tensor);
    outputs[name] = path;
  }
  a.iterMs = Math.max(t.samplesNs[0]! / 1e6, 0.01);
  return { outputs, latencyNs: t.samplesNs[0]! };
}

async function measure(params: unknown): Promise<MeasureResultMsg> {
  const a = requireActive();
  const p = params as { iterations?: number; maxDurationMs?: number; concurrency?: number };
  if (typeof p.iterations !== 'number' || p.iterations < 1 || typeof p.maxDurationMs !== 'number' || p.maxDurationMs <= 0) {
    throw new BenchalignError('E_CONFIG', `measure: bad request ${JSON.stringify(params)}`, { expected: 'iterations >= 1, maxDurationMs > 0' });
  }
  if ((p.concurrency ?? 1) !== 1) {
    throw new BenchalignError('E_UNSUPPORTED', `tensorrt (trtexec backend): concurrency ${p.concurrency} is not supported`, { expected: 'concurrency 1, or the python backend' });
  }
  const iterations = Math.max(1, Math.min(p.iterations, Math.floor(p.maxDurationMs / a.iterMs)));
  const times = join(a.dir, 'times.json');
  const startedAtNs = Number(process.hrtime.bigint());
  await runTrtexec(trtexecRunArgv({ trtexec, planPath: a.plan, device: a.device, shapes: a.shapes, inputFiles: a.inputFiles, iterations, exportTimes: times }), p.maxDurationMs + 300_000);
  const t = parseTrtexecTimes(await readFile(times, 'utf8'), times);
  const sorted = [...t.samplesNs].sort((x, y) => x - y);
  a.iterMs = Math.max(sorted[Math.floor(sorted.length / 2)]! / 1e6, 0.01);
  return { samplesNs: t.samplesNs, wallNs: t.wallNs, startedAtNs, phasesNs: { h2d: t.phases.h2dNs, compute: t.phases.computeNs, d2h: t.phases.d2hNs } };
}

function unload(): null {
  if (active) rmSync(active.dir, { recursive: true, force: true });
  active = undefined;
  return null;
}

serveWorker({
  hello: () => doHello(),
  load,
  setInputs,
  infer,
  measure,
  unload,
  shutdown: () => unload(),
});
