/**
 * How to start a Node worker that sits next to the calling module. Compiled code (dist/)
 * runs the sibling `.js` file with `node`; TypeScript sources (vitest, tsx) run the sibling
 * `.ts` file with `node --import tsx`. Always an argv array, never a shell.
 */
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface WorkerCommand {
  /** Executable path. */
  command: string;
  args: string[];
  /** Extra environment variables for the worker. */
  env?: Record<string, string>;
}

/**
 * @param callerUrl `import.meta.url` of the module next to the worker
 * @param relPath the worker's path relative to the caller, without extension (`./worker`)
 * @param nodeArgs Node flags placed before the script (e.g. `--max-old-space-size=64`)
 */
export function nodeWorkerCommand(callerUrl: string, relPath: string, nodeArgs: readonly string[] = []): WorkerCommand {
  const fromSources = callerUrl.endsWith('.ts');
  const script = fileURLToPath(new URL(`${relPath}${fromSources ? '.ts' : '.js'}`, callerUrl));
  if (!fromSources) return { command: process.execPath, args: [...nodeArgs, script] };
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return { command: process.execPath, args: [...nodeArgs, '--import', tsx, script] };
}
