/**
 * Expanding a loaded suite into its job matrix: one job per model × engine configuration,
 * in suite order (model-major), each with everything a run needs to execute it.
 */
import { createHash } from 'node:crypto';
import { BenchalignError } from '../errors.js';
import type { Job, JobEngine, JobModel, JobOutputSettings } from '../model/job.js';
import type { Suite, SuiteEngine, ToleranceOverride } from '../model/suite.js';

export interface ExpandOptions {
  /** Keep only engines with these names (`--engines`). Unknown names are an E_USAGE error. */
  engines?: readonly string[];
  /** Keep only models with these names, or whose names start with `<name>/`. Unknown names are an E_USAGE error. */
  models?: readonly string[];
}

function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** Short hash of engine options, as used in job keys. */
export function optionsHash(options: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson(options)).digest('hex').slice(0, 8);
}

function engineKeys(engines: readonly SuiteEngine[]): string[] {
  const counts = new Map<string, number>();
  for (const e of engines) counts.set(`${e.name}/${e.precision}`, (counts.get(`${e.name}/${e.precision}`) ?? 0) + 1);
  return engines.map((e) => {
    const base = `${e.name}/${e.precision}`;
    if ((counts.get(base) ?? 0) < 2 && e.label === undefined) return base;
    return `${base}/${e.label ?? `opt-${optionsHash(e.options)}`}`;
  });
}

function mergeOutputs(suite: Record<string, ToleranceOverride>, model: Record<string, JobOutputSettings>): Record<string, JobOutputSettings> {
  const names = new Set([...Object.keys(suite), ...Object.keys(model), '*']);
  const out: Record<string, JobOutputSettings> = {};
  for (const name of names) {
    const merged: JobOutputSettings = { ...suite['*'], ...(name !== '*' ? suite[name] : {}), ...model['*'], ...(name !== '*' ? model[name] : {}) };
    for (const k of Object.keys(merged) as Array<keyof JobOutputSettings>) if (merged[k] === undefined) delete merged[k];
    if (name === '*' || Object.keys(merged).length > 0) out[name] = merged;
  }
  return out;
}

function unknownNames(asked: readonly string[], available: string[], what: string, flag: string, matches: (a: string) => boolean): void {
  const missing = asked.filter((a) => !matches(a));
  if (missing.length === 0) return;
  throw new BenchalignError('E_USAGE', `${flag}: ${what} not in the suite: ${missing.join(', ')}`, { expected: `one of ${available.join(', ')}` });
}

/** The job matrix of a suite, optionally filtered by engine and model names. */
export function expandJobs(suite: Suite, options: ExpandOptions = {}): Job[] {
  const engineNames = [...new Set(suite.engines.map((e) => e.name))];
  if (options.engines !== undefined) unknownNames(options.engines, engineNames, 'engine', '--engines', (a) => engineNames.includes(a));
  const modelNames = suite.models.map((m) => m.name);
  const modelMatch = (filter: string, name: string) => name === filter || name.startsWith(`${filter}/`);
  if (options.models !== undefined) unknownNames(options.models, modelNames, 'model', '--models', (a) => modelNames.some((n) => modelMatch(a, n)));
  const keys = engineKeys(suite.engines);
  const jobs: Job[] = [];
  for (const m of suite.models) {
    if (options.models !== undefined && !options.models.some((f) => modelMatch(f, m.name))) continue;
    const model: JobModel = {
      name: m.name,
      path: m.path,
      sha256: m.sha256,
      shapes: m.shapes,
      inputs: m.inputs,
      outputs: mergeOutputs(suite.tolerances, m.outputs),
    };
    if (m.reference !== undefined) model.reference = m.reference;
    if (m.budgets !== undefined) model.budgets = m.budgets;
    if (m.pytorch !== undefined) model.pytorch = m.pytorch;
    suite.engines.forEach((e, j) => {
      if (options.engines !== undefined && !options.engines.includes(e.name)) return;
      const engine: JobEngine = { name: e.name, precision: e.precision, options: e.options };
      if (e.label !== undefined) engine.label = e.label;
      const job: Job = { key: `${m.name}/${keys[j] ?? e.name}`, model: { ...model }, engine, measurement: m.measurement };
      const labels = { ...suite.agents?.labels, ...m.agentLabels, ...e.agentLabels };
      if (Object.keys(labels).length > 0) job.agentLabels = labels;
      jobs.push(job);
    });
  }
  return jobs;
}

/** The settings of output `name` in a job: its own entry, or the "*" entry. */
export function outputSettings(job: Job, name: string): JobOutputSettings {
  return job.model.outputs[name] ?? job.model.outputs['*'] ?? {};
}
