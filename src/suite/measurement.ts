import type { MeasurementEntry } from './schema.js';
import type { Measurement } from '../model/suite.js';
import { DEFAULT_MEASUREMENT } from '../model/suite.js';

/** The defaults overridden by each layer in turn, field by field (warm-up fields too). */
export function resolveMeasurement(...layers: Array<MeasurementEntry | undefined>): Measurement {
  const out: Measurement = {
    ...DEFAULT_MEASUREMENT,
    warmup: { ...DEFAULT_MEASUREMENT.warmup },
    concurrency: [...DEFAULT_MEASUREMENT.concurrency],
    batchSizes: [...DEFAULT_MEASUREMENT.batchSizes],
  };
  for (const layer of layers) {
    if (layer === undefined) continue;
    const { warmup, ...rest } = layer;
    for (const [k, v] of Object.entries(rest)) if (v !== undefined) (out as unknown as Record<string, unknown>)[k] = Array.isArray(v) ? [...v] : v;
    if (warmup !== undefined) for (const [k, v] of Object.entries(warmup)) if (v !== undefined) (out.warmup as Record<string, number>)[k] = v;
  }
  return out;
}

/** Pairs that must satisfy low <= high, as [low field, high field]; warm-up fields are prefixed "warmup.". */
export const MEASUREMENT_BOUNDS: ReadonlyArray<readonly [string, string]> = [
  ['minDurationMs', 'maxDurationMs'],
  ['minIterations', 'maxIterations'],
  ['warmup.minIterations', 'warmup.maxIterations'],
];

export function measurementField(m: Measurement, field: string): number {
  const [a, b] = field.split('.');
  const v = b !== undefined ? (m as unknown as Record<string, Record<string, number>>)[a ?? '']?.[b] : (m as unknown as Record<string, number>)[a ?? ''];
  return v ?? NaN;
}
