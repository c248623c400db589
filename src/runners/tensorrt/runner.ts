/**
 * The TensorRT runner. `prepare()` builds a plan from ONNX and caches it (convert-cache.ts;
 * key: model sha256, backend, TensorRT version, GPU, precision flags, TF32, profiles, builder
 * settings); `activate()` loads the plan in a worker. Two backends:
 *
 * - `python`: the TensorRT 10 Python API with cuda-python (runner-agents/python/
 *   benchalign_worker/tensorrt_worker.py), timed next to the engine with the H2D/compute/D2H
 *   split from CUDA events;
 * - `trtexec`: the trtexec program, driven by a Node worker (./trtexec-worker.ts), for
 *   machines where only it is installed.
 *
 * `auto` (the default) picks python when tensorrt, cuda-python and a GPU are there, else
 * trtexec. Without either, the engine is unavailable: "needs tensorrt and an NVIDIA GPU".
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { BenchalignError } from '../../errors.js';
import { inspectModelBytes, type ModelReport } from '../../tensors/inspect.js';
import { cachedConversion, runConverter, type ConversionKey } from '../convert-cache.js';
import { pythonPath, pythonWorkerCommand } from '../python/env.js';
import type { ActivationInfo, Availability, EngineOptions, PreparedModel } from '../types.js';
import type { ModelRef, TensorMeta } from '../../model/model-ref.js';
import { nodeWorkerCommand, type WorkerCommand } from '../worker-entry.js';
import { WorkerRunner, type WorkerRunnerConfig } from '../worker-runner.js';
import { NEEDS_TENSORRT, type BuildInfo } from './build-info.js';
import { optimizationProfiles, parseTrtOptions, trtPrecisionPlan, type ShapeProfile, type TrtOptions } from './options.js';
import { trtexecBuildArgv } from './trtexec.js';

export type Backend = 'python' | 'trtexec';

/** The trtexec program: `explicit`, else TRTEXEC, else `trtexec` on PATH; undefined when none exists. */
export function findTrtexec(explicit?: string): string | undefined {
  const named = explicit ?? process.env.TRTEXEC;
  if (named !== undefined && named !== '') return existsSync(named) ? named : undefined;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const p = join(dir, 'trtexec');
    if (existsSync(p)) return p;
  }
  return undefined;
}

