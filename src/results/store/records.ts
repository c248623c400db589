/**
 * The mapping between a RunResults record and the store's rows, shared by both backends
 * (SQLite and PostgreSQL): they only run SQL. A run becomes one `runs` row (the record without
 * its jobs, as JSON, plus the columns queries filter on), one `jobs` row per job (the job
 * without latency, samples and alignment, as JSON), one `measurements` row per measured job
 * (raw samples through samples-codec, the latency summary as JSON) and one `alignment` row per
 * output. Reading the rows back gives the record exactly as JSON would (undefined fields
 * absent, non-finite numbers as null).
 */
import { hostname } from 'node:os';
import type { OutputAlignment } from '../../model/alignment.js';
import type { LatencyStats } from '../../model/measurements.js';
import type { JobResult, JobStatus, RunResults } from '../../model/record.js';
import { gitInfo } from './git.js';
import { decodeSamples, encodeSamples } from './samples-codec.js';
import type { HistoryPoint, RecordOptions, RunSummary } from './types.js';

/** A row's primary key: a number in SQLite, a string (bigint) in PostgreSQL; only passed back. */
export type Pk = number | string;

export const RUN_COLUMNS = ['run_id', 'suite_name', 'suite_path', 'suite_sha256', 'git_commit', 'git_branch', 'started_at', 'ended_at', 'host', 'status', 'recorded_at', 'run_json'] as const;
export const JOB_COLUMNS = ['run_pk', 'ord', 'job_key', 'model_name', 'model_sha256', 'engine_name', 'engine_version', 'engine_options_json', 'precision', 'device_hash', 'device_json', 'status', 'reason', 'job_json'] as const;
/** Migration 2 adds p50_ms and p99_ms. */
export const MEASUREMENT_COLUMNS = ['job_pk', 'repeats', 'sample_count', 'samples', 'summary_json', 'p50_ms', 'p99_ms'] as const;
export const ALIGNMENT_COLUMNS = ['job_pk', 'ord', 'output_name', 'passed', 'metrics_json'] as const;

type Row<C extends readonly string[]> = Record<C[number], unknown>;
export type RunValues = Row<typeof RUN_COLUMNS>;
export type JobValues = Omit<Row<typeof JOB_COLUMNS>, 'run_pk'>;
export type MeasurementValues = Omit<Row<typeof MEASUREMENT_COLUMNS>, 'job_pk'>;
export type AlignmentValues = Omit<Row<typeof ALIGNMENT_COLUMNS>, 'job_pk'>;

/** Everything one recordRun writes, as column values. */
export interface RunRows {
  run: RunValues;
  tags: string[];
  /** ISO time of recording (also each tag's time). */
  now: string;
  jobs: Array<{ job: JobValues; measurement?: MeasurementValues; alignment: AlignmentValues[] }>;
}

function finiteOrNull(v: number | undefined): number | null {
  return v !== undefined && Number.isFinite(v) ? v : null;
}

