/**
 * Which agents may run a job: the job's labels (suite, model and engine `agents.labels`)
 * plus what its engine needs of a device (tensorrt: gpu=nvidia), against each agent's labels
 * (configured, merged with those the agent reports: arch, os, gpu and its --labels).
 */
import { engineRequirements } from '../runners/registry.js';
import type { Job } from '../model/job.js';

/** Device needs of engines that do not declare their own `requires` in the registry. */
export const DEFAULT_ENGINE_REQUIRES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  tensorrt: { gpu: 'nvidia' },
};

/** The labels an agent needs to run `job`. */
export function jobNeeds(job: Job): Record<string, string> {
  return { ...(engineRequirements(job.engine.name) ?? DEFAULT_ENGINE_REQUIRES[job.engine.name]), ...job.agentLabels };
}

/** An agent's labels: the configured ones, overridden by those the agent reports about itself. */
export function effectiveLabels(configured: Record<string, string>, reported: Record<string, string> | undefined): Record<string, string> {
  return { ...configured, ...reported };
}

/** True when every needed label is present with the same value ("*": present with any value). */
export function labelsMatch(agent: Record<string, string>, needs: Record<string, string>): boolean {
  return Object.entries(needs).every(([k, v]) => Object.hasOwn(agent, k) && (v === '*' || agent[k] === v));
}

/** `k=v, k2=v2`, for messages. */
export function formatLabels(labels: Record<string, string>): string {
  const e = Object.entries(labels);
  return e.length === 0 ? '(none)' : e.map(([k, v]) => `${k}=${v}`).join(', ');
}

/** The needed labels an agent lacks, `k=v (has k=w)`, for messages. */
export function missingLabels(agent: Record<string, string>, needs: Record<string, string>): string[] {
  return Object.entries(needs)
    .filter(([k, v]) => !(Object.hasOwn(agent, k) && (v === '*' || agent[k] === v)))
    .map(([k, v]) => `${k}=${v}${Object.hasOwn(agent, k) ? ` (has ${k}=${agent[k]})` : ''}`);
}
