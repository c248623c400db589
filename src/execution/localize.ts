/**
 * `benchalign localize`: which layer of a model first diverges on an engine. The engine runs a
 * copy of the ONNX model with intermediate tensors added as graph outputs; the reference is
 * the PyTorch form of the model with a forward hook on every submodule, or another engine
 * running the same copy (`against`). Tensors are compared with the alignment metrics, in graph
 * order, and the first divergent layer is the earliest failing tensor whose nearest compared
 * inputs all align. docs/localize.md.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { buildInputs, loadReference, readInputFiles } from './inputs.js';
import { compare } from '../alignment/compare.js';
import { alignJobOutputs } from './align-job.js';
import { reconcileLayout } from '../alignment/layout.js';
import {
  comparableTensors,
  firstDivergence,
  mapModules,
  narrowWindow,
  probeWindow,
  type Divergence,
  type HookRecord,
  type LayerPoint,
  type ModuleMatch,
  type PointStatus,
} from '../alignment/localize.js';
import { exposeTensors, parseOnnxGraph, type ExposedType, type OnnxGraph } from '../alignment/onnx-graph.js';
import { resolveTolerance, type ToleranceOverrides } from '../alignment/tolerances.js';
import type { OutputAlignment, Tolerance } from '../model/alignment.js';
import { BenchalignError, type ErrorCode } from '../errors.js';
import { pythonPath, pythonWorkersDir } from '../runners/python/env.js';
import { getRunner } from '../runners/registry.js';
import type { Runner } from '../runners/types.js';
import { loadSuite } from '../suite/load.js';
import { expandJobs, outputSettings } from '../suite/matrix.js';
import { type Job } from '../model/job.js';
import { writeNpy } from '../tensors/npy.js';
import { readTensors } from '../tensors/read.js';
import type { NamedTensors, Tensor } from '../tensors/tensor.js';

export const LOCALIZE_SCHEMA = 'benchalign.localize/1';

export interface LocalizeOptions {
  suitePath: string;
  /** Model name in the suite. */
  model: string;
  /** Engine name; the suite's entry for it gives precision and options. */
  engine: string;
  /** Compare with this engine instead of PyTorch (the same exposed ONNX copy on both). */
  against?: string;
  /** Where localize.json, the exposed model copies and the PyTorch tensors go. Default: a folder under reports/. */
  outDir?: string;
  /** Most intermediate tensors exposed in one engine run; more candidates are bisected. Default 64. */
  maxExposed?: number;
  /** Tolerance overrides for intermediates (`'*'`) on top of the job precision's defaults and the suite's `outputs['*']`. */
  tolerance?: Partial<Tolerance>;
  /** Progress lines (stderr in the CLI). */
  log?: (line: string) => void;
}

/** What `localize` found; written as localize.json. */
export interface LocalizeReport {
  schema: typeof LOCALIZE_SCHEMA;
  suite: string;
  model: { name: string; path: string; sha256: string; nodes: number };
  engine: { name: string; precision: string; effectivePrecision: string; version: string; options: Record<string, unknown> };
  reference:
    | { kind: 'pytorch'; torch: string; form: string; modules: number }
    | { kind: 'engine'; name: string; precision: string; version: string };
  /** Tolerance of the intermediate tensors. */
  tolerance: Tolerance;
  /** Engine runs made (one per bisection round). */
  rounds: number;
  /** Tensors that could be compared, before bisection picked some. */
  candidates: number;
  /** The per-layer table, in graph order. */
  points: LayerPoint[];
  /** The first divergent layer; absent when every compared tensor aligns. */
  firstDivergence?: Divergence;
  /** The model outputs of the engine's un-modified model against the suite reference (or the other engine). */
  outputs: OutputAlignment[];
  /** True when every model output aligns. */
  outputsAligned: boolean;
  /** PyTorch modules the export folded into a neighbour's tensor: tensor -> modules. */
  folded: Array<{ tensor: string; into: string; modules: string[] }>;
  /** PyTorch modules that own no ONNX node and could not be placed (compared nowhere). */
  unmatchedModules: string[];
  /** Tensors an engine could not expose (fused away or renamed by its converter). */
  notExposed: Array<{ tensor: string; engine: string }>;
  /**
   * What the engine fused in the un-modified model (its nodes made of two or more ONNX nodes of
   * the graph, engine-internal names left out), where it says (OpenVINO); absent where it does not. Exposing a tensor keeps the engine from fusing
   * across it, so these are the fusions the per-layer comparison may have undone.
   */
  engineFusion?: FusedLayer[];
  /** The engine fusions that include a node of the first divergent span. */
  divergenceFusedWith?: FusedLayer[];
  notes: string[];
  outDir: string;
}

