/** Throughput from wall time (pure). */
import { BenchalignError } from '../errors.js';
import { percentileOfSorted, sortSamples } from './percentile.js';
import type { ThroughputPoint } from '../model/measurements.js';

/** Items per second from a count and the wall time that processed them, ms. */
export function itemsPerSec(items: number, wallMs: number): number {
  if (!(wallMs > 0)) {
    throw new BenchalignError('E_USAGE', `wall time ${wallMs} ms`, { expected: 'a positive wall time' });
  }
  return items / (wallMs / 1000);
}

/** One measured throughput batch. */
export interface ThroughputBatch {
  /** Concurrent in-flight requests. */
  concurrency: number;
  /** Items per request. */
  batchSize: number;
  /** Wall time of the whole batch, ns. */
  wallNs: number;
  /** Per-request latencies, ms (one per request). */
  latenciesMs: readonly number[];
}

/** Throughput point: items/s = requests * batchSize / wall time; p50 of the request latencies. */
export function throughputPoint(batch: ThroughputBatch): ThroughputPoint {
  const requests = batch.latenciesMs.length;
  if (requests === 0) throw new BenchalignError('E_USAGE', 'no requests in the throughput batch', { expected: 'at least one' });
  return {
    concurrency: batch.concurrency,
    batchSize: batch.batchSize,
    itemsPerSec: itemsPerSec(requests * batch.batchSize, batch.wallNs / 1e6),
    p50Ms: percentileOfSorted(sortSamples(batch.latenciesMs), 0.5),
    requests,
  };
}
