/**
 * The TVM runner: pip `apache-tvm` in a Python worker (runner-agents/python/benchalign_worker/
 * tvm_worker.py). `prepare` builds the ONNX model with the Relax frontend and `tvm.compile` for
 * `llvm` with this host's `-mcpu` (benchalign_worker.tvm_convert) into a shared library, cached
 * by model hash, TVM version, target, opt level, input shapes and tuning budget; the worker runs
 * it on the Relax VM and reports the target (docs/engines.md). With `tuneTrials` > 0 the build
 * first tunes the kernels with MetaSchedule on this machine; the tuning time is reported apart
 * from the conversion (`coldStart.tuneMs`, not in the cold start).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { BenchalignError } from '../../errors.js';
import { hashFile } from '../../model/hash.js';
import { cachedConversion, runConverter } from '../convert-cache.js';
import { pythonWorkerCommand } from '../python/env.js';
import { PythonWorkerRunner } from '../python/runner.js';
import type { EngineOptions, PreparedModel } from '../types.js';
import type { ModelRef } from '../../model/model-ref.js';

/** The engine options that change the built library. */
export interface TvmBuildOptions {
  /** tvm.transform.PassContext opt_level, 0..3. Default 3. */
  optLevel: number;
  /** A TVM target as a JSON object. Default: `{"kind": "llvm", "mcpu": <this host's CPU>}`. */
  target: Record<string, unknown> | null;
  /** MetaSchedule's budget: measured candidates in all, over the model's tasks. 0 (default): no tuning. */
  tuneTrials: number;
}

/** The build options from a job's engine options; throws E_CONFIG naming each bad one. */
export function tvmBuildOptions(options: Record<string, unknown>): TvmBuildOptions {
  const problems: string[] = [];
  let optLevel = 3;
  if (options.optLevel !== undefined) {
    const v = options.optLevel;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 3) problems.push(`options.optLevel: expected an integer 0..3, got ${JSON.stringify(v)}`);
    else optLevel = v;
  }
  let target: Record<string, unknown> | null = null;
  if (options.target !== undefined) {
    const v = options.target;
    if (v === null || typeof v !== 'object' || Array.isArray(v) || typeof (v as { kind?: unknown }).kind !== 'string') {
      problems.push(`options.target: expected a TVM target as an object with a kind, e.g. {kind: llvm, mcpu: znver4}, got ${JSON.stringify(v)}`);
    } else target = v as Record<string, unknown>;
  }
  let tuneTrials = 0;
  if (options.tuneTrials !== undefined) {
    const v = options.tuneTrials;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) problems.push(`options.tuneTrials: expected an integer >= 0 (0: no tuning), got ${JSON.stringify(v)}`);
    else tuneTrials = v;
  }
  if (problems.length > 0) throw new BenchalignError('E_CONFIG', `tvm: ${problems.join('; ')}`, { expected: 'valid engine options (docs/engines.md)' });
  return { optLevel, target, tuneTrials };
}

const versions = new Map<string, Promise<{ tvm: string; hostTarget: Record<string, unknown> }>>();

function converterArgv(args: readonly string[]): { argv: string[]; env: Record<string, string> } {
  const cmd = pythonWorkerCommand('tvm_convert');
  return { argv: [cmd.command, ...cmd.args, ...args], env: cmd.env ?? {} };
}

/** TVM's version and this host's default target, from the venv (once per interpreter). */
export function tvmVersion(): Promise<{ tvm: string; hostTarget: Record<string, unknown> }> {
  const { argv, env } = converterArgv(['--version']);
  let v = versions.get(argv[0]!);
  if (v === undefined) {
    v = runConverter(argv, { cwd: process.cwd(), env, timeoutMs: 120_000 }).then((out) => {
      const line = out.split('\n').find((l) => l.startsWith('{'));
      const parsed = line ? (JSON.parse(line) as { tvm?: unknown; hostTarget?: unknown }) : {};
      if (typeof parsed.tvm !== 'string' || parsed.hostTarget === null || typeof parsed.hostTarget !== 'object') {
        throw new BenchalignError('E_ENGINE_MISSING', `tvm: cannot read the TVM version from the venv: ${out.slice(-400)}`, {
          expected: 'pip apache-tvm in the engines venv (benchalign engines setup --engines tvm)',
        });
      }
      return { tvm: parsed.tvm, hostTarget: parsed.hostTarget as Record<string, unknown> };
    });
    v.catch(() => versions.delete(argv[0]!));
    versions.set(argv[0]!, v);
  }
  return v;
}

export class TvmRunner extends PythonWorkerRunner {
  readonly name = 'tvm';
  protected readonly module = 'tvm_worker';

