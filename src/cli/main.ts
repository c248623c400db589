/**
 * The CLI entry: commander parses, one core function acts, and only this file maps errors
 * to exit codes.
 */
import { Command, CommanderError } from 'commander';
import { BenchalignError, ExitCode } from '../errors.js';
import { VERSION } from '../version.js';
import { registerAgents } from './commands/agents.js';
import { registerAlign } from './commands/align.js';
import { registerCompare } from './commands/compare.js';
import { registerEngines } from './commands/engines.js';
import { registerHistory } from './commands/history.js';
import { registerInspect } from './commands/inspect.js';
import { registerLocalize } from './commands/localize.js';
import { registerRefs } from './commands/refs.js';
import { registerRegress } from './commands/regress.js';
import { registerRun } from './commands/run.js';
import { registerRuns } from './commands/runs.js';
import { registerSignoff } from './commands/signoff.js';
import { registerZoo } from './commands/zoo.js';

/** Registers more commands: applications built on src/ (the runner agent) add theirs this way. */
export type RegisterCommand = (program: Command) => void;

export function buildProgram(extraCommands: readonly RegisterCommand[] = []): Command {
  const program = new Command();
  program
    .name('benchalign')
    .description('Benchmark inference engines and check their outputs against PyTorch references')
    .version(VERSION)
    .exitOverride()
    .showHelpAfterError();
  // commands: one register call per line
  registerAlign(program);
  registerRun(program);
  registerInspect(program);
  registerCompare(program);
  registerHistory(program);
  registerRegress(program);
  registerSignoff(program);
  registerEngines(program);
  registerRefs(program);
  for (const register of extraCommands) register(program);
  registerAgents(program);
  registerLocalize(program);
  registerZoo(program);
  registerRuns(program);
  return program;
}

/** Runs the CLI and returns the process exit code. */
export async function main(argv: string[], extraCommands: readonly RegisterCommand[] = []): Promise<number> {
  const program = buildProgram(extraCommands);
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.Ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return ExitCode.Ok;
      return ExitCode.Usage;
    }
    if (e instanceof BenchalignError) {
      process.stderr.write(`benchalign: error [${e.code}] ${e.message}\n`);
      if (e.code === 'E_INTERNAL') process.stderr.write(`${e.stack ?? ''}\n`);
      return e.exitCode;
    }
    process.stderr.write(`benchalign: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return ExitCode.Infra;
  }
}
