/**
 * `benchalign history`, the orchestration: read a job's recorded metric from the store, one series per (job key,
 * device hash), and find its change points (metrics/changepoint). reports/history.ts renders the series.
 */
import { BenchalignError } from '../errors.js';
import { detectChangePoints, type ChangePoint } from '../metrics/changepoint.js';
import { openStore, type HistoryPoint } from '../results/store/store.js';

export const HISTORY_METRICS = ['p50', 'p90', 'p95', 'p99', 'p999', 'mean'] as const;
export type HistoryMetric = (typeof HISTORY_METRICS)[number];

export interface HistoryRequest {
  store: string;
  model?: string;
  engine?: string;
  /** A prefix of the device fingerprint hash. */
  device?: string;
  /** One of HISTORY_METRICS; anything else is a usage error. */
  metric: string;
  /** Only the last n runs of each series. */
  limit?: number;
}

/** A point's value of the metric, with its interval when it has one. */
export interface HistoryValue {
  value: number;
  low?: number;
  high?: number;
}

/** One job on one device over the recorded runs, oldest first. */
export interface HistorySeries {
  key: string;
  model: string;
  engine: string;
  deviceHash: string | null;
  metric: HistoryMetric;
  points: HistoryPoint[];
  /** The metric of each point, undefined where the job measured nothing. */
  values: (HistoryValue | undefined)[];
  changePoints: (ChangePoint & { runId: string })[];
}

function valueOf(p: HistoryPoint, metric: HistoryMetric): HistoryValue | undefined {
  if (!p.latency || (p.status !== 'ok' && p.status !== 'failed')) return undefined;
  if (metric === 'mean') return { value: p.latency.meanMs };
  const e = p.latency.percentiles[metric];
  return { value: e.value, low: e.low, high: e.high };
}

/** The series that match the filter, each with its change points; empty when no recorded job matches. */
export async function history(req: HistoryRequest): Promise<HistorySeries[]> {
  if (!(HISTORY_METRICS as readonly string[]).includes(req.metric)) throw new BenchalignError('E_USAGE', `--metric ${req.metric}`, { expected: HISTORY_METRICS.join(', ') });
  const metric = req.metric as HistoryMetric;
  const store = await openStore(req.store, { mustExist: true });
  let points: HistoryPoint[];
  try {
    points = await store.jobHistory({
      ...(req.model !== undefined ? { model: req.model } : {}),
      ...(req.engine !== undefined ? { engine: req.engine } : {}),
      ...(req.device !== undefined ? { deviceHash: req.device } : {}),
    });
  } finally {
    await store.close();
  }
  const groups = new Map<string, HistoryPoint[]>();
  for (const p of points) {
    const g = `${p.key}\u0000${p.deviceHash ?? ''}`;
    groups.set(g, [...(groups.get(g) ?? []), p]);
  }
  return [...groups.values()].map((all) => {
    const series = req.limit !== undefined && req.limit > 0 ? all.slice(-req.limit) : all;
    const first = series[0] as HistoryPoint;
    const values = series.map((p) => valueOf(p, metric));
    const present = values.map((v, i) => ({ v, i })).filter((x): x is { v: HistoryValue; i: number } => x.v !== undefined);
    const changePoints = detectChangePoints(present.map((x) => x.v.value)).map((c) => ({ ...c, runId: (series[(present[c.index] as { i: number }).i] as HistoryPoint).runId }));
    return { key: first.key, model: first.model, engine: first.engine, deviceHash: first.deviceHash, metric, points: series, values, changePoints };
  });
}
