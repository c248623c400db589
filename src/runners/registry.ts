/**
 * The engine registry. Looking up an engine never throws: an unknown or missing engine is
 * a Runner whose `available()` says why, so a run can record it as a skipped job.
 */
import { BenchalignError } from '../errors.js';
import { CommandRunner } from './command/runner.js';
import { ExecuTorchRunner } from './executorch/runner.js';
import { FaultRunner } from './fault/runner.js';
import { LiteRtRunner } from './litert/runner.js';
import { MnnRunner } from './mnn/runner.js';
import { NcnnRunner } from './ncnn/runner.js';
import { OnnxRuntimeRunner } from './onnxruntime/runner.js';
import { OpenVinoRunner } from './openvino/runner.js';
import { OpenCvRunner } from './opencv/runner.js';
import { PyTorchRunner } from './pytorch/runner.js';
import { TensorRtRunner } from './tensorrt/runner.js';
import { TvmRunner } from './tvm/runner.js';
import type { Availability, Runner } from './types.js';
import type { WorkerRunnerConfig } from './worker-runner.js';

export interface RunnerFactory {
  /** Engine name, as suites spell it. */
  readonly name: string;
  /** A new Runner; each owns (at most) one worker process. */
  create(config?: WorkerRunnerConfig): Runner;
  /** Test-only engines are listed only when BENCHALIGN_TEST_ENGINES=1. */
  readonly testOnly?: boolean;
  /** Labels a runner agent needs to run this engine, e.g. { gpu: 'nvidia' } (docs/agents-client.md). */
  readonly requires?: Readonly<Record<string, string>>;
}

export interface EngineListing {
  name: string;
  availability: Availability;
}

const factories = new Map<string, RunnerFactory>();

/** Adds (or replaces) an engine. */
export function registerRunner(factory: RunnerFactory): void {
  factories.set(factory.name, factory);
}

function testEnginesEnabled(): boolean {
  return process.env.BENCHALIGN_TEST_ENGINES === '1';
}

function visible(): RunnerFactory[] {
  return [...factories.values()].filter((f) => !f.testOnly || testEnginesEnabled());
}

/** Names of the registered engines (test-only ones only when enabled). */
export function engineNames(): string[] {
  return visible().map((f) => f.name);
}

class MissingRunner implements Runner {
  constructor(
    readonly name: string,
    private readonly reason: string,
  ) {}
  async available(): Promise<Availability> {
    return { available: false, reason: this.reason };
  }
  private fail(): never {
    throw new BenchalignError('E_ENGINE_MISSING', this.reason, { expected: `one of ${engineNames().join('|')}` });
  }
  prepare(): never {
    return this.fail();
  }
  activate(): never {
    return this.fail();
  }
  inputMetadata(): never {
    return this.fail();
  }
  infer(): never {
    return this.fail();
  }
  measure(): never {
    return this.fail();
  }
  async deactivate(): Promise<void> {}
  async dispose(): Promise<void> {}
}

/** A Runner for `name`; for an unknown engine, one whose `available()` gives the reason. */
export function getRunner(name: string, config?: WorkerRunnerConfig): Runner {
  const f = visible().find((x) => x.name === name);
  if (f === undefined) return new MissingRunner(name, `unknown engine "${name}" (registered: ${engineNames().join(', ') || 'none'})`);
  return f.create(config);
}

/** The agent labels an engine declares it needs; undefined when it declares none (or is unknown). */
export function engineRequirements(name: string): Readonly<Record<string, string>> | undefined {
  return factories.get(name)?.requires;
}

/**
 * Every registered engine with its availability here, in registration order. Starts (and ends)
 * each engine's worker once; the probes run side by side (each is mostly an import that waits on
 * the disk), so the slowest engine, not the sum, sets how long `engines list` takes.
 */
export async function listEngines(): Promise<EngineListing[]> {
  return Promise.all(visible().map(async (f) => {
    const runner = f.create();
    try {
      return { name: f.name, availability: await runner.available() };
    } finally {
      await runner.dispose?.();
    }
  }));
}

registerRunner({ name: 'onnxruntime', create: (config) => new OnnxRuntimeRunner(config) });
registerRunner({ name: 'openvino', create: (config) => new OpenVinoRunner(config) });
registerRunner({ name: 'mnn', create: (config) => new MnnRunner(config) });
registerRunner({ name: 'pytorch', create: (config) => new PyTorchRunner(config) });
registerRunner({ name: 'tensorrt', create: (config) => new TensorRtRunner(config) });
registerRunner({ name: 'ncnn', create: (config) => new NcnnRunner(config) });
registerRunner({ name: 'opencv', create: (config) => new OpenCvRunner(config) });
registerRunner({ name: 'tvm', create: (config) => new TvmRunner(config) });
registerRunner({ name: 'executorch', create: (config) => new ExecuTorchRunner(config) });
registerRunner({ name: 'litert', create: (config) => new LiteRtRunner(config) });
registerRunner({ name: 'command', create: (config) => new CommandRunner(config) });
registerRunner({ name: 'test-fault', testOnly: true, create: (config) => new FaultRunner(config) });
