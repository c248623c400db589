/**
 * The `command` engine: any engine's own program (TNN, MACE, benchncnn, a vendor NPU SDK, a
 * device's trtexec...), run by a Node worker (./worker.ts) under a file contract: the model
 * and the inputs as files in, outputs as .npy and per-iteration times out (docs/engines.md).
 * It runs code named in the suite, so it runs only with --allow-programs, which reaches it as
 * the runner config's `allowPrograms` (from runSuite's local agent, or from the agent's options).
 */
import { BenchalignError } from '../../errors.js';
import type { EngineOptions, PreparedModel } from '../types.js';
import type { ModelRef } from '../../model/model-ref.js';
import { nodeWorkerCommand, type WorkerCommand } from '../worker-entry.js';
import { WorkerRunner } from '../worker-runner.js';
import { ALLOW_PROGRAMS_ENV, parseCommandOptions } from './options.js';

export class CommandRunner extends WorkerRunner {
  readonly name = 'command';

  protected workerCommand(): WorkerCommand {
    const cmd = nodeWorkerCommand(import.meta.url, './worker');
    // The worker checks again; the variable is always set, so an inherited one cannot allow it.
    return { ...cmd, env: { ...(cmd.env ?? {}), [ALLOW_PROGRAMS_ENV]: this.programsAllowed() ? '1' : '0' } };
  }

  private programsAllowed(): boolean {
    return this.config.allowPrograms === true;
  }

  protected validateOptions(options: Record<string, unknown>): Record<string, unknown> {
    return { ...parseCommandOptions(options) };
  }

  /** The model file is given to the program as it is; refused here already without --allow-programs. */
  override async prepare(model: ModelRef, options: EngineOptions): Promise<PreparedModel> {
    parseCommandOptions(options.options);
    if (!this.programsAllowed()) {
      throw new BenchalignError('E_CONFIG', 'command: the command engine runs a program named in the suite, and programs are not allowed here', {
        expected: '--allow-programs on benchalign run (this machine) / benchalign agent serve|stdio (an agent)',
      });
    }
    return { path: model.path };
  }
}
