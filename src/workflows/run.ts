/**
 * `benchalign run`: load the suite, expand the job matrix, dispatch every job to the run's
 * agents (this machine's local agent when none are named; repeats interleaved across jobs),
 * and record each finished job at once.
 */
import { randomBytes } from 'node:crypto';
import { access, mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { BenchalignError, ExitCode, describeError } from '../errors.js';
import { RESULTS_SCHEMA_VERSION, type DeviceFingerprint, type JobResult, type RunResults } from '../model/record.js';
import { RunDirectory } from '../reports/run-dir.js';
import { StoreRecorder } from '../results/store/run-recorder.js';
import { redactStoreUrls } from '../results/store/store.js';
import { attachHistoryNextRun, historyTargetFloors } from '../results/next-run.js';
import { engineNames } from '../runners/registry.js';
import { checkSuiteNames } from '../suite/names.js';
import { checkTensorFiles } from '../suite/tensor-files.js';
import { expandJobs, loadSuite, suiteFromOnnxTests, type Suite } from '../suite/index.js';
import { type Job } from '../model/job.js';
import { writeSafetensors } from '../tensors/safetensors.js';
import type { NamedTensors } from '../tensors/tensor.js';
import { reasonLine, worstText } from '../reports/summary.js';
import { VERSION } from '../version.js';
import type { RepeatOutcome, RunMode, TargetFloor } from '../execution/execute-job.js';
import { loadReference } from '../execution/inputs.js';
import { adaptiveRepeatsOn, moreRepeatsHook } from '../execution/adaptive-repeats.js';
import { DEFAULT_MAX_ATTEMPTS, DEFAULT_QUEUE_TIMEOUT_MS, DEFAULT_TIMEOUT_GRACE_MS, loadAgentsFile, type AgentsConfig } from '../config/agents-file.js';
import { agentDevice, agentRecord, dispatch, type AgentRunState, type DispatchSummary } from '../agents/dispatcher.js';
import { buildJobResult, failedJobResult, nextRepeatTargetFloor } from '../execution/job-result.js';
import { connectAgent, type AgentClient } from '../agents/transports/index.js';
import { LocalAgentClient } from '../agents/transports/local.js';
import type { AgentDef } from '../model/agents.js';
import { createProgressReporter, type ProgressReporter } from '../agents/progress.js';
import { runOnQueue } from '../agents/queue/coordinator.js';
import { finishRun } from './fleet.js';

export interface RunSuiteOptions {
  /** Suite file; or `onnxTests` instead. */
  suitePath?: string;
  /** Folder of ONNX test-data cases, run without a suite file. */
  onnxTests?: string;
  engines?: string[];
  models?: string[];
  /** Run folder. Default reports/<timestamp>-<suite>/ under the current directory. */
  outDir?: string;
  mode?: RunMode;
  /** Overrides the suite's repeats. */
  repeats?: number;
  /** Overrides the suite's measurement.maxRepeats (adaptive repeats; at least `repeats`). */
  maxRepeats?: number;
  /** Keep each job's output tensors as .npy under <run>/outputs/<job>/. */
  saveOutputs?: boolean;
  /** Profile each job with the engine's own profiler after its timed loop (sets measurement.profile). */
  profile?: boolean;
  quiet?: boolean;
  progress?: ProgressReporter;
  argv?: string[];
  /** Aborting it interrupts the run: finished jobs are kept and the run is marked interrupted. */
  signal?: AbortSignal;
  /** Also record the finished run into this results store (docs/regress.md); a store failure only warns. */
  store?: string;
  /** Tags of the run in the store, e.g. `nightly`. */
  tags?: string[];
  /**
   * An agents file (`--agents`): run the jobs on these runner agents (docs/agents-client.md).
   * It replaces the suite's own `agents:` list and file. Without either, jobs run in this
   * process as they always did.
   */
  agentsFile?: string;
  /** Agents given directly (tests, benchmarks); replaces `agentsFile` and the suite's. */
  agents?: AgentsConfig;
  /** Run here even when the suite names agents (`--no-agents`). */
  noAgents?: boolean;
  /**
   * Called once the suite is loaded and checked, just before the run folder is made. The CLI
   * installs its Ctrl-C handler here: until then there is nothing to finish, and the default
   * signal action ends the process at once, even inside a long synchronous parse.
   */
  onRunStart?: () => void;
  /** `--overwrite`: an `outDir` that already holds a run is emptied first instead of refused. */
  overwrite?: boolean;
  /**
   * Let `command` engine jobs run the program the suite names (`--allow-programs`), on this
   * machine's local agent. Remote agents decide for themselves (`benchalign agent --allow-programs`).
   */
  allowPrograms?: boolean;
  /** Run the jobs on the fleet queue at this postgres:// URL (docs/fleet.md). */
  queue?: string;
  /** With `queue`: return once the jobs are queued (`runs wait` finishes the run). */
  detach?: boolean;
}

export interface RunSuiteOutcome {
  results: RunResults;
  runDir: string;
  exitCode: ExitCode;
  /** A run on the fleet queue: its id, and whether the command returned before it finished. */
  queued?: { runId: string; detached: boolean };
}

function timestamp(d: Date): string {
  return d.toISOString().replace(/[:]/g, '').replace(/\.\d+Z$/, 'Z');
}

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 120);
}

