/**
 * The `command` engine: any engine's own program (TNN, MACE, benchncnn, a vendor NPU SDK, a
 * device's trtexec...), run by a Node worker (./worker.ts) under a file contract: the model
 * and the inputs as files in, outputs as .npy and per-iteration times out (docs/engines.md).
 * It runs code named in the suite, so it runs only with --allow-programs.
 */
import { BenchalignError } from '../../errors.js';
import type { EngineOptions, ModelRef, PreparedModel } from '../types.js';
import { nodeWorkerCommand, type WorkerCommand } from '../worker-entry.js';
import { WorkerRunner } from '../worker-runner.js';
import { ALLOW_PROGRAMS_ENV, parseCommandOptions, programsAllowed } from './options.js';

export class CommandRunner extends WorkerRunner {
  readonly name = 'command';

  protected workerCommand(): WorkerCommand {
    const cmd = nodeWorkerCommand(import.meta.url, './worker');
    return { ...cmd, env: { ...(cmd.env ?? {}), ...(programsAllowed() ? { [ALLOW_PROGRAMS_ENV]: '1' } : {}) } };
  }

  protected validateOptions(options: Record<string, unknown>): Record<string, unknown> {
    return { ...parseCommandOptions(options) };
  }

  /** The model file is given to the program as it is; refused here already without --allow-programs. */
  override async prepare(model: ModelRef, options: EngineOptions): Promise<PreparedModel> {
    parseCommandOptions(options.options);
    if (!programsAllowed()) {
      throw new BenchalignError('E_CONFIG', 'command: the command engine runs a program named in the suite, and programs are not allowed here', {
        expected: `--allow-programs on benchalign run / benchalign agent (${ALLOW_PROGRAMS_ENV}=1)`,
      });
    }
    return { path: model.path };
  }
}
