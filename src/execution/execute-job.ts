/**
 * Runs one repeat of one job on this device: prepare (convert), load in the engine's worker,
 * first inference, warm-up with MSER truncation, the adaptive timing loop, throughput at
 * each concurrency, with resource samples taken from outside the worker. It returns raw
 * material only (samples, outputs, resource samples); statistics are computed by the caller.
 */
import { BenchalignError, describeError, isBenchalignError } from '../errors.js';
import { mserTruncation } from '../metrics/mser.js';
import { samplesNsToMs } from '../metrics/percentile.js';
import { ResourceSampler } from '../metrics/samplers/sampler.js';
import { decideStop, type StoppingPolicy } from '../metrics/stopping.js';
import { throughputPoint } from '../metrics/throughput.js';
import type { ResourceMark, ResourceSample, StoppingInfo, ThroughputPoint } from '../model/measurements.js';
import type { RawProfile } from '../model/profile.js';
import type { Job } from '../model/job.js';
import type { Measurement } from '../model/suite.js';
import type { ActivationInfo, PhaseSamplesNs, Runner } from '../runners/types.js';
import type { NamedTensors } from '../tensors/tensor.js';
import { buildInputs, readInputFiles, tileBatch } from './inputs.js';

export type RunMode = 'benchmark' | 'accuracy-only';

/** Progress of a job, for progress bars and logs. */
export interface JobProgress {
  phase: 'prepare' | 'load' | 'infer' | 'warmup' | 'measure' | 'throughput' | 'done';
  samples?: number;
  p50HalfWidthPct?: number;
}

/** What one repeat produced. */
export interface RepeatOutcome {
  activation: ActivationInfo;
  engineVersion?: string;
  convertMs?: number;
  tuneMs?: number;
  cacheHit?: boolean;
  firstInferenceMs?: number;
  outputs: NamedTensors;
  /** All timed samples (warm-up included), ns. */
  allSamplesNs: number[];
  /** The H2D/compute/D2H split of each of `allSamplesNs`, ns, when the engine reports it for every batch (TensorRT). */
  phasesNs?: PhaseSamplesNs;
  /** The engine profiler's per-layer times (`run --profile`), taken after the timed loop. */
  profile?: RawProfile;
  /** Samples discarded as warm-up. */
  warmupDiscarded: number;
  warmupHitMax: boolean;
  stopping?: StoppingInfo;
  throughput: ThroughputPoint[];
  resourceSamples: ResourceSample[];
  resourceMarks: ResourceMark[];
  /** Steady phase on the sampler clock, ms. */
  steadyWindow?: { startMs: number; endMs: number };
  /** Inferences in the steady phase. */
  steadyInferences: number;
  /** What could not be measured and why (e.g. a batch size the model refuses). */
  notes: string[];
}