/**
 * A run id: UTC start second, suite name and 32 random bits, so that two runs started in the
 * same second (two CI machines, a loop) never share an id.
 */
export function newRunId(started: Date, suiteName: string): string {
  return `${timestamp(started)}-${safeName(suiteName)}-${randomBytes(4).toString('hex')}`;
}

/** Makes the run folder; one that already holds a run (results.json) is refused rather than overwritten, unless `overwrite` (then emptied). */
async function claimRunDir(runDir: string, overwrite: boolean): Promise<void> {
  if (overwrite) await rm(runDir, { recursive: true, force: true });
  await mkdir(runDir, { recursive: true });
  try {
    await access(join(runDir, 'results.json'));
  } catch {
    return;
  }
  throw new BenchalignError('E_USAGE', `--out ${runDir} already holds a run (results.json); it is not overwritten`, { expected: 'a new or empty run folder, or --overwrite to replace that run folder' });
}

/** Exit code of a finished run (DESIGN.md): 4 nothing measured, 3 engine missing, 1 a job failed. */
export function runExitCode(jobs: readonly JobResult[], missingEngine: boolean): ExitCode {
  const measured = jobs.filter((j) => j.status === 'ok' || j.status === 'failed');
  if (measured.length === 0) return missingEngine ? ExitCode.Infra : ExitCode.NothingMeasured;
  if (jobs.some((j) => j.status === 'failed' || j.status === 'errored')) return ExitCode.GateFailed;
  if (missingEngine) return ExitCode.Infra;
  return ExitCode.Ok;
}

const UNSUPPORTED_CODES = new Set(['E_UNSUPPORTED']);

export async function runSuite(options: RunSuiteOptions): Promise<RunSuiteOutcome> {
  let suite: Suite;
  if (options.onnxTests !== undefined) {
    if (!options.engines || options.engines.length === 0) {
      throw new BenchalignError('E_USAGE', '--onnx-tests needs --engines', { expected: 'e.g. --engines onnxruntime' });
    }
    suite = await suiteFromOnnxTests(options.onnxTests, options.engines);
  } else if (options.suitePath !== undefined) {
    suite = await loadSuite(options.suitePath, options.signal ? { signal: options.signal } : {});
  } else {
    throw new BenchalignError('E_USAGE', 'no suite given', { expected: 'a suite file, or --onnx-tests <dir> --engines <names>' });
  }
  await checkSuiteNames(suite, engineNames(), options.signal);
  const filter: { engines?: string[]; models?: string[] } = {};
  if (options.engines && options.onnxTests === undefined) filter.engines = options.engines;
  if (options.models) filter.models = options.models;
  const jobs = expandJobs(suite, filter).map((j) => (options.profile === true ? { ...j, measurement: { ...j.measurement, profile: true } } : j));
  if (jobs.length === 0) throw new BenchalignError('E_CONFIG', 'the suite expands to no jobs', { file: suite.path });
  await checkTensorFiles(suite, jobs, options.signal);
  const mode: RunMode = options.mode ?? 'benchmark';
  const repeats = options.repeats ?? Math.max(...jobs.map((j) => j.measurement.repeats));
  if (!(Number.isInteger(repeats) && repeats >= 1)) throw new BenchalignError('E_USAGE', `--repeats ${repeats}`, { expected: 'a positive integer' });
  if (options.maxRepeats !== undefined && !(Number.isInteger(options.maxRepeats) && options.maxRepeats >= 1)) {
    throw new BenchalignError('E_USAGE', `--max-repeats ${options.maxRepeats}`, { expected: 'a positive integer' });
  }

  if (options.detach && options.queue === undefined) throw new BenchalignError('E_USAGE', '--detach needs --queue', { expected: '--queue postgres://... --detach' });
  if (options.queue !== undefined) {
    if (options.saveOutputs) throw new BenchalignError('E_USAGE', '--save-outputs does not work with --queue', { expected: 'a run without --queue to keep the output tensors' });
    if (options.maxRepeats !== undefined) throw new BenchalignError('E_USAGE', '--max-repeats does not work with --queue (a queued job runs its planned repeats)', { expected: 'a run without --queue for adaptive repeats' });
    options.onRunStart?.();
    const finish = { ...(options.outDir !== undefined ? { outDir: options.outDir } : {}), ...(options.store !== undefined ? { store: options.store } : {}), tags: options.tags ?? [] };
    const q = await runOnQueue({ ...options, queue: options.queue }, suite, jobs, repeats, mode, new Date(), (db, runId) => finishRun(db, runId, finish));
    return { results: q.results, runDir: q.runDir, exitCode: q.exitCode, queued: { runId: q.runId, detached: q.detached } };
  }
  const agentsConfig = await resolveAgents(options, suite);
  if (options.signal?.aborted) throw new BenchalignError('E_INFRA', 'interrupted while loading the suite; no run folder was written');
  options.onRunStart?.();
  const started = new Date();
  const runId = newRunId(started, suite.name);
  const runDir = resolve(options.outDir ?? join('reports', runId));
  await claimRunDir(runDir, options.overwrite === true);
  return runOnAgents(options, suite, jobs, repeats, mode, runDir, started, agentsConfig, runId);
}

