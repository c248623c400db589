/**
 * FAKE ENGINE, FOR FAULT-INJECTION TESTS ONLY: the options of the `test-fault` engine.
 */
import { BenchalignError } from '../../errors.js';

export const FAULTS = ['none', 'abort', 'segv', 'exit', 'hang', 'leak', 'heap-leak', 'load-fail'] as const;
export const FAULT_STAGES = ['load', 'infer', 'measure'] as const;
export type Fault = (typeof FAULTS)[number];
export type FaultStage = (typeof FAULT_STAGES)[number];

/** What the fake engine does wrong, and when. */
export interface FaultOptions {
  /**
   * Default `'none'`. `abort`: process.abort() (SIGABRT). `segv`: SIGSEGV to itself.
   * `exit`: exits with `exitCode`. `hang`: never answers. `leak`: allocates and touches
   * `leakStepBytes` of native memory every `leakIntervalMs` up to `leakCapBytes`, then holds
   * it without answering. `heap-leak`: the same on the JS heap (pair with
   * `--max-old-space-size`). `load-fail`: `load` answers with an engine error.
   */
  fault: Fault;
  /** The request during which the fault happens. Default `'infer'` (`'load'` for load-fail). */
  faultAt: FaultStage;
  /** Default 50 MiB. */
  leakStepBytes: number;
  /** Default 100 ms. */
  leakIntervalMs: number;
  /** Default 1 GiB: the leak stops growing there, so a test stays bounded even without a limit. */
  leakCapBytes: number;
  /** Exit code for `exit`. Default 3. */
  exitCode: number;
}

export function parseFaultOptions(raw: Record<string, unknown>): FaultOptions {
  const problems: string[] = [];
  const fault = (raw.fault ?? 'none') as Fault;
  if (!FAULTS.includes(fault)) problems.push(`options.fault: expected one of ${FAULTS.join('|')}`);
  const faultAt = (raw.faultAt ?? (fault === 'load-fail' ? 'load' : 'infer')) as FaultStage;
  if (!FAULT_STAGES.includes(faultAt)) problems.push(`options.faultAt: expected one of ${FAULT_STAGES.join('|')}`);
  const num = (key: string, dflt: number): number => {
    const v = raw[key] ?? dflt;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) problems.push(`options.${key}: expected a number >= 0`);
    return v as number;
  };
  const out: FaultOptions = {
    fault,
    faultAt,
    leakStepBytes: num('leakStepBytes', 50 * 1048576),
    leakIntervalMs: num('leakIntervalMs', 100),
    leakCapBytes: num('leakCapBytes', 1024 * 1048576),
    exitCode: num('exitCode', 3),
  };
  if (problems.length > 0) throw new BenchalignError('E_CONFIG', `invalid test-fault options:\n  ${problems.join('\n  ')}`);
  return out;
}