/** A repeat that could not finish: the job becomes `errored` (or `skipped`). */
export class RepeatFailure extends Error {
  constructor(
    readonly status: 'errored' | 'skipped',
    message: string,
    readonly stderrTail?: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** Inferences and time limit of the profiling phase (`run --profile`). */
const PROFILE_ITERATIONS = 50;
const PROFILE_MAX_MS = 3000;

export interface ExecuteOptions {
  mode: RunMode;
  onProgress?: (p: JobProgress) => void;
  /** Checked between batches; an aborted job stops at the next decision. */
  signal?: AbortSignal;
  /**
   * Relative CI half-widths a repeat need not beat (from the spread between the job's earlier
   * repeats, `repeatTargetFloor`): precision within one process that the spread between
   * processes throws away is not worth its time.
   */
  targetFloor?: TargetFloor;
}

/** Relative CI half-widths (fractions) a repeat's stopping rule need not beat. */
export interface TargetFloor {
  p50?: number;
  p99?: number;
}

function stoppingPolicy(m: Measurement): StoppingPolicy {
  return {
    targetRelHalfWidthP50: m.targetCiHalfWidthPct / 100,
    targetRelHalfWidthP99: m.targetCiHalfWidthPctP99 / 100,
    minDurationMs: m.minDurationMs,
    maxDurationMs: m.maxDurationMs,
    minIterations: m.minIterations,
    maxIterations: m.maxIterations,
  };
}

/** Leading samples that fit in `maxMs` of warm-up time. */
function countWithin(samplesMs: readonly number[], maxMs: number): number {
  let t = 0;
  for (let i = 0; i < samplesMs.length; i++) {
    t += samplesMs[i] as number;
    if (t > maxMs) return i;
  }
  return samplesMs.length;
}

function stderrOf(runner: Runner): string | undefined {
  const tail = runner.stderrTail?.(40);
  return tail ? tail : undefined;
}

/** The profiling phase (`run --profile`), after the timed loop and the resource samples: a failure is a note, never a failed job. */
async function profileRepeat(runner: Runner, feeds: NamedTensors, outcome: RepeatOutcome): Promise<void> {
  if (runner.profile === undefined) {
    outcome.notes.push(`profile: ${runner.name} has no profiler here`);
    return;
  }
  try {
    outcome.profile = await runner.profile(feeds, { iterations: PROFILE_ITERATIONS, maxDurationMs: PROFILE_MAX_MS });
  } catch (e) {
    outcome.notes.push(`profile: not taken: ${describeError(e).split('\n')[0]}`);
  }
}

/** One repeat of `job` on `runner`. Throws RepeatFailure. */
export async function executeRepeat(job: Job, runner: Runner, options: ExecuteOptions): Promise<RepeatOutcome> {
  const progress = options.onProgress ?? (() => undefined);
  const sampler = new ResourceSampler(options.mode === 'accuracy-only' ? { nvidiaSmi: false } : {});
  const engineOpts = { precision: job.engine.precision, options: job.engine.options };
  try {
    const availability = await runner.available();
    if (!availability.available) throw new BenchalignError('E_ENGINE_MISSING', `engine ${job.engine.name} is not available: ${availability.reason}`);
    const preread = await readInputFiles(job.model.inputs);
    progress({ phase: 'prepare' });
    const prepared = await runner.prepare(job.model, engineOpts);
    progress({ phase: 'load' });
    const activation = await runner.activate(prepared, job.model, engineOpts);
    if (options.mode === 'benchmark') {
      sampler.start(activation.pid);
      sampler.mark('loaded');
    }

    const feeds = await buildInputs(job.model.inputs, activation.inputs, job.model.shapes, preread);
    progress({ phase: 'infer' });
    const outputs = await runner.infer(feeds);
    const firstNs = runner.lastInferLatencyNs;
    const outcome: RepeatOutcome = {
      activation,
      engineVersion: availability.version,
      convertMs: prepared.convertMs,
      tuneMs: prepared.tuneMs,
      cacheHit: prepared.cacheHit,
      firstInferenceMs: firstNs !== undefined ? firstNs / 1e6 : undefined,
      outputs,
      allSamplesNs: [],
      warmupDiscarded: 0,
      warmupHitMax: false,
      throughput: [],
      resourceSamples: [],
      resourceMarks: [],
      steadyInferences: 0,
      notes: [],
    };
    if (options.mode === 'accuracy-only') {
      outcome.resourceSamples = sampler.stop();
      outcome.resourceMarks = sampler.marks();
      return outcome;
    }

    const m = job.measurement;
    const policy = stoppingPolicy(m);
    const floor = options.targetFloor;
    if (floor?.p50 !== undefined) policy.targetRelHalfWidthP50 = Math.max(policy.targetRelHalfWidthP50 as number, floor.p50);
    if (floor?.p99 !== undefined) policy.targetRelHalfWidthP99 = Math.max(policy.targetRelHalfWidthP99 as number, floor.p99);
    const all: number[] = [];
    const allMs: number[] = [];
    const batchStartsMs: number[] = [];
    let phases: PhaseSamplesNs | undefined = { h2d: [], compute: [], d2h: [] };
    let next = Math.max(m.warmup.minIterations, 10);
    let discard = 0;
    let hitMax = false;
    let decision = undefined as ReturnType<typeof decideStop> | undefined;
    const phaseStart = sampler.nowMs();
    progress({ phase: 'warmup' });
    while (true) {
      if (options.signal?.aborted) throw new BenchalignError('E_INFRA', 'interrupted');
      const elapsedMs = sampler.nowMs() - phaseStart;
      const remainingMs = Math.max(50, m.maxDurationMs + m.warmup.maxMs - elapsedMs);
      const res = await runner.measure(feeds, { iterations: next, maxDurationMs: remainingMs });
      batchStartsMs.push(res.startedAtNs !== undefined ? Number(BigInt(res.startedAtNs) - sampler.clockOriginNs) / 1e6 : sampler.nowMs());
      for (const ns of res.samplesNs) {
        all.push(ns);
        allMs.push(ns / 1e6);
      }
      const ph = res.phasesNs;
      if (phases && ph && ph.h2d.length === res.samplesNs.length && ph.compute.length === res.samplesNs.length && ph.d2h.length === res.samplesNs.length) {
        phases.h2d.push(...ph.h2d);
        phases.compute.push(...ph.compute);
        phases.d2h.push(...ph.d2h);
      } else phases = undefined;
      const warmCap = Math.min(m.warmup.maxIterations, countWithin(allMs, m.warmup.maxMs));
      const mser = mserTruncation(allMs, { minDiscard: Math.min(m.warmup.minIterations, allMs.length), maxDiscard: warmCap });
      discard = mser.discard;
      hitMax = mser.hitMax;
      const steady = allMs.slice(discard);
      const steadyMs = steady.reduce((a, b) => a + b, 0);
      decision = decideStop({ samplesMs: steady, elapsedMs: steadyMs, iterations: all.length }, policy);
      progress({ phase: 'measure', samples: steady.length, p50HalfWidthPct: decision.info.p50HalfWidthPct });
      if (decision.stop) break;
      next = decision.nextBatch;
    }
    const steadyEndMs = sampler.nowMs();
    sampler.mark('steady-end');
    const steadyMsTotal = allMs.slice(discard).reduce((a, b) => a + b, 0);
    outcome.allSamplesNs = all;
    if (phases && phases.h2d.length === all.length) outcome.phasesNs = phases;
    outcome.warmupDiscarded = discard;
    outcome.warmupHitMax = hitMax;
    outcome.stopping = decision ? { ...decision.info, targetP50HalfWidthPct: (policy.targetRelHalfWidthP50 as number) * 100, targetP99HalfWidthPct: (policy.targetRelHalfWidthP99 as number) * 100 } : undefined;
    outcome.steadyInferences = all.length - discard;
    outcome.steadyWindow = { startMs: Math.max(phaseStart, steadyEndMs - steadyMsTotal), endMs: steadyEndMs };
    const steadyMs = allMs.slice(discard);
    if (steadyMs.length > 0) {
      outcome.throughput.push(throughputPoint({ concurrency: 1, batchSize: 1, wallNs: steadyMsTotal * 1e6, latenciesMs: steadyMs }));
    }
    for (const c of m.concurrency.filter((x) => x > 1)) {
      progress({ phase: 'throughput' });
      const budgetMs = Math.min(2000, Math.max(200, m.minDurationMs));
      const res = await runner.measure(feeds, { iterations: c * 1_000_000, maxDurationMs: budgetMs, concurrency: c });
      if (res.samplesNs.length > 0) {
        outcome.throughput.push(throughputPoint({ concurrency: c, batchSize: 1, wallNs: res.wallNs, latenciesMs: samplesNsToMs(res.samplesNs) }));
      }
    }
    for (const b of m.batchSizes.filter((x) => x > 1)) {
      progress({ phase: 'throughput' });
      try {
        const res = await runner.measure(tileBatch(feeds, b), { iterations: 1_000_000, maxDurationMs: Math.min(2000, Math.max(200, m.minDurationMs)) });
        if (res.samplesNs.length > 0) {
          outcome.throughput.push(throughputPoint({ concurrency: 1, batchSize: b, wallNs: res.wallNs, latenciesMs: samplesNsToMs(res.samplesNs) }));
        }
      } catch (e) {
        outcome.notes.push(`batch size ${b} not measured: ${describeError(e)}`);
      }
    }
    outcome.resourceSamples = sampler.stop();
    outcome.resourceMarks = sampler.marks();
    if (m.profile === true) await profileRepeat(runner, feeds, outcome);
    progress({ phase: 'done' });
    return outcome;
  } catch (e) {
    sampler.stop();
    if (e instanceof RepeatFailure) throw e;
    const code = isBenchalignError(e) ? e.code : undefined;
    const tail = (e as { stderrTail?: string }).stderrTail ?? stderrOf(runner);
    throw new RepeatFailure('errored', describeError(e), tail, code);
  }
}