function pickJob(suite: Awaited<ReturnType<typeof loadSuite>>, model: string, engine: string): { job: Job; notes: string[] } {
  const jobs = expandJobs(suite, { models: [model], engines: [engine] }).filter((j) => j.model.name === model);
  const job = jobs[0];
  if (job === undefined) {
    throw new BenchalignError('E_USAGE', `the suite has no job for model "${model}" on engine "${engine}"`, {
      expected: `a model and an engine of ${suite.name}`,
    });
  }
  const notes = jobs.length > 1 ? [`the suite has ${jobs.length} configurations of ${engine} for ${model}; localized ${job.key}`] : [];
  return { job, notes };
}

/** The reference engine's job: the suite's entry when it lists the engine, else its default options at fp32. */
function againstJob(suite: Awaited<ReturnType<typeof loadSuite>>, job: Job, engine: string): Job {
  const listed = suite.engines.some((e) => e.name === engine);
  if (listed) return pickJob(suite, job.model.name, engine).job;
  return { ...job, key: `${job.model.name}/${engine}/fp32`, engine: { ...job.engine, name: engine, precision: 'fp32', options: {} } };
}

interface EngineRun {
  version: string;
  effectivePrecision: string;
  outputs: NamedTensors;
  fused?: FusedLayer[];
}

/** An engine node made of several ONNX nodes. */
export interface FusedLayer {
  name: string;
  opType: string;
  onnxNodes: string[];
}

async function runExposed(runner: Runner, job: Job, modelPath: string, bytes: Uint8Array, feedsCache: { feeds?: NamedTensors }, withFusion = false): Promise<EngineRun> {
  const availability = await runner.available();
  if (!availability.available) throw new BenchalignError('E_ENGINE_MISSING', `engine ${runner.name} is not available: ${availability.reason}`);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const model = { ...job.model, path: modelPath, sha256 };
  const opts = { precision: job.engine.precision, options: job.engine.options };
  const prepared = await runner.prepare(model, opts);
  const activation = await runner.activate(prepared, model, opts);
  try {
    feedsCache.feeds ??= await buildInputs(job.model.inputs, activation.inputs, job.model.shapes, await readInputFiles(job.model.inputs));
    const outputs = await runner.infer(feedsCache.feeds);
    const fused = withFusion ? await runner.fusedLayers?.() : undefined;
    return { version: availability.version, effectivePrecision: activation.effectivePrecision ?? job.engine.precision, outputs, ...(fused ? { fused } : {}) };
  } finally {
    await runner.deactivate();
  }
}

/**
 * Types of the candidate tensors as ONNX Runtime infers them (one session load, no inference):
 * converters that read output types (pnnx for ncnn) need them on the exposed outputs.
 */
async function inferTypes(job: Job, bytes: Uint8Array, names: readonly string[], dir: string): Promise<Map<string, ExposedType>> {
  const runner = getRunner('onnxruntime', { workDir: dir });
  const path = join(dir, 'typing.onnx');
  const exposed = exposeTensors(bytes, names, new Map(), job.model.path);
  await writeFile(path, exposed);
  try {
    const model = { ...job.model, path, sha256: createHash('sha256').update(exposed).digest('hex') };
    const opts = { precision: 'fp32' as const, options: {} };
    const activation = await runner.activate(await runner.prepare(model, opts), model, opts);
    await runner.deactivate();
    return new Map(activation.outputs.map((m) => [m.name, { dtype: String(m.dtype), dims: m.dims }]));
  } finally {
    await runner.dispose?.();
    await rm(path, { force: true });
  }
}

const ERROR_PREFIX = 'benchalign-hooks-error: ';

interface HooksManifest {
  torch: string;
  modules: Array<HookRecord & { file?: string; dtype?: string; note?: string }>;
}

