/**
 * Typed errors. Every error that reaches the user carries a stable `code`, says what was
 * expected, and maps to one of the exit codes of DESIGN.md. Only `E_INTERNAL` prints a stack.
 */

/** Process exit codes (DESIGN.md, "Exit codes"). */
export const ExitCode = {
  /** Everything passed. */
  Ok: 0,
  /** A gate failed: regression, alignment failure, sign-off criterion. */
  GateFailed: 1,
  /** Usage or configuration error, bad input file. */
  Usage: 2,
  /** Infrastructure error: agent unreachable, engine missing, worker could not start. */
  Infra: 3,
  /** Nothing was measured. */
  NothingMeasured: 4,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export type ErrorCode =
  | 'E_USAGE'
  | 'E_CONFIG'
  | 'E_IO'
  | 'E_TENSOR_FORMAT'
  | 'E_UNSAFE_PICKLE'
  | 'E_UNSUPPORTED'
  | 'E_SHAPE'
  | 'E_ENGINE_MISSING'
  | 'E_ENGINE'
  | 'E_CONVERT'
  | 'E_WORKER'
  | 'E_TIMEOUT'
  | 'E_INFRA'
  | 'E_INTERNAL';

const exitCodeOf: Record<ErrorCode, ExitCode> = {
  E_USAGE: ExitCode.Usage,
  E_CONFIG: ExitCode.Usage,
  E_IO: ExitCode.Usage,
  E_TENSOR_FORMAT: ExitCode.Usage,
  E_UNSAFE_PICKLE: ExitCode.Usage,
  E_UNSUPPORTED: ExitCode.Usage,
  E_SHAPE: ExitCode.Usage,
  E_ENGINE_MISSING: ExitCode.Infra,
  E_ENGINE: ExitCode.Infra,
  E_CONVERT: ExitCode.Infra,
  E_WORKER: ExitCode.Infra,
  E_TIMEOUT: ExitCode.Infra,
  E_INFRA: ExitCode.Infra,
  E_INTERNAL: ExitCode.Infra,
};

export interface BenchalignErrorOptions {
  /** The file the problem is in, when there is one. */
  file?: string;
  /** What was expected instead, in words. */
  expected?: string;
  cause?: unknown;
}

/** The one error class the project throws on purpose. */
export class BenchalignError extends Error {
  readonly code: ErrorCode;
  readonly file: string | undefined;
  readonly expected: string | undefined;

  constructor(code: ErrorCode, message: string, options: BenchalignErrorOptions = {}) {
    const where = options.file !== undefined ? `${options.file}: ` : '';
    const want = options.expected !== undefined ? ` (expected ${options.expected})` : '';
    super(`${where}${message}${want}`, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'BenchalignError';
    this.code = code;
    this.file = options.file;
    this.expected = options.expected;
  }

  get exitCode(): ExitCode {
    return exitCodeOf[this.code];
  }
}

/** Shorthand for the most common case: a malformed tensor or model file. */
export function formatError(file: string, message: string, expected?: string): BenchalignError {
  return new BenchalignError('E_TENSOR_FORMAT', message, expected !== undefined ? { file, expected } : { file });
}

export function isBenchalignError(e: unknown): e is BenchalignError {
  return e instanceof BenchalignError;
}

/** A one-line description of any thrown value, for result records and logs. */
export function describeError(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
