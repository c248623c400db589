import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface RefPercentile {
  value: number;
  low: number;
  high: number;
  lower: number;
  upper: number;
  coverage: number;
  sufficient: boolean;
}

export interface RefSet {
  samples: number[];
  count: number;
  min: number;
  max: number;
  mean: number;
  sd: number;
  percentiles: Record<'p50' | 'p90' | 'p95' | 'p99' | 'p999', RefPercentile>;
}

export interface StatsManifest {
  levels: number[];
  keys: Array<'p50' | 'p90' | 'p95' | 'p99' | 'p999'>;
  confidence: number;
  sets: Record<string, RefSet>;
  mser: Array<{
    set: string;
    options: { batchSize?: number; minDiscard?: number; maxDiscard?: number; maxDiscardFraction?: number };
    discard: number;
    hitMax: boolean;
  }>;
  ranks: Array<{ n: number; p: number; confidence?: number; lower: number; upper: number; coverage: number; sufficient: boolean }>;
  pmf: Array<{ n: number; p: number; k: number; pmf: number }>;
  minSamples: Record<string, number>;
  bootstrap: {
    repeats: number[][];
    resamples: number;
    runs: number;
    lowMean: number[];
    lowSd: number[];
    highMean: number[];
    highSd: number[];
    /** Per level, the R runs' bounds. */
    lowRuns: number[][];
    highRuns: number[][];
    pooledPercentiles: number[];
    p50PerRepeat: number[];
    p99PerRepeat: number[];
    withinOnlyP50: { low: number; high: number };
    hierWidthOverWithinP50: number;
  };
  prng: { seed42: number[]; seed0: number[] };
}

const path = fileURLToPath(new URL('../fixtures/generated/stats/stats.json', import.meta.url));

/** The manifest written by test/fixtures/make_stats.py (run by scripts/setup-test-env.sh). */
export function loadStatsManifest(): StatsManifest {
  return JSON.parse(readFileSync(path, 'utf8')) as StatsManifest;
}

export function relClose(actual: number, expected: number, rel = 1e-12): boolean {
  return Math.abs(actual - expected) <= rel * Math.max(Math.abs(expected), 1e-300);
}