/** The agent of a run without agents: this machine, through the same dispatcher as any other. */
function localAgentsConfig(jobs: readonly Job[], options: { allowPrograms?: boolean } = {}): { config: AgentsConfig; client: LocalAgentClient } {
  const def: AgentDef = { name: 'local', url: 'local', kind: 'local', labels: {}, connectTimeoutMs: 0 };
  const engineJobs = [...new Map(jobs.map((j) => [j.engine.name, j] as const)).values()];
  const client = new LocalAgentClient(def, { engineJobs, ...(options.allowPrograms === true ? { allowPrograms: true } : {}) });
  const config: AgentsConfig = { agents: [def], maxAttempts: 1, queueTimeoutMs: DEFAULT_QUEUE_TIMEOUT_MS, timeoutGraceMs: DEFAULT_TIMEOUT_GRACE_MS, source: 'local' };
  return { config, client };
}

/** The agents of a run: given, `--agents`, or the suite's (list and file); undefined: this machine only. */
async function resolveAgents(options: RunSuiteOptions, suite: Suite): Promise<AgentsConfig | undefined> {
  if (options.noAgents) return undefined;
  if (options.agents !== undefined) return options.agents;
  if (options.agentsFile !== undefined) return loadAgentsFile(options.agentsFile);
  const sa = suite.agents;
  if (sa === undefined || (sa.list === undefined && sa.file === undefined)) return undefined;
  const fromFile = sa.file !== undefined ? await loadAgentsFile(sa.file) : undefined;
  const agents = [...(sa.list ?? []), ...(fromFile?.agents ?? [])];
  const names = new Set<string>();
  for (const a of agents) {
    if (names.has(a.name)) throw new BenchalignError('E_CONFIG', `agent "${a.name}" is defined both in the suite and in ${sa.file}`, { file: suite.path, expected: 'unique agent names' });
    names.add(a.name);
  }
  return {
    agents,
    maxAttempts: sa.maxAttempts ?? fromFile?.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    queueTimeoutMs: fromFile?.queueTimeoutMs ?? DEFAULT_QUEUE_TIMEOUT_MS,
    timeoutGraceMs: fromFile?.timeoutGraceMs ?? DEFAULT_TIMEOUT_GRACE_MS,
    source: sa.file ?? suite.path,
  };
}

/**
 * The one run path: the dispatcher executes every repeat on the run's agents (this machine's
 * local agent when the run names none), and this process builds every JobResult.
 */