/** The PyTorch form hooks can run, checked before any engine starts. */
function checkPytorchForm(job: Job): void {
  const pytorch = job.model.pytorch;
  if (pytorch === undefined) {
    throw new BenchalignError('E_CONFIG', `model "${job.model.name}" has no \`pytorch\` entry, so there is no PyTorch form to hook`, {
      expected: 'pytorch: {factory: file.py:function}, {exported: model.pt2} or {torchscript: model.pt} in the suite model (docs/suites.md), or --against <engine>',
    });
  }
  if (!existsSync(pythonPath())) {
    throw new BenchalignError('E_ENGINE_MISSING', `localize needs PyTorch: ${pythonPath()} does not exist`, { expected: 'the Python engines venv (run: benchalign engines setup)' });
  }
}

async function runHooks(job: Job, feeds: NamedTensors, dir: string, run: { precision: string; options: Record<string, unknown> } = { precision: 'fp32', options: { threads: 1 } }): Promise<HooksManifest> {
  const pytorch = job.model.pytorch;
  await mkdir(dir, { recursive: true });
  const inputs: Record<string, string> = {};
  let i = 0;
  for (const [name, t] of feeds) {
    const p = join(dir, `input-${i++}.npy`);
    await writeNpy(p, t);
    inputs[name] = p;
  }
  const requestPath = join(dir, 'request.json');
  await writeFile(requestPath, JSON.stringify({ pytorch, modelPath: job.model.path, shapes: job.model.shapes, inputs, out: dir, ...run }));
  const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((res, rej) => {
    const child = spawn(pythonPath(), ['-u', '-m', 'benchalign_worker.hooks', '--request', requestPath], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, PYTHONPATH: pythonWorkersDir(), PYTHONDONTWRITEBYTECODE: '1' },
    });
    let err = '';
    child.stderr.on('data', (b: Buffer) => {
      err = (err + b.toString('utf8')).slice(-20000);
    });
    child.on('error', (e) => rej(new BenchalignError('E_ENGINE_MISSING', `cannot start ${pythonPath()}: ${e.message}`)));
    child.on('close', (c) => res({ code: c, stderr: err }));
  });
  if (code !== 0) {
    const line = stderr.split('\n').reverse().find((l) => l.startsWith(ERROR_PREFIX));
    if (line !== undefined) {
      const e = JSON.parse(line.slice(ERROR_PREFIX.length)) as { code: ErrorCode; message: string; expected?: string };
      throw new BenchalignError(e.code, `localize (PyTorch hooks): ${e.message}`, e.expected ? { expected: e.expected } : {});
    }
    throw new BenchalignError('E_ENGINE', `localize: PyTorch exited with code ${code}:\n${stderr.trim().split('\n').slice(-15).join('\n')}`);
  }
  return JSON.parse(await readFile(join(dir, 'hooks.json'), 'utf8')) as HooksManifest;
}

function statusOf(a: OutputAlignment): PointStatus {
  return a.passed ? 'aligned' : 'diverged';
}

/** Compares one intermediate; a shape that differs even after the batch-dim reconciliation means the tensors do not correspond. */
function comparePoint(name: string, actual: Tensor, reference: Tensor, tolerance: Tolerance): { status: PointStatus; reasons: string[]; alignment?: OutputAlignment } {
  const { tensor, steps } = reconcileLayout(actual, reference, 'nchw', true);
  if (tensor.dims.length !== reference.dims.length || tensor.dims.some((d, i) => d !== reference.dims[i])) {
    return { status: 'unavailable', reasons: [`shapes differ: engine [${actual.dims.join(', ')}], reference [${reference.dims.join(', ')}]; not the same tensor`] };
  }
  const alignment = compare(tensor, reference, tolerance, { name, worstK: 3, histogram: false });
  if (steps.length > 0) alignment.mapping = { name: { reference: name, actual: name, by: 'name' }, layout: steps };
  return { status: statusOf(alignment), reasons: alignment.reasons, alignment };
}

function intermediateTolerance(job: Job, extra: Partial<Tolerance> | undefined): Tolerance {
  const { compare: _c, topK: _k, top1Min: _t, ...star } = outputSettings(job, '*');
  const overrides: ToleranceOverrides = { '*': star, ...(extra ? { x: extra } : {}) };
  return resolveTolerance(job.engine.precision, 'x', overrides);
}

