/**
 * The Runner of every engine with a Python worker (runner-agents/python/). The worker checks
 * the engine options itself and answers every problem at once (E_CONFIG), so the harness
 * passes them through.
 */
import { existsSync } from 'node:fs';
import type { Availability } from '../types.js';
import type { WorkerCommand } from '../worker-entry.js';
import { WorkerRunner, type WorkerRunnerConfig } from '../worker-runner.js';
import { pythonPath, pythonWorkerCommand } from './env.js';

export abstract class PythonWorkerRunner extends WorkerRunner {
  /** The worker module, `benchalign_worker.<module>`. */
  protected abstract readonly module: string;

  constructor(config: WorkerRunnerConfig = {}) {
    super(config);
  }

  protected workerCommand(): WorkerCommand {
    return pythonWorkerCommand(this.module);
  }

  protected validateOptions(options: Record<string, unknown>): Record<string, unknown> {
    return { ...options };
  }

  override async available(): Promise<Availability> {
    const python = pythonPath();
    if (!existsSync(python)) {
      return { available: false, reason: `no Python engine environment: ${python} does not exist (run: benchalign engines setup)` };
    }
    return super.available();
  }
}