  /** Builds the ONNX model into model.so (cached); a model.so built before is used as it is. */
  override async prepare(model: ModelRef, options: EngineOptions): Promise<PreparedModel> {
    if (extname(model.path).toLowerCase() === '.so') return { path: model.path };
    const build = tvmBuildOptions(options.options);
    if (options.precision !== 'fp32') {
      // refused before a build that would be thrown away (the worker refuses it too)
      throw new BenchalignError('E_UNSUPPORTED', `tvm: precision ${options.precision} is not supported here`, { expected: "fp32 (the build computes in the model's own types)" });
    }
    const availability = await this.available();
    if (!availability.available) throw new BenchalignError('E_ENGINE_MISSING', `tvm is not available: ${availability.reason}`);
    const { tvm, hostTarget } = await tvmVersion();
    const target = build.target ?? hostTarget;
    const modelSha256 = model.sha256 !== '' ? model.sha256 : await hashFile(model.path);
    const tuneTrials = build.tuneTrials;
    const result = await cachedConversion(
      { engine: 'tvm', modelSha256, converter: `tvm ${tvm}`, options: { optLevel: build.optLevel, target, shapes: model.shapes ?? null, tuneTrials } },
      async (outDir) => {
        const request = join(outDir, 'request.json');
        await writeFile(request, JSON.stringify({ model: model.path, out: outDir, shapes: model.shapes ?? null, target, optLevel: build.optLevel, tuneTrials }));
        const { argv, env } = converterArgv(['--request', request]);
        try {
          // tuning builds and measures candidates: allow it time in proportion to its budget
          await runConverter(argv, { cwd: outDir, env, timeoutMs: 600_000 + tuneTrials * 30_000 });
        } catch (e) {
          if (!(e instanceof BenchalignError)) throw e;
          throw await convertError(e, outDir, model.path, tuneTrials);
        }
      },
    );
    const tuneMs = await tuningMs(join(result.dir, 'model.so.convert.json'));
    if (tuneMs === undefined || result.cacheHit) return { path: join(result.dir, 'model.so'), convertMs: result.convertMs, cacheHit: result.cacheHit, ...(tuneMs === undefined ? {} : { tuneMs: 0 }) };
    // the tuning is reported on its own, not in the conversion (nor in the cold start)
    return { path: join(result.dir, 'model.so'), convertMs: Math.max(0, result.convertMs - tuneMs), tuneMs, cacheHit: false };
  }
}

/** The tuning time the converter recorded (ms), or undefined for an untuned build. */
async function tuningMs(recordPath: string): Promise<number | undefined> {
  try {
    const record = JSON.parse(await readFile(recordPath, 'utf8')) as { tuning?: { seconds?: unknown } };
    const seconds = record.tuning?.seconds;
    return typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
  } catch {
    return undefined; // the worker refuses a library without a readable record, naming the file
  }
}

/**
 * The job's error for a failed build: the converter's own one-line message (error.json: it names
 * the ops the frontend lacks) when it wrote one, else how the converter ended and its output's
 * tail (a crash, e.g. a segfault in MetaSchedule); one expected clause either way.
 */
async function convertError(e: BenchalignError, outDir: string, modelPath: string, tuneTrials: number): Promise<BenchalignError> {
  let written: { message?: unknown; ops?: unknown } = {};
  try {
    written = JSON.parse(await readFile(join(outDir, 'error.json'), 'utf8')) as typeof written;
  } catch {
    // no error.json: the converter crashed or was killed before it could write one
  }
  if (typeof written.message === 'string' && written.message !== '') {
    const ops = Array.isArray(written.ops) ? written.ops.filter((o): o is string => typeof o === 'string') : [];
    return new BenchalignError('E_CONVERT', written.message, {
      expected: ops.length > 0 ? `a model whose ops the TVM Relax ONNX frontend implements` : 'an ONNX model TVM builds',
    });
  }
  const text = e.expected !== undefined && e.message.endsWith(` (expected ${e.expected})`) ? e.message.slice(0, -` (expected ${e.expected})`.length) : e.message;
  // "<interpreter> was killed by SIGSEGV; its last output:\n<tail>" from runConverter
  const m = /^\S+ (.*?); its last output:\n([\s\S]*)$/.exec(text);
  let stage = '';
  try {
    stage = (await readFile(join(outDir, 'stage.txt'), 'utf8')).trim();
  } catch {
    // it died before its first step
  }
  const during = stage !== '' ? ` during ${stage}` : tuneTrials > 0 ? ` (tuneTrials ${tuneTrials})` : '';
  // TVM's crash handler prints the whole native stack: keep TVM's own frames and messages
  const tail = m ? m[2]!.split('\n').filter((l) => !/^\s*File "[^"]*", line \d+, in /.test(l) || /tvm/i.test(l)).join('\n') : '';
  const message = m ? `TVM could not build ${modelPath}: tvm_convert ${m[1]}${during}; its last output:\n${tail}` : `TVM could not build ${modelPath}${during}: ${text}`;
  return new BenchalignError('E_CONVERT', message, { expected: 'an ONNX model TVM builds' });
}