function shortReason(reason: string): string {
  return reason.replace(/^.*needs tensorrt and an NVIDIA GPU: /, '').replace(/ \(expected the engine's Python package.*\)$/, '');
}

function modelMeta(report: ModelReport, which: 'inputs' | 'outputs'): TensorMeta[] {
  return report[which].map((v) => ({ name: v.name, dtype: v.dtype, dims: (v.shape ?? []).map((d) => (typeof d === 'number' && d >= 0 ? d : '?')) }));
}

/** What a plan build depends on besides the model, the TensorRT version and the GPU. */
export interface PlanBuildSettings {
  precision: string;
  tf32: boolean;
  profiles: Record<string, ShapeProfile>;
  device: number;
  builderOptimizationLevel: number;
  workspaceMiB: number | null;
}

/**
 * The plan cache key: a plan is specific to the TensorRT version and the GPU model, and
 * changes with the precision flags, TF32, the profiles and the builder settings.
 */
export function planCacheKey(modelSha256: string, backend: Backend, tensorrtVersion: string, gpu: string, build: PlanBuildSettings): ConversionKey {
  return { engine: 'tensorrt', modelSha256, converter: `${backend} tensorrt ${tensorrtVersion} on ${gpu}`, options: { ...build } };
}

export class TensorRtRunner extends WorkerRunner {
  readonly name = 'tensorrt';
  private backend: Backend = 'python';
  private trtexecPath: string | undefined;
  private availability: Availability | undefined;

  constructor(config: WorkerRunnerConfig = {}) {
    super(config);
  }

  /** The backend the runner drives now. */
  get activeBackend(): Backend {
    return this.backend;
  }

  protected workerCommand(): WorkerCommand {
    if (this.backend === 'python') return pythonWorkerCommand('tensorrt_worker');
    const cmd = nodeWorkerCommand(import.meta.url, './trtexec-worker');
    return { ...cmd, env: { ...cmd.env, BENCHALIGN_TRTEXEC: this.trtexecPath ?? 'trtexec' } };
  }

  protected validateOptions(options: Record<string, unknown>): Record<string, unknown> {
    parseTrtOptions(options);
    return { ...options };
  }

  private async tryBackend(backend: Backend, trtexec?: string): Promise<Availability> {
    if (this.backend !== backend || this.trtexecPath !== trtexec) await this.dispose();
    this.backend = backend;
    this.trtexecPath = trtexec;
    if (backend === 'python' && !existsSync(pythonPath())) return { available: false, reason: `no Python engine environment at ${pythonPath()}` };
    return super.available();
  }

  /** Picks the backend (`auto`: python, then trtexec) and starts its worker. */
  private async select(want: TrtOptions['backend'], trtexecPath?: string): Promise<Availability> {
    const reasons: string[] = [];
    if (want !== 'trtexec') {
      const a = await this.tryBackend('python');
      if (a.available) return a;
      reasons.push(`python backend: ${shortReason(a.reason)}`);
    }
    if (want !== 'python') {
      const t = findTrtexec(trtexecPath);
      if (t !== undefined) {
        const a = await this.tryBackend('trtexec', t);
        if (a.available) return a;
        reasons.push(`trtexec backend: ${shortReason(a.reason)}`);
      } else reasons.push(`trtexec backend: ${trtexecPath ?? process.env.TRTEXEC ?? 'trtexec on PATH'} not found`);
    }
    await this.dispose();
    return { available: false, reason: `${NEEDS_TENSORRT} (${reasons.join('; ')})` };
  }

  override async available(): Promise<Availability> {
    this.availability ??= await this.select('auto');
    return this.availability;
  }

  /** The availability for this job's backend option; throws E_ENGINE_MISSING when unavailable. */
  private async ensureBackend(opts: TrtOptions): Promise<Availability & { available: true }> {
    let a = this.availability;
    const mismatch = opts.backend !== 'auto' && opts.backend !== this.backend;
    if (a === undefined || !a.available || mismatch || (this.backend === 'trtexec' && opts.trtexecPath !== undefined && opts.trtexecPath !== this.trtexecPath)) {
      a = await this.select(opts.backend, opts.trtexecPath);
      this.availability = a;
    }
    if (!a.available) throw new BenchalignError('E_ENGINE_MISSING', a.reason, { expected: 'pip tensorrt and cuda-python in the venv, or trtexec, on a machine with an NVIDIA GPU' });
    return a;
  }

  override async prepare(model: ModelRef, options: EngineOptions): Promise<PreparedModel> {
    const opts = parseTrtOptions(options.options);
    const bytes = await readFile(model.path).catch((e: Error) => {
      throw new BenchalignError('E_IO', `cannot read the model: ${e.message}`, { file: model.path });
    });
    const report = inspectModelBytes(bytes, model.path);
    const { profiles, notes } = optimizationProfiles(report.inputs, model.shapes, opts);
    const hasQdq = Object.keys(report.ops).some((op) => op === 'QuantizeLinear' || op === 'DequantizeLinear');
    const precision = trtPrecisionPlan(options.precision, opts.tf32, hasQdq);
    const a = await this.ensureBackend(opts);
    const build = { precision: options.precision, tf32: opts.tf32, profiles, device: opts.device, builderOptimizationLevel: opts.builderOptimizationLevel, workspaceMiB: opts.workspaceMiB ?? null };
    const modelSha256 = model.sha256 !== '' ? model.sha256 : createHash('sha256').update(bytes).digest('hex');
    const key = planCacheKey(modelSha256, this.backend, a.version, a.devices[opts.device] ?? a.devices.join(', '), build);
    const io = { inputs: modelMeta(report, 'inputs'), outputs: modelMeta(report, 'outputs') };
    const conv = await cachedConversion(key, async (dir) => {
      const plan = join(dir, 'model.plan');
      if (this.backend === 'python') {
        const spec = join(dir, 'spec.json');
        await writeFile(spec, JSON.stringify({ onnx: model.path, plan, ...build, workspaceMiB: opts.workspaceMiB }, null, 2));
        const cmd = pythonWorkerCommand('tensorrt_worker');
        await runConverter([cmd.command, ...cmd.args, '--build', spec], { cwd: dir, ...(cmd.env ? { env: cmd.env } : {}) });
        const info = JSON.parse(await readFile(join(dir, 'build.json'), 'utf8')) as Record<string, unknown>;
        await writeFile(join(dir, 'build.json'), JSON.stringify({ ...info, ...io, notes }, null, 2));
      } else {
        await runConverter(trtexecBuildArgv({ trtexec: this.trtexecPath ?? 'trtexec', onnxPath: model.path, planPath: plan, precision, profiles, options: opts }), { cwd: dir });
        const info: BuildInfo = {
          backend: 'trtexec',
          tensorrt: a.version,
          precision,
          builderFlags: {
            set: [precision.fp16 && 'FP16', precision.bf16 && 'BF16', precision.int8 && 'INT8'].filter((f): f is string => typeof f === 'string'),
            cleared: precision.tf32 ? [] : ['TF32'],
          },
          profiles,
          ...io,
          notes,
          ...(opts.workspaceMiB !== undefined ? { workspaceMiB: opts.workspaceMiB } : {}),
          builderOptimizationLevel: opts.builderOptimizationLevel,
        };
        await writeFile(join(dir, 'build.json'), JSON.stringify(info, null, 2));
      }
    });
    return { path: join(conv.dir, 'model.plan'), convertMs: conv.convertMs, cacheHit: conv.cacheHit };
  }

  override async activate(prepared: PreparedModel, model: ModelRef, options: EngineOptions): Promise<ActivationInfo> {
    await this.ensureBackend(parseTrtOptions(options.options));
    return super.activate(prepared, model, options);
  }
}

