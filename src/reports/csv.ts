/** results.csv: one row per job and output (jobs without outputs get one row). */
import { stringify } from 'csv-stringify/sync';
import type { JobResult, RunResults } from '../model/record.js';
import { outputFigure } from './summary.js';

const COLUMNS = [
  'run_id', 'model', 'model_sha256', 'engine', 'engine_version', 'precision', 'effective_precision', 'status', 'reason', 'unstable',
  'cold_start_ms', 'convert_ms', 'tune_ms', 'first_inference_ms',
  'samples', 'repeats', 'min_ms', 'mean_ms', 'sd_ms', 'max_ms',
  'p50_ms', 'p50_ci_low_ms', 'p50_ci_high_ms', 'p90_ms', 'p95_ms',
  'p99_ms', 'p99_ci_low_ms', 'p99_ci_high_ms', 'p999_ms',
  'throughput_items_per_s', 'peak_rss_bytes', 'inference_rss_increase_bytes', 'cpu_pct_mean',
  'gpu_util_pct_mean', 'gpu_mem_peak_bytes', 'energy_per_inference_j',
  'output', 'aligned', 'max_abs_error', 'mean_abs_error', 'max_rel_error', 'rmse', 'cosine', 'snr_db',
  'mismatch_count', 'mismatch_pct', 'top1_agreement',
] as const;

type Row = Record<(typeof COLUMNS)[number], string | number | boolean | undefined>;

function jobColumns(runId: string, j: JobResult): Omit<Row, 'output' | 'aligned' | 'max_abs_error' | 'mean_abs_error' | 'max_rel_error' | 'rmse' | 'cosine' | 'snr_db' | 'mismatch_count' | 'mismatch_pct' | 'top1_agreement'> {
  const l = j.latency;
  const p = l?.percentiles;
  const single = (j.throughput ?? []).find((t) => t.concurrency === 1);
  return {
    run_id: runId,
    model: j.model.name,
    model_sha256: j.model.sha256,
    engine: j.engine.name,
    engine_version: j.engine.version,
    precision: j.engine.precision,
    effective_precision: j.engine.effectivePrecision ?? j.engine.precision,
    status: j.status,
    reason: j.reason,
    unstable: j.unstable ?? false,
    cold_start_ms: j.coldStart?.totalMs,
    convert_ms: j.coldStart?.convertMs,
    tune_ms: j.coldStart?.tuneMs,
    first_inference_ms: j.firstInferenceMs,
    samples: l?.count,
    repeats: l?.repeats,
    min_ms: l?.minMs,
    mean_ms: l?.meanMs,
    sd_ms: l?.sdMs,
    max_ms: l?.maxMs,
    p50_ms: p?.p50.value,
    p50_ci_low_ms: p?.p50.low,
    p50_ci_high_ms: p?.p50.high,
    p90_ms: p?.p90.value,
    p95_ms: p?.p95.value,
    p99_ms: p?.p99.value,
    p99_ci_low_ms: p?.p99.low,
    p99_ci_high_ms: p?.p99.high,
    p999_ms: p?.p999.value,
    throughput_items_per_s: single?.itemsPerSec,
    peak_rss_bytes: j.resources?.peakRssBytes,
    inference_rss_increase_bytes: j.resources?.inferencePeakIncreaseBytes,
    cpu_pct_mean: j.resources?.cpuPctMean,
    gpu_util_pct_mean: j.resources?.gpuUtilPctMean,
    gpu_mem_peak_bytes: j.resources?.gpuMemPeakBytes,
    energy_per_inference_j: j.resources?.energyPerInferenceJ,
  };
}

export function toCsv(results: RunResults): string {
  const rows: Row[] = [];
  for (const j of results.jobs) {
    const base = jobColumns(results.run.id, j);
    const outs = j.alignment ?? [];
    if (outs.length === 0) {
      rows.push({ ...base, output: undefined, aligned: undefined, max_abs_error: undefined, mean_abs_error: undefined, max_rel_error: undefined, rmse: undefined, cosine: undefined, snr_db: undefined, mismatch_count: undefined, mismatch_pct: undefined, top1_agreement: undefined });
      continue;
    }
    for (const o of outs) {
      rows.push({
        ...base,
        output: o.name,
        aligned: o.passed,
        max_abs_error: outputFigure(o, o.maxAbsError),
        mean_abs_error: outputFigure(o, o.meanAbsError),
        max_rel_error: outputFigure(o, o.maxRelError),
        rmse: outputFigure(o, o.rmse),
        cosine: outputFigure(o, o.cosine),
        snr_db: outputFigure(o, o.snrDb),
        mismatch_count: o.mismatchCount,
        mismatch_pct: o.mismatchPct,
        top1_agreement: o.topk?.top1Agreement,
      });
    }
  }
  return stringify(rows, { header: true, columns: [...COLUMNS], cast: { boolean: (b) => (b ? 'true' : 'false') } });
}
