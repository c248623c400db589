/**
 * Shared by the engine tests: runs the bundled models (suites/models: the CNN and the
 * transformer, with their PyTorch references) on one engine through the real pipeline
 * (runSuite: worker process, warm-up, timing loop, alignment), with short timings.
 */
import { rmSync } from 'node:fs';
import { expect } from 'vitest';
import { runSuite } from '../../src/workflows/run.js';
import type { Precision, RunResults } from '../../src/model/record.js';
import { getRunner } from '../../src/runners/registry.js';
import type { Availability } from '../../src/runners/types.js';
import { cnnModel, tempDir, transformerModel, writeSuite } from '../agents/helpers.js';

/** The engine's availability here; prints why when it is not (its tests then skip). */
export async function engineAvailability(name: string): Promise<Availability> {
  const runner = getRunner(name);
  try {
    const a = await runner.available();
    if (!a.available) console.log(`skipped: engine ${name} is unavailable here: ${a.reason}`);
    return a;
  } finally {
    await runner.dispose?.();
  }
}

export interface EngineRun {
  precision?: Precision;
  options?: Record<string, unknown>;
  /** Model entries (suite form). Default: the bundled CNN and transformer. */
  models?: Record<string, unknown>[];
  /** Extra process environment for the run (e.g. BENCHALIGN_CACHE_DIR). */
  env?: Record<string, string>;
  /** `--allow-programs` (the `command` engine). */
  allowPrograms?: boolean;
}

/** Runs the bundled models on `engine` and returns the results (the run folder is removed). */
export async function runEngineOnBundled(engine: string, run: EngineRun = {}): Promise<RunResults> {
  const dir = tempDir(`engine-${engine}`);
  const saved: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(run.env ?? {})) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
  try {
    const suite = writeSuite(dir, {
      models: run.models ?? [cnnModel({ outputs: { logits: { topK: 5 } } }), transformerModel()],
      engines: [{ name: engine, precision: run.precision ?? 'fp32', options: run.options ?? {} }],
    });
    const { results } = await runSuite({ suitePath: suite, outDir: `${dir}/run`, quiet: true, ...(run.allowPrograms === true ? { allowPrograms: true } : {}) });
    return results;
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/** "model/output: reasons" for every output that did not align, across the jobs. */
export function misaligned(results: RunResults): string[] {
  return results.jobs.flatMap((j) => (j.alignment ?? []).filter((a) => !a.passed).map((a) => `${j.model.name}/${a.name}: ${a.reasons.join('; ')}`));
}

/** Both bundled models ran `ok` on the engine and every compared output aligned. */
export function expectBundledAligned(results: RunResults): void {
  expect(results.jobs.map((j) => [j.model.name, j.status, j.reason])).toEqual([
    ['cnn', 'ok', undefined],
    ['transformer', 'ok', undefined],
  ]);
  expect(misaligned(results)).toEqual([]);
}
