/**
 * The Runner every worker-backed engine shares: one worker process per Runner instance,
 * kept across jobs (a new model is `unload` + `load`), restarted by the next `activate()`
 * after a crash. Tensors go through .npy files in a scratch directory per activation.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BenchalignError } from '../errors.js';
import type { NamedTensors } from '../tensors/tensor.js';
import { readNpy, writeNpy } from '../tensors/npy.js';
import type { HelloResult, InferResult, LoadResult, MeasureResultMsg } from './protocol.js';
import type { ActivationInfo, Availability, EngineOptions, MeasureRequest, MeasureResult, PreparedModel, Runner } from './types.js';
import type { ModelRef, TensorMeta } from '../model/model-ref.js';
import { WorkerProcess, type WorkerProcessOptions } from './worker-client.js';
import type { WorkerCommand } from './worker-entry.js';

/** Settings of a worker-backed runner, shared by every engine. */
export interface WorkerRunnerConfig {
  /** Timeout of hello/load/setInputs/infer/unload, milliseconds. Default 120000. */
  requestTimeoutMs?: number;
  /** Extra time a `measure` request gets beyond its `maxDurationMs`, milliseconds. Default: requestTimeoutMs. */
  measureGraceMs?: number;
  /** Kill the worker when its RSS exceeds this many bytes (E_WORKER "out of memory"). Default: no limit. */
  maxRssBytes?: number;
  /** Parent directory of the per-activation scratch directories. Default: the OS temp dir. */
  workDir?: string;
}

export abstract class WorkerRunner implements Runner {
  abstract readonly name: string;
  protected readonly config: WorkerRunnerConfig;
  private worker: WorkerProcess | undefined;
  private hello: HelloResult | undefined;
  private loaded: LoadResult | undefined;
  private jobDir: string | undefined;
  private lastFeeds: NamedTensors | undefined;
  /** Latency of the last `infer`, timed in the worker next to the engine, nanoseconds. */
  lastInferLatencyNs: number | undefined;
  private seq = 0;

  constructor(config: WorkerRunnerConfig = {}) {
    this.config = config;
  }

  /** The argv that starts this engine's worker. */
  protected abstract workerCommand(): WorkerCommand;

  /** Checks and completes the engine options; throws E_CONFIG naming every problem. */
  protected abstract validateOptions(options: Record<string, unknown>): Record<string, unknown>;

  /** Extra fields of the `load` request for this engine's worker (default none). */
  protected loadExtras(_model: ModelRef): Record<string, unknown> {
    return {};
  }

  /** Process id of the worker, while one runs. */
  get workerPid(): number | undefined {
    return this.worker?.pid;
  }

  /** The worker's recent stderr (last `maxLines` lines). */
  stderrTail(maxLines = 50): string {
    return this.worker?.stderrTail(maxLines) ?? '';
  }

  async available(): Promise<Availability> {
    try {
      const hello = await this.ensureWorker();
      return { available: true, version: hello.version, devices: hello.devices };
    } catch (e) {
      return { available: false, reason: e instanceof Error ? e.message : String(e) };
    }
  }

  async prepare(model: ModelRef, _options: EngineOptions): Promise<PreparedModel> {
    return { path: model.path, cacheHit: true };
  }

  async activate(prepared: PreparedModel, model: ModelRef, options: EngineOptions): Promise<ActivationInfo> {
    const applied = this.validateOptions(options.options);
    await this.ensureWorker();
    const worker = this.worker as WorkerProcess;
    if (this.loaded !== undefined) await this.unloadQuietly();
    if (this.jobDir !== undefined) await rm(this.jobDir, { recursive: true, force: true });
    this.jobDir = await mkdtemp(join(this.config.workDir ?? tmpdir(), `benchalign-${this.name}-`));
    const res = await worker.request<LoadResult>(
      'load',
      { modelPath: prepared.path, options: applied, precision: options.precision, ...(model.shapes ? { shapes: model.shapes } : {}), ...this.loadExtras(model) },
      this.timeoutMs(),
    );
    this.loaded = res;
    this.lastFeeds = undefined;
    const notes = [...res.notes];
    return {
      loadMs: res.loadMs,
      pid: worker.pid as number,
      effectivePrecision: res.effectivePrecision,
      notes,
      ...(res.appliedOptions ? { appliedOptions: res.appliedOptions } : {}),
      ...(res.reconciliation ? { reconciliation: res.reconciliation } : {}),
      inputs: res.inputs,
      outputs: res.outputs,
    };
  }

  /** Options as the worker applied them in the current activation (defaults filled in). */
  appliedOptions(): Record<string, unknown> | undefined {
    return this.loaded?.appliedOptions;
  }

  async inputMetadata(): Promise<TensorMeta[]> {
    return this.requireLoaded().inputs;
  }

