/**
 * The ONNX Runtime runner: onnxruntime-node in a Node worker process (./worker.ts).
 * Options: see {@link OrtOptions}.
 */
import { nodeWorkerCommand, type WorkerCommand } from '../worker-entry.js';
import { WorkerRunner, type WorkerRunnerConfig } from '../worker-runner.js';
import { parseOrtOptions } from './options.js';

export class OnnxRuntimeRunner extends WorkerRunner {
  readonly name = 'onnxruntime';

  constructor(config: WorkerRunnerConfig = {}) {
    super(config);
  }

  protected workerCommand(): WorkerCommand {
    return nodeWorkerCommand(import.meta.url, './worker');
  }

  protected validateOptions(options: Record<string, unknown>): Record<string, unknown> {
    return { ...parseOrtOptions(options) };
  }
}