function stamp(d: Date): string {
  return d.toISOString().replace(/[:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/** Runs the localization and writes localize.json into the out folder. */
export async function localize(options: LocalizeOptions): Promise<LocalizeReport> {
  const log = options.log ?? (() => undefined);
  const maxExposed = options.maxExposed ?? 64;
  if (!(Number.isInteger(maxExposed) && maxExposed >= 2)) throw new BenchalignError('E_USAGE', `--max-exposed ${maxExposed}`, { expected: 'an integer >= 2' });
  const suite = await loadSuite(options.suitePath);
  const { job, notes } = pickJob(suite, options.model, options.engine);
  if (options.against === options.engine) throw new BenchalignError('E_USAGE', `--against ${options.against} is the engine being localized`, { expected: 'another engine' });
  if (options.against === undefined || job.engine.name === 'pytorch') checkPytorchForm(job);
  if (options.against !== undefined && job.engine.name === 'pytorch') {
    throw new BenchalignError('E_USAGE', '--engine pytorch is localized against PyTorch at fp32 (its own hooks); --against is for engines that run the ONNX model', {
      expected: 'no --against with --engine pytorch',
    });
  }
  const outDir = resolve(options.outDir ?? join('reports', `${stamp(new Date())}-localize-${job.model.name}-${job.engine.name}`));
  await mkdir(outDir, { recursive: true });
  const bytes = new Uint8Array(await readFile(job.model.path));
  const graph: OnnxGraph = parseOnnxGraph(bytes, job.model.path);
  const tolerance = intermediateTolerance(job, options.tolerance);
  const runner = getRunner(job.engine.name, { workDir: outDir });
  const refJob = options.against !== undefined ? againstJob(suite, job, options.against) : undefined;
  const refRunner = refJob !== undefined ? getRunner(refJob.engine.name, { workDir: outDir }) : undefined;
  const feedsCache: { feeds?: NamedTensors } = {};
  const refFeeds: { feeds?: NamedTensors } = {};
  const points = new Map<string, LayerPoint>();
  const notExposed: LocalizeReport['notExposed'] = [];
  let rounds = 0;
  try {
    // round 0: the un-modified model, for the model outputs and the inputs
    log(`localize: ${job.key}: running the model as it is`);
    const base = await runExposed(runner, job, job.model.path, bytes, feedsCache, true);
    const feeds = feedsCache.feeds as NamedTensors;

    let reference: LocalizeReport['reference'];
    let candidates: string[];
    let matchByTensor = new Map<string, ModuleMatch>();
    let hookTensors = new Map<string, Tensor>();
    let folded: LocalizeReport['folded'] = [];
    let unmatchedModules: string[] = [];
    let outputs: OutputAlignment[];
    let refVersion = '';
    if (refJob !== undefined && refRunner !== undefined) {
      const refBase = await runExposed(refRunner, refJob, job.model.path, bytes, refFeeds);
      refVersion = refBase.version;
      outputs = alignJobOutputs(job, base.outputs, refBase.outputs);
      candidates = comparableTensors(graph);
      reference = { kind: 'engine', name: refJob.engine.name, precision: refJob.engine.precision, version: refVersion };
    } else {
      const refOut = await loadReference(job);
      outputs = refOut ? alignJobOutputs(job, base.outputs, refOut) : [];
      if (!refOut) notes.push('the suite model has no reference outputs; model outputs compared against PyTorch only through the hooks');
      log(`localize: running PyTorch with forward hooks${job.model.pytorch?.kind === 'torchscript' ? ' (TorchScript: module outputs read from its inlined graph)' : ''}`);
      const manifest = await runHooks(job, feeds, join(outDir, 'pytorch'));
      const mapping = mapModules(graph, manifest.modules);
      matchByTensor = new Map(mapping.matches.map((m) => [m.tensor, m]));
      candidates = mapping.matches.map((m) => m.tensor);
      const files = new Map(manifest.modules.map((m) => [m.name, m.file]));
      hookTensors = new Map();
      for (const m of mapping.matches) {
        const file = files.get(m.reference);
        if (file !== undefined) hookTensors.set(m.tensor, (await readTensors(file)).tensors.values().next().value as Tensor);
      }
      folded = mapping.matches.filter((m) => m.folded.length > 0).map((m) => ({ tensor: m.tensor, into: m.modules[0] as string, modules: m.folded }));
      unmatchedModules = mapping.unmatched;
      const form = job.model.pytorch ? `${job.model.pytorch.kind} ${job.model.pytorch.path}${job.model.pytorch.factory ? `:${job.model.pytorch.factory}` : ''}` : '';
      reference = { kind: 'pytorch', torch: manifest.torch, form, modules: manifest.modules.length };
      if (candidates.length === 0) {
        notes.push('no ONNX node carries a PyTorch module scope that matches a hooked module (an exporter without scopes?); try --against <engine>');
      }
    }

    let types = new Map<string, ExposedType>();
    if ((job.engine.name !== 'onnxruntime' && job.engine.name !== 'pytorch') || refJob?.engine.name !== undefined) {
      try {
        types = await inferTypes(job, bytes, candidates.filter((n) => !graph.outputs.includes(n)), outDir);
      } catch (e) {
        notes.push(`exposed tensors carry no types (ONNX Runtime could not infer them: ${(e as Error).message.split('\n')[0]})`);
      }
    }
    // the pytorch engine: its intermediates are its own hooks at the job's precision and options, all compared at once
    let engineHooks: NamedTensors | undefined;
    if (job.engine.name === 'pytorch') {
      log(`localize: running PyTorch at ${job.engine.precision} with forward hooks${job.model.pytorch?.kind === 'torchscript' ? ' (TorchScript: module outputs read from its inlined graph)' : ''}`);
      const manifest = await runHooks(job, feeds, join(outDir, 'engine'), { precision: job.engine.precision, options: job.engine.options });
      const files = new Map(manifest.modules.map((m) => [m.name, m.file]));
      engineHooks = new Map();
      for (const m of mapModules(graph, manifest.modules).matches) {
        const file = files.get(m.reference);
        if (file !== undefined) engineHooks.set(m.tensor, (await readTensors(file)).tensors.values().next().value as Tensor);
      }
    }
    const perRound = engineHooks !== undefined ? Math.max(1, candidates.length) : maxExposed;
    const statusAt = (i: number): PointStatus => points.get(candidates[i] as string)?.status ?? 'unavailable';
    let window: { lo: number; hi: number } | undefined = candidates.length > 0 ? { lo: 0, hi: candidates.length - 1 } : undefined;
    while (window !== undefined) {
      const probes = probeWindow(window.lo, window.hi, perRound).filter((i) => !points.has(candidates[i] as string));
      if (probes.length === 0) break;
      rounds++;
      const names = probes.map((i) => candidates[i] as string);
      log(`localize: round ${rounds}: ${engineHooks !== undefined ? 'comparing' : 'exposing'} ${names.length} tensor(s) of ${candidates.length} (window ${window.lo + 1}..${window.hi + 1})`);
      const exposedBytes = exposeTensors(bytes, names.filter((n) => !graph.outputs.includes(n)), types, job.model.path);
      const exposedPath = join(outDir, `exposed-${rounds}.onnx`);
      if (engineHooks === undefined || refJob !== undefined) await writeFile(exposedPath, exposedBytes);
      const got = engineHooks !== undefined ? { outputs: engineHooks } : await runExposed(runner, job, exposedPath, exposedBytes, feedsCache);
      const want = refJob !== undefined && refRunner !== undefined ? (await runExposed(refRunner, refJob, exposedPath, exposedBytes, refFeeds)).outputs : hookTensors;
      for (const name of names) {
        const nodeIndex = graph.producer.get(name) ?? -1;
        const node = graph.nodes[nodeIndex];
        const match = matchByTensor.get(name);
        const point: LayerPoint = {
          tensor: name,
          node: node?.name ?? name,
          nodeIndex,
          opType: node?.opType ?? '?',
          ...(match ? { modules: match.modules, ...(match.folded.length > 0 ? { folded: match.folded } : {}) } : node?.modulePaths.length ? { modules: node.modulePaths.slice(0, 1) } : {}),
          status: 'unavailable',
          reasons: [],
          round: rounds,
        };
        const a = got.outputs.get(name);
        const r = want.get(name);
        if (a === undefined) {
          point.reasons.push(`${job.engine.name} did not return it (fused away or renamed by its converter)`);
          notExposed.push({ tensor: name, engine: job.engine.name });
        } else if (r === undefined) {
          point.reasons.push(`${refJob?.engine.name ?? 'PyTorch'} did not return it`);
          if (refJob) notExposed.push({ tensor: name, engine: refJob.engine.name });
        } else {
          Object.assign(point, comparePoint(name, a, r, tolerance));
        }
        points.set(name, point);
      }
      window = narrowWindow(window.lo, probeWindow(window.lo, window.hi, perRound), statusAt);
    }

    const sorted = [...points.values()].sort((a, b) => a.nodeIndex - b.nodeIndex || a.tensor.localeCompare(b.tensor));
    const divergence = firstDivergence(graph, sorted);
    // keep the names that are ONNX nodes (engines add their own, e.g. OpenVINO's Multiply_4278)
    const onnxNames = new Set(graph.nodes.map((n) => n.name));
    const fused = base.fused?.map((f) => ({ ...f, onnxNodes: f.onnxNodes.filter((n) => onnxNames.has(n)) })).filter((f) => f.onnxNodes.length >= 2);
    const spanNodes = new Set(divergence?.span.map((n) => n.name) ?? []);
    const touching = fused?.filter((f) => f.onnxNodes.some((n) => spanNodes.has(n)));
    const report: LocalizeReport = {
      schema: LOCALIZE_SCHEMA,
      suite: suite.name,
      model: { name: job.model.name, path: job.model.path, sha256: job.model.sha256, nodes: graph.nodes.length },
      engine: { name: job.engine.name, precision: job.engine.precision, effectivePrecision: base.effectivePrecision, version: base.version, options: job.engine.options },
      reference,
      tolerance,
      rounds,
      candidates: candidates.length,
      points: sorted,
      ...(divergence ? { firstDivergence: divergence } : {}),
      outputs,
      outputsAligned: outputs.every((o) => o.passed),
      folded,
      unmatchedModules,
      notExposed,
      ...(fused ? { engineFusion: fused } : {}),
      ...(touching && touching.length > 0 ? { divergenceFusedWith: touching } : {}),
      notes,
      outDir,
    };
    await writeFile(join(outDir, 'localize.json'), `${JSON.stringify(report, jsonSafe, 1)}\n`);
    return report;
  } finally {
    await runner.dispose?.();
    await refRunner?.dispose?.();
    await rm(join(outDir, 'pytorch', 'request.json'), { force: true });
  }
}

/** JSON with non-finite numbers as strings ("Infinity", "NaN"), as results.json writes them. */
export function jsonSafe(_key: string, v: unknown): unknown {
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  return v;
}

/** One `run --localize` attempt. */
export interface FailedJobLocalization {
  key: string;
  /** The report's folder, when it was written. */
  outDir?: string;
  firstDivergence?: Divergence;
  /** Why it was not localized. */
  error?: string;
}

/**
 * `run --localize`: localizes every job of a finished run that failed alignment, into
 * `<runDir>/localize/<job key>/`, where `compare` finds the reports. The reference is the model's
 * PyTorch form; without a usable one (none, or one with no submodule outputs to capture) an engine other than onnxruntime is
 * localized against onnxruntime. A failure is returned, never thrown. The engines run on this
 * machine, also for jobs that ran on runner agents (the agent protocol has no localize request).
 */
export async function localizeFailedJobs(
  suitePath: string,
  jobs: ReadonlyArray<{ key: string; status: string; model: { name: string }; engine: { name: string }; alignment?: ReadonlyArray<{ passed: boolean }>; agent?: { name: string } }>,
  runDir: string,
  log: (line: string) => void = () => undefined,
): Promise<FailedJobLocalization[]> {
  const out: FailedJobLocalization[] = [];
  for (const j of jobs) {
    if (j.status !== 'failed' || !(j.alignment ?? []).some((a) => !a.passed)) continue;
    const dir = join(runDir, 'localize', j.key.replace(/[^A-Za-z0-9._-]+/g, '_'));
    const base = { suitePath, model: j.model.name, engine: j.engine.name, outDir: dir, log };
    // Localizing runs the engines on this machine: a job a runner agent ran is localized here, not there.
    const where = j.agent ? ` (on this machine; the job ran on agent ${j.agent.name})` : '';
    if (where) log(`localize: ${j.key}: localizing${where}`);
    try {
      let report: LocalizeReport;
      try {
        report = await localize(base);
      } catch (e) {
        const code = (e as { code?: string }).code;
        if ((code !== 'E_CONFIG' && code !== 'E_UNSUPPORTED') || j.engine.name === 'onnxruntime') throw e;
        log(`localize: ${j.key}: ${(e as Error).message.split('\n')[0]}; comparing with onnxruntime instead`);
        report = await localize({ ...base, against: 'onnxruntime' });
      }
      out.push({ key: j.key, outDir: report.outDir, ...(report.firstDivergence ? { firstDivergence: report.firstDivergence } : {}) });
    } catch (e) {
      out.push({ key: j.key, error: `${(e as Error).message.split('\n')[0] ?? String(e)}${where}` });
    }
  }
  return out;
}
