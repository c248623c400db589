/**
 * Options of the `command` engine: the user's own program, run once per `infer` and once per
 * `measure` batch under the contract of docs/engines.md ("An engine that is a program").
 */
import { BenchalignError } from '../../errors.js';

export interface CommandOptions {
  /** The program and its fixed arguments, as an argv array (never a shell line). */
  program: string[];
  /** Kill a run of the program after this many milliseconds. Default 600000. */
  timeoutMs: number;
}

/**
 * How the CommandRunner tells its own worker process that `--allow-programs` was given (the
 * runner config's `allowPrograms`); the runner always sets it, so an inherited value counts for nothing.
 */
export const ALLOW_PROGRAMS_ENV = 'BENCHALIGN_ALLOW_PROGRAMS';

/** In the worker process: whether its runner allowed programs. */
export function programsAllowed(): boolean {
  return process.env[ALLOW_PROGRAMS_ENV] === '1';
}

/** Parses the engine options; throws E_CONFIG naming every problem. */
export function parseCommandOptions(options: Record<string, unknown>): CommandOptions {
  const problems: string[] = [];
  let program: string[] = [];
  const p = options.program;
  if (typeof p === 'string' && p !== '') program = [p];
  else if (Array.isArray(p) && p.length > 0 && p.every((a) => typeof a === 'string') && p[0] !== '') program = p as string[];
  else problems.push(`options.program: expected the program as a path or an argv array [path, arg, ...], got ${JSON.stringify(p)}`);
  let timeoutMs = 600_000;
  if (options.timeoutMs !== undefined) {
    const t = options.timeoutMs;
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 1) problems.push(`options.timeoutMs: expected an integer >= 1, got ${JSON.stringify(t)}`);
    else timeoutMs = t;
  }
  for (const k of Object.keys(options)) if (k !== 'program' && k !== 'timeoutMs') problems.push(`options.${k}: unknown option (known: program, timeoutMs)`);
  if (problems.length > 0) throw new BenchalignError('E_CONFIG', `command: ${problems.join('; ')}`, { expected: 'valid engine options (docs/engines.md)' });
  return { program, timeoutMs };
}

/** The file name an output is written under: every character but [A-Za-z0-9._-] becomes `_`. */
export function outputFileName(name: string): string {
  return `${name.replace(/[^A-Za-z0-9._-]/g, '_')}.npy`;
}

/** Per-iteration times (one decimal number of milliseconds per line) as nanoseconds; E_ENGINE naming the file on anything else. */
export function parseTimes(text: string, file: string, iterations: number): number[] {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const out: number[] = [];
  for (const [i, l] of lines.entries()) {
    const ms = /^\d+(\.\d+)?([eE][-+]?\d+)?$/.test(l) ? Number(l) : NaN;
    if (!Number.isFinite(ms) || ms <= 0) {
      throw new BenchalignError('E_ENGINE', `command: ${file} line ${i + 1}: ${JSON.stringify(l.slice(0, 40))} is not a positive number of milliseconds`, {
        expected: 'one per-iteration time in milliseconds per line, e.g. 0.8125',
      });
    }
    out.push(Math.round(ms * 1e6));
  }
  if (out.length !== iterations) {
    throw new BenchalignError('E_ENGINE', `command: ${file} has ${out.length} times for ${iterations} iterations`, { expected: `${iterations} lines, one per iteration` });
  }
  return out;
}
