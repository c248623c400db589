/**
 * A job: one model on one engine configuration, with everything a run needs to execute it.
 * `expandJobs` (src/suite/matrix.ts) makes them; execution, agents, results and reports read them.
 */
import type { ModelRef } from './model-ref.js';
import type { Precision } from './record.js';
import type { Budgets, InputsSpec, Measurement, PartialTolerance, ReferenceSpec } from './suite.js';

/** Settings of one output in a job: tolerance overrides merged from the suite and the model. */
export interface JobOutputSettings extends PartialTolerance {
  /** False: the output is not compared. Default true. */
  compare?: boolean;
}

export interface JobModel extends ModelRef {
  /** Absolute path of the model file. */
  path: string;
  /** sha256 of the model file. */
  sha256: string;
  /** Pinned input shapes by input name; empty when none. */
  shapes: Record<string, number[]>;
  inputs: InputsSpec;
  /** Absent: timing only, no alignment. */
  reference?: ReferenceSpec;
  /**
   * Per-output settings by output name, plus "*" for every other output. Each entry already
   * merges, in increasing priority: suite `tolerances["*"]`, suite `tolerances[name]`, model
   * `outputs["*"]`, model `outputs[name]`. Precision defaults still apply under them; use
   * `outputSettings(job, name)`.
   */
  outputs: Record<string, JobOutputSettings>;
  budgets?: Budgets;
}

export interface JobEngine {
  name: string;
  precision: Precision;
  options: Record<string, unknown>;
  label?: string;
}

export interface Job {
  /**
   * Labels a runner agent needs for this job: the suite's, the model's and the engine's
   * `agents.labels`, merged. Absent: any agent. (The engine's own needs, such as tensorrt's
   * gpu=nvidia, are added by the dispatcher.)
   */
  agentLabels?: Record<string, string>;
  /** Stable and unique in the run: `<model>/<engine>/<precision>`, plus `/<label>` or `/opt-<hash8>` when the suite has several configurations of that engine and precision. */
  key: string;
  model: JobModel;
  engine: JobEngine;
  measurement: Measurement;
}

