/**
 * ONNX Runtime engine options: what a suite may set under `engines[].options`, checked and
 * completed with defaults. Pure; used by the runner (in the harness) and again by the worker.
 */
import { BenchalignError } from '../../errors.js';

export const EXECUTION_PROVIDERS = ['cpu', 'cuda', 'tensorrt'] as const;
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];
export const GRAPH_OPTIMIZATION_LEVELS = ['disabled', 'basic', 'extended', 'all'] as const;
export const EXECUTION_MODES = ['sequential', 'parallel'] as const;

/** ONNX Runtime options, all optional in a suite. */
export interface OrtOptions {
  /** Execution providers in priority order. Default `['cpu']`. cuda/tensorrt need their provider libraries. */
  executionProviders: ExecutionProvider[];
  /**
   * Threads of the intra-op pool. Default 1: one thread gives reproducible latencies on a
   * shared machine. 0 lets ONNX Runtime choose (one per physical core).
   */
  intraOpThreads: number;
  /** Threads of the inter-op pool (used in `parallel` mode). Default 1; 0 lets ONNX Runtime choose. */
  interOpThreads: number;
  /** Graph optimization level. Default `'all'`. */
  graphOptimizationLevel: (typeof GRAPH_OPTIMIZATION_LEVELS)[number];
  /** Operator scheduling. Default `'sequential'`. */
  executionMode: (typeof EXECUTION_MODES)[number];
}

export const ORT_DEFAULTS: OrtOptions = {
  executionProviders: ['cpu'],
  intraOpThreads: 1,
  interOpThreads: 1,
  graphOptimizationLevel: 'all',
  executionMode: 'sequential',
};

const KEYS = Object.keys(ORT_DEFAULTS);

/** Validates `raw` and fills defaults; throws E_CONFIG listing every problem, each with its key. */
export function parseOrtOptions(raw: Record<string, unknown>): OrtOptions {
  const problems: string[] = [];
  const out: OrtOptions = { ...ORT_DEFAULTS, executionProviders: [...ORT_DEFAULTS.executionProviders] };
  for (const key of Object.keys(raw)) {
    if (!KEYS.includes(key)) problems.push(`options.${key}: unknown option (expected one of ${KEYS.join('|')})`);
  }
  const eps = raw.executionProviders;
  if (eps !== undefined) {
    if (!Array.isArray(eps) || eps.length === 0) {
      problems.push(`options.executionProviders: expected a non-empty list of ${EXECUTION_PROVIDERS.join('|')}`);
    } else {
      eps.forEach((ep, i) => {
        if (!(EXECUTION_PROVIDERS as readonly unknown[]).includes(ep)) {
          problems.push(`options.executionProviders[${i}]: expected one of ${EXECUTION_PROVIDERS.join('|')}, got ${JSON.stringify(ep)}`);
        }
      });
      out.executionProviders = eps as ExecutionProvider[];
    }
  }
  for (const key of ['intraOpThreads', 'interOpThreads'] as const) {
    const v = raw[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 1024) {
      problems.push(`options.${key}: expected an integer 0..1024 (0 = ONNX Runtime's default), got ${JSON.stringify(v)}`);
    } else out[key] = v;
  }
  const choose = <K extends 'graphOptimizationLevel' | 'executionMode'>(key: K, allowed: readonly OrtOptions[K][]): void => {
    const v = raw[key];
    if (v === undefined) return;
    if (!(allowed as readonly unknown[]).includes(v)) {
      problems.push(`options.${key}: expected one of ${allowed.join('|')}, got ${JSON.stringify(v)}`);
    } else out[key] = v as OrtOptions[K];
  };
  choose('graphOptimizationLevel', GRAPH_OPTIMIZATION_LEVELS);
  choose('executionMode', EXECUTION_MODES);
  if (problems.length > 0) {
    throw new BenchalignError('E_CONFIG', `invalid onnxruntime options:\n  ${problems.join('\n  ')}`);
  }
  return out;
}
