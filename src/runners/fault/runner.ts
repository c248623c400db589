/**
 * FAKE ENGINE, FOR FAULT-INJECTION TESTS ONLY: the `test-fault` runner. Registered only
 * when BENCHALIGN_TEST_ENGINES=1. See ./worker.ts.
 */
import { nodeWorkerCommand, type WorkerCommand } from '../worker-entry.js';
import { WorkerRunner, type WorkerRunnerConfig } from '../worker-runner.js';
import { parseFaultOptions } from './options.js';

export interface FaultRunnerConfig extends WorkerRunnerConfig {
  /** Node flags for the fake worker, e.g. `['--max-old-space-size=64']`. */
  nodeArgs?: string[];
}

export class FaultRunner extends WorkerRunner {
  readonly name = 'test-fault';
  private readonly nodeArgs: string[];

  constructor(config: FaultRunnerConfig = {}) {
    super(config);
    this.nodeArgs = config.nodeArgs ?? [];
  }

  protected workerCommand(): WorkerCommand {
    return nodeWorkerCommand(import.meta.url, './worker', this.nodeArgs);
  }

  protected validateOptions(options: Record<string, unknown>): Record<string, unknown> {
    return { ...parseFaultOptions(options) };
  }
}
