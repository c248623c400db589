/**
 * FAKE ENGINE, FOR FAULT-INJECTION TESTS ONLY: the `test-fault` runner. Registered only
 * when BENCHALIGN_TEST_ENGINES=1. See ./worker.ts. Runs under `prlimit --core=0` where
 * available (prlimit execs the worker, so the pid stays), so injected crashes leave no core files.
 */
import { existsSync } from 'node:fs';
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
    const cmd = nodeWorkerCommand(import.meta.url, './worker', this.nodeArgs);
    const prlimit = ['/usr/bin/prlimit', '/bin/prlimit'].find((p) => existsSync(p));
    if (prlimit === undefined) return cmd;
    return { ...cmd, command: prlimit, args: ['--core=0', cmd.command, ...cmd.args] };
  }

  protected validateOptions(options: Record<string, unknown>): Record<string, unknown> {
    return { ...parseFaultOptions(options) };
  }
}