async function runOnAgents(
  options: RunSuiteOptions,
  suite: Suite,
  jobs: Job[],
  repeats: number,
  mode: RunMode,
  runDir: string,
  started: Date,
  agentsConfig: AgentsConfig | undefined,
  runId: string,
): Promise<RunSuiteOutcome> {
  const local = agentsConfig === undefined ? localAgentsConfig(jobs, { allowPrograms: options.allowPrograms === true }) : undefined;
  const config = local?.config ?? (agentsConfig as AgentsConfig);
  const results: RunResults = {
    schemaVersion: RESULTS_SCHEMA_VERSION,
    tool: { name: 'benchalign', version: VERSION },
    suite: { name: suite.name, path: suite.path, sha256: suite.sha256 },
    run: { id: runId, startedAt: started.toISOString(), status: 'running', pid: process.pid, argv: (options.argv ?? []).map(redactStoreUrls), mode },
    jobs: [],
  };
  // On this machine the device is known before the first job, so even an interrupted run records it.
  if (local) results.device = (await local.client.info()).fingerprint;
  // The store records the run as running now and each job as it finishes (local and agents alike).
  const recorder = options.store !== undefined ? await StoreRecorder.open(options.store, results, options.tags ?? [], options.quiet === true) : undefined;
  const out = new RunDirectory(runDir, results, (job) => recorder?.add(job));
  const reporter = options.progress ?? createProgressReporter(options.quiet ? { quiet: true } : local ? {} : { agents: true });
  // The local agent is not named in progress lines, nor recorded in the results.
  const progress: ProgressReporter = local ? withoutAgentNames(reporter) : reporter;
  const clients: AgentClient[] = local ? [local.client] : config.agents.map((def) => connectAgent(def));
  let missingEngine = false;
  let completed = false;
  let summary: DispatchSummary | undefined;
  const withAgent = (r: JobResult, agent: AgentRunState | undefined, attempts: number, notes: string[]): JobResult => {
    if (agent && !local) {
      r.agent = agentRecord(agent, attempts);
      const device = agentDevice(agent);
      if (device) r.device = device;
    }
    if (notes.length > 0) r.notes = [...(r.notes ?? []), ...notes];
    return r;
  };
  // Stopping target floors from the spread between repeats: the job's own once it has two
  // repeats, before that its last stored run on the same device (the agent's fingerprint).
  const storeFloors = new Map<string, Promise<Map<string, TargetFloor>>>();
  const targetFloor = async (job: Job, done: readonly RepeatOutcome[], agent: AgentRunState): Promise<TargetFloor | undefined> => {
    if (done.length >= 2) return nextRepeatTargetFloor(done);
    if (options.store === undefined) return undefined;
    const hash = agentDevice(agent)?.hash;
    const key = hash ?? '';
    let floors = storeFloors.get(key);
    if (!floors) {
      floors = historyTargetFloors(options.store, jobs.map((j) => j.key), hash, results.run.id);
      storeFloors.set(key, floors);
    }
    return (await floors).get(job.key);
  };
  const adaptive = mode === 'benchmark' && adaptiveRepeatsOn(jobs, repeats, options.maxRepeats);
  progress.start(jobs.length * repeats);
  try {
    summary = await dispatch({
      jobs,
      repeats,
      mode,
      agents: clients,
      maxAttempts: config.maxAttempts,
      queueTimeoutMs: config.queueTimeoutMs,
      timeoutGraceMs: config.timeoutGraceMs ?? DEFAULT_TIMEOUT_GRACE_MS,
      progress,
      ...(local ? { matchLabels: false } : {}),
      ...((repeats > 1 || adaptive) && mode === 'benchmark' ? { targetFloor } : {}),
      ...(adaptive ? { moreRepeats: moreRepeatsHook(repeats, options.maxRepeats) } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      onJobEnd: async (r) => {
        const t0 = r.startedAt;
        if (r.kind === 'done') {
          const device = agentDevice(r.agent);
          const result = withAgent(await finishJob(r.job, r.outcomes, t0, device, runDir, options.saveOutputs === true), r.agent, r.attempts, r.notes);
          if (r.repeatsStop && result.status !== 'errored') result.repeatsStop = r.repeatsStop;
          out.addJob(result);
          return summaryOf(result);
        }
        if (r.failure.code === 'E_ENGINE_MISSING' || r.failure.code === 'E_INFRA') missingEngine = true;
        const status = r.failure.code !== undefined && UNSUPPORTED_CODES.has(r.failure.code) ? 'skipped' : r.failure.status;
        const device = r.agent ? agentDevice(r.agent) : undefined;
        out.addJob(withAgent(failedJobResult(r.job, { ...r.failure, status }, t0, device), r.agent, r.attempts, r.notes));
        return `${status}: ${reasonLine(r.failure.reason)}`;
      },
    });
    for (const p of summary.interrupted) {
      const result = await finishJob(p.job, p.outcomes, p.startedAt, agentDevice(p.agent), runDir, options.saveOutputs === true);
      result.reason = `interrupted after ${p.outcomes.length} of ${repeats} repeats`;
      out.addJob(withAgent(result, p.agent, 1, []));
    }
    if (!local) results.run.agents = summary.agents.map((a) => ({
      name: a.def.name,
      url: a.def.url,
      labels: a.labels,
      ...(a.info?.fingerprint.hash !== undefined ? { fingerprintHash: a.info.fingerprint.hash } : {}),
      jobsRun: a.jobsRun,
      ...(a.lost !== undefined ? { lost: a.lost } : {}),
    }));
    const used = new Set(results.jobs.map((j) => j.agent?.name).filter((n) => n !== undefined));
    if (used.size === 1 && !local) {
      const only = summary.agents.find((a) => used.has(a.def.name));
      const device = only ? agentDevice(only) : undefined;
      if (device) results.device = device;
    }
    completed = !options.signal?.aborted;
  } finally {
    progress.stop();
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    if (options.store !== undefined) await attachHistoryNextRun(options.store, results);
    out.finish(completed ? 'complete' : 'interrupted');
  }
  await recorder?.finish();
  // A lost agent whose jobs all ran elsewhere is a warning, not a failed run.
  if (summary.agentProblems) {
    const lost = summary.agents.filter((a) => a.lost !== undefined).map((a) => `${a.def.name} (${a.lost})`);
    process.stderr.write(`benchalign: warning: agent(s) out of the run: ${lost.join('; ')}\n`);
  }
  return { results, runDir, exitCode: !completed ? ExitCode.Infra : runExitCode(results.jobs, missingEngine) };
}

async function finishJob(
  job: Job,
  repeats: RepeatOutcome[],
  startedAt: string,
  device: DeviceFingerprint | undefined,
  runDir: string,
  saveOutputs: boolean,
): Promise<JobResult> {
  let reference: NamedTensors | undefined;
  try {
    reference = await loadReference(job);
  } catch (e) {
    return failedJobResult(job, { status: 'errored', reason: `reference: ${describeError(e)}` }, startedAt, device);
  }
  const result = buildJobResult(job, repeats, startedAt, { ...(reference ? { reference } : {}), ...(device ? { device } : {}) });
  if (saveOutputs && repeats[0]) {
    const rel = join('outputs', `${safeName(job.key)}.safetensors`);
    await mkdir(join(runDir, 'outputs'), { recursive: true });
    await writeSafetensors(join(runDir, rel), repeats[0].outputs, { job: job.key, engine: job.engine.name });
    result.savedOutputs = rel;
  }
  return result;
}

function summaryOf(j: JobResult): string {
  const p50 = j.latency?.percentiles.p50;
  const lat = p50 ? `p50 ${p50.value.toFixed(3)} ms [${p50.low.toFixed(3)}, ${p50.high.toFixed(3)}]` : '';
  const bad = (j.alignment ?? []).find((o) => !o.passed);
  const worst = bad !== undefined ? worstText(bad) : undefined;
  const al = j.alignment ? (bad === undefined ? 'aligned' : `NOT aligned (${bad.name}${worst !== undefined ? `: worst ${worst}` : `: ${bad.reasons[0] ?? 'failed'}`})`) : '';
  const why = j.status === 'errored' || j.status === 'skipped' ? reasonLine(j.reason) : '';
  return [j.status + (j.unstable ? ' (unstable)' : '') + (why !== '' ? `: ${why}` : ''), lat, al].filter(Boolean).join(', ');
}


/** A reporter that drops the agent's name: the local agent of a run without agents. */
function withoutAgentNames(p: ProgressReporter): ProgressReporter {
  return {
    start: (total) => p.start(total),
    addSteps: (steps) => p.addSteps?.(steps),
    jobStarted: (index, label) => p.jobStarted(index, label),
    jobProgress: (progress) => p.jobProgress(progress),
    jobFinished: (label, summary) => p.jobFinished(label, summary),
    stop: () => p.stop(),
  };
}