  /** Output metadata of the active model. */
  async outputMetadata(): Promise<TensorMeta[]> {
    return this.requireLoaded().outputs;
  }

  async infer(feeds: NamedTensors): Promise<NamedTensors> {
    const { worker, dir } = this.requireActive();
    await this.setInputs(feeds);
    const outputDir = join(dir, `out-${this.seq++}`);
    await mkdir(outputDir, { recursive: true });
    const res = await worker.request<InferResult>('infer', { outputDir }, this.timeoutMs());
    this.lastInferLatencyNs = res.latencyNs;
    const out: NamedTensors = new Map();
    for (const [name, path] of Object.entries(res.outputs)) out.set(name, await readNpy(path));
    await rm(outputDir, { recursive: true, force: true });
    return out;
  }

  async measure(feeds: NamedTensors, request: MeasureRequest): Promise<MeasureResult> {
    const { worker } = this.requireActive();
    if (!(request.iterations >= 1) || !(request.maxDurationMs > 0) || !((request.concurrency ?? 1) >= 1)) {
      throw new BenchalignError('E_USAGE', `bad measure request ${JSON.stringify(request)}`, {
        expected: 'iterations >= 1, maxDurationMs > 0, concurrency >= 1',
      });
    }
    await this.setInputs(feeds);
    const res = await worker.request<MeasureResultMsg>(
      'measure',
      { iterations: request.iterations, maxDurationMs: request.maxDurationMs, concurrency: request.concurrency ?? 1 },
      request.maxDurationMs + (this.config.measureGraceMs ?? this.timeoutMs()),
    );
    return { samplesNs: res.samplesNs, wallNs: res.wallNs, startedAtNs: res.startedAtNs, ...(res.phasesNs ? { phasesNs: res.phasesNs } : {}) };
  }

  async deactivate(): Promise<void> {
    if (this.loaded !== undefined) await this.unloadQuietly();
    if (this.jobDir !== undefined) await rm(this.jobDir, { recursive: true, force: true });
    this.jobDir = undefined;
  }

  /** Ends the worker process; the next `activate()` or `available()` starts a fresh one. */
  async dispose(): Promise<void> {
    await this.deactivate();
    await this.worker?.stop();
    this.worker = undefined;
    this.hello = undefined;
  }

  private timeoutMs(): number {
    return this.config.requestTimeoutMs ?? 120_000;
  }

  private async ensureWorker(): Promise<HelloResult> {
    if (this.worker?.running && this.hello !== undefined) return this.hello;
    this.loaded = undefined;
    this.lastFeeds = undefined;
    this.hello = undefined;
    const opts: WorkerProcessOptions = { label: `${this.name} worker`, requestTimeoutMs: this.timeoutMs() };
    if (this.config.maxRssBytes !== undefined) opts.maxRssBytes = this.config.maxRssBytes;
    this.worker ??= new WorkerProcess(this.workerCommand(), opts);
    await this.worker.restart();
    this.hello = await this.worker.request<HelloResult>('hello', {}, this.timeoutMs());
    return this.hello;
  }

  private async unloadQuietly(): Promise<void> {
    const w = this.worker;
    this.loaded = undefined;
    this.lastFeeds = undefined;
    if (w?.running) await w.request('unload', {}, this.timeoutMs());
  }

  private requireLoaded(): LoadResult {
    if (this.loaded === undefined) {
      throw new BenchalignError('E_USAGE', `${this.name}: no model is active`, { expected: 'activate() before use' });
    }
    return this.loaded;
  }

  private requireActive(): { worker: WorkerProcess; dir: string } {
    const worker = this.worker;
    if (worker === undefined || !worker.running || this.loaded === undefined || this.jobDir === undefined) {
      const last = worker?.lastExit;
      throw new BenchalignError(
        'E_WORKER',
        `${this.name}: no active model in a running worker${last ? ` (the last worker ${last.reason})` : ''}`,
        { expected: 'activate() again to start a fresh worker' },
      );
    }
    return { worker, dir: this.jobDir };
  }

  private async setInputs(feeds: NamedTensors): Promise<void> {
    if (feeds === this.lastFeeds) return;
    const { worker, dir } = this.requireActive();
    const inputDir = join(dir, `in-${this.seq++}`);
    await mkdir(inputDir, { recursive: true });
    const inputs: Record<string, string> = {};
    let i = 0;
    for (const [name, t] of feeds) {
      const path = join(inputDir, `${i++}.npy`);
      await writeNpy(path, t);
      inputs[name] = path;
    }
    await worker.request('setInputs', { inputs }, this.timeoutMs());
    this.lastFeeds = feeds;
    await rm(inputDir, { recursive: true, force: true });
  }
}