/** The rows of a run (JSON-normalised first, so what is stored is what results.json holds). */
export function toRows(results: RunResults, options: RecordOptions = {}): RunRows {
  const git = options.git ?? gitInfo();
  const now = new Date().toISOString();
  const { jobs, ...runPart } = JSON.parse(JSON.stringify(results)) as RunResults;
  return {
    now,
    tags: [...new Set(options.tags ?? [])],
    run: {
      run_id: results.run.id,
      suite_name: results.suite.name,
      suite_path: results.suite.path,
      suite_sha256: results.suite.sha256,
      git_commit: git.commit,
      git_branch: git.branch,
      started_at: results.run.startedAt,
      ended_at: results.run.endedAt ?? null,
      host: results.device?.hostname ?? hostname(),
      status: results.run.status,
      recorded_at: now,
      run_json: JSON.stringify(runPart),
    },
    jobs: jobs.map((job, ord) => {
      const { latency, samplesNs, alignment, ...rest } = job;
      const measured = latency !== undefined || samplesNs !== undefined;
      return {
        job: {
          ord,
          job_key: job.key,
          model_name: job.model.name,
          model_sha256: job.model.sha256,
          engine_name: job.engine.name,
          engine_version: job.engine.version ?? null,
          engine_options_json: JSON.stringify(job.engine.options),
          precision: job.engine.precision,
          device_hash: job.device?.hash ?? null,
          device_json: job.device ? JSON.stringify(job.device) : null,
          status: job.status,
          reason: job.reason ?? null,
          job_json: JSON.stringify(rest),
        },
        ...(measured
          ? {
              measurement: {
                repeats: samplesNs?.length ?? latency?.repeats ?? 0,
                sample_count: samplesNs ? samplesNs.reduce((a, r) => a + r.length, 0) : (latency?.count ?? 0),
                samples: samplesNs !== undefined ? Buffer.from(encodeSamples(samplesNs)) : null,
                summary_json: latency !== undefined ? JSON.stringify(latency) : null,
                p50_ms: finiteOrNull(latency?.percentiles.p50.value),
                p99_ms: finiteOrNull(latency?.percentiles.p99.value),
              },
            }
          : {}),
        alignment: (alignment ?? []).map((o, i) => ({ ord: i, output_name: o.name, passed: o.passed ? 1 : 0, metrics_json: JSON.stringify(o) })),
      };
    }),
  };
}

export interface RunRow {
  pk: Pk;
  run_id: string;
  suite_name: string;
  suite_sha256: string;
  git_commit: string | null;
  git_branch: string | null;
  started_at: string;
  ended_at: string | null;
  host: string | null;
  status: string;
  run_json: string;
}

export interface JobReadRow {
  pk: Pk;
  job_json: string;
  samples: Uint8Array | null;
  summary_json: string | null;
}

export interface AlignmentReadRow {
  job_pk: Pk;
  metrics_json: string;
}

/** The RunResults a run row, its job rows (in order) and their alignment rows (in order) hold. */
export function fromRows(run: Pick<RunRow, 'run_json'>, jobRows: readonly JobReadRow[], alignmentRows: readonly AlignmentReadRow[]): RunResults {
  const byJob = new Map<string, OutputAlignment[]>();
  for (const a of alignmentRows) {
    const k = String(a.job_pk);
    byJob.set(k, [...(byJob.get(k) ?? []), JSON.parse(a.metrics_json) as OutputAlignment]);
  }
  const jobs: JobResult[] = jobRows.map((r) => {
    const job = JSON.parse(r.job_json) as JobResult;
    if (r.summary_json !== null) job.latency = JSON.parse(r.summary_json) as LatencyStats;
    if (r.samples !== null) job.samplesNs = decodeSamples(new Uint8Array(r.samples.buffer, r.samples.byteOffset, r.samples.byteLength));
    const al = byJob.get(String(r.pk));
    if (al !== undefined) job.alignment = al;
    return job;
  });
  const head = JSON.parse(run.run_json) as Omit<RunResults, 'jobs'>;
  return { ...head, jobs };
}

export function toRunSummary(r: RunRow & { njobs: number | string }, tags: string[]): RunSummary {
  return {
    id: r.run_id,
    suiteName: r.suite_name,
    suiteSha256: r.suite_sha256,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    status: r.status,
    host: r.host,
    gitCommit: r.git_commit,
    gitBranch: r.git_branch,
    tags,
    jobs: Number(r.njobs),
  };
}

export interface HistoryRow {
  run_pk: Pk;
  run_id: string;
  started_at: string;
  git_commit: string | null;
  job_key: string;
  model_name: string;
  engine_name: string;
  engine_version: string | null;
  device_hash: string | null;
  status: JobStatus;
  summary_json: string | null;
}

export function toHistoryPoint(r: HistoryRow, tags: string[]): HistoryPoint {
  const p: HistoryPoint = {
    runId: r.run_id,
    startedAt: r.started_at,
    tags,
    gitCommit: r.git_commit,
    key: r.job_key,
    model: r.model_name,
    engine: r.engine_name,
    engineVersion: r.engine_version,
    deviceHash: r.device_hash,
    status: r.status,
  };
  if (r.summary_json !== null) p.latency = JSON.parse(r.summary_json) as LatencyStats;
  return p;
}
