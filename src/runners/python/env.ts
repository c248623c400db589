/**
 * Where the Python engine workers and their venv live. The workers are the modules of
 * runner-agents/python/benchalign_worker/; the venv is the project's `.venv/` unless
 * BENCHALIGN_VENV (a venv folder) or BENCHALIGN_PYTHON (an interpreter) says otherwise.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WorkerCommand } from '../worker-entry.js';

/** The benchalign package root (the folder holding its package.json). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'benchalign') return dir;
      } catch {
        // not ours; keep walking up
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('benchalign package root not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

/** The venv folder the engines are installed in. */
export function venvDir(): string {
  return resolve(process.env.BENCHALIGN_VENV ?? join(packageRoot(), '.venv'));
}

/** The Python interpreter that runs the engine workers. */
export function pythonPath(): string {
  return process.env.BENCHALIGN_PYTHON ?? join(venvDir(), 'bin', 'python');
}

/** A program installed in the venv (a converter such as `pnnx` or `mnnconvert`). */
export function venvProgram(name: string): string {
  return join(dirname(pythonPath()), name);
}

/** Folder of the `benchalign_worker` package. */
export function pythonWorkersDir(): string {
  return join(packageRoot(), 'runner-agents', 'python');
}

/** The argv that starts the worker module `benchalign_worker.<module>`. */
export function pythonWorkerCommand(module: string): WorkerCommand {
  return {
    command: pythonPath(),
    args: ['-u', '-m', `benchalign_worker.${module}`],
    env: { PYTHONPATH: pythonWorkersDir(), PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' },
  };
}
