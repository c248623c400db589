/**
 * The worker of the `command` engine: a Node worker that speaks the worker protocol and runs
 * the user's program (options.program) for each `infer` (1 iteration) and each `measure`
 * batch (N iterations), under the contract of docs/engines.md:
 *
 *   <program...> --model <file> --inputs <dir> --outputs <dir> --iterations <N> --times <file>
 *
 * <inputs dir>/inputs.json lists the inputs ({inputs: [{name, file, dtype, dims}]}) and each is
 * an .npy file there; the program writes each output as <outputs dir>/<name>.npy (see
 * outputFileName) and one per-iteration time in milliseconds per line to the times file. The
 * program is run from an argv array (never a shell), only when --allow-programs was given
 * (the CommandRunner's `allowPrograms`, passed down as BENCHALIGN_ALLOW_PROGRAMS=1), and what it writes is parsed defensively.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { BenchalignError } from '../../errors.js';
import { inspectModelBytes } from '../../tensors/inspect.js';
import { readNpy, writeNpy } from '../../tensors/npy.js';
import { runConverter } from '../convert-cache.js';
import type { HelloResult, LoadResult, MeasureResultMsg } from '../protocol.js';
import type { TensorMeta } from '../../model/model-ref.js';
import { serveWorker } from '../worker-server.js';
import { outputFileName, parseCommandOptions, parseTimes, programsAllowed, type CommandOptions } from './options.js';

/** The version of the program contract. */
export const CONTRACT_VERSION = '1.0';
const MAX_TIMES_BYTES = 64 << 20;

interface Active {
  model: string;
  options: CommandOptions;
  dir: string;
  inputsDir: string;
  inputs: TensorMeta[];
  outputs: TensorMeta[];
  hasInputs: boolean;
  /** Latest per-iteration time seen, ms, to size a measure batch to its time budget. */
  iterMs: number;
}

let active: Active | undefined;

function requireActive(): Active {
  if (!active) throw new BenchalignError('E_ENGINE', 'no model is loaded', { expected: 'load first' });
  return active;
}

async function runProgram(a: Active, iterations: number, outputsDir: string, timeoutMs: number): Promise<number[]> {
  const times = join(a.dir, 'times.txt');
  rmSync(times, { force: true });
  const argv = [...a.options.program, '--model', a.model, '--inputs', a.inputsDir, '--outputs', outputsDir, '--iterations', String(iterations), '--times', times];
  try {
    await runConverter(argv, { cwd: a.dir, timeoutMs });
  } catch (e) {
    const msg = e instanceof Error ? e.message.replace(/^\S+ /, '') : String(e);
    throw new BenchalignError('E_ENGINE', `command: the program ${a.options.program[0]} ${msg}`, { expected: 'the program to exit 0 (docs/engines.md, "An engine that is a program")' });
  }
  if (!existsSync(times)) throw new BenchalignError('E_ENGINE', `command: the program wrote no times file ${times}`, { expected: 'one per-iteration time in milliseconds per line' });
  if (statSync(times).size > MAX_TIMES_BYTES) throw new BenchalignError('E_ENGINE', `command: ${times} is larger than ${MAX_TIMES_BYTES} bytes`);
  return parseTimes(await readFile(times, 'utf8'), times, iterations);
}

async function load(params: unknown): Promise<LoadResult> {
  const p = params as { modelPath?: unknown; options?: Record<string, unknown>; precision?: unknown };
  if (!programsAllowed()) {
    throw new BenchalignError('E_CONFIG', 'command: the command engine runs a program named in the suite, and programs are not allowed here', {
      expected: '--allow-programs on benchalign run (this machine) / benchalign agent serve|stdio (an agent)',
    });
  }
  const options = parseCommandOptions(p.options ?? {});
  if (typeof p.modelPath !== 'string' || !existsSync(p.modelPath)) throw new BenchalignError('E_CONFIG', `command: model ${String(p.modelPath)} does not exist`, { expected: 'a model file' });
  unload();
  let inputs: TensorMeta[] = [];
  let outputs: TensorMeta[] = [];
  const notes: string[] = [`the program ${options.program.join(' ')} is run once per infer and once per measure batch; latency is the per-iteration time it reports`];
  if (extname(p.modelPath).toLowerCase() === '.onnx') {
    const io = inspectModelBytes(await readFile(p.modelPath), p.modelPath);
    const meta = (v: { name: string; dtype: string; shape: Array<number | string | null> | null }): TensorMeta => ({ name: v.name, dtype: v.dtype, dims: (v.shape ?? []).map((d) => (d === null ? '?' : d)) });
    inputs = io.inputs.map(meta);
    outputs = io.outputs.map(meta);
  } else {
    notes.push('the model is not ONNX: its inputs are the feeds given, its outputs every .npy the program writes');
  }
  const dir = mkdtempSync(join(tmpdir(), 'benchalign-command-'));
  active = { model: p.modelPath, options, dir, inputsDir: join(dir, 'inputs'), inputs, outputs, hasInputs: false, iterMs: 1 };
  await mkdir(active.inputsDir);
  return {
    loadMs: 0,
    inputs,
    outputs,
    effectivePrecision: typeof p.precision === 'string' ? p.precision : 'fp32',
    notes: [...notes, 'the precision is whatever the program computes in: the harness cannot read it back'],
    appliedOptions: { program: options.program, timeoutMs: options.timeoutMs, contract: CONTRACT_VERSION },
  };
}

async function setInputs(params: unknown): Promise<null> {
  const a = requireActive();
  const files = (params as { inputs?: Record<string, string> }).inputs ?? {};
  const wanted = a.inputs.length > 0 ? a.inputs.map((i) => i.name) : Object.keys(files);
  const missing = wanted.filter((n) => !(n in files));
  if (missing.length > 0) throw new BenchalignError('E_SHAPE', `command: no data for inputs ${missing.join(', ')}`, { expected: `inputs ${wanted.join(', ')}` });
  const list = [];
  for (const [i, name] of wanted.entries()) {
    const t = await readNpy(files[name] as string);
    const file = `${i}.npy`;
    await copyFile(files[name] as string, join(a.inputsDir, file));
    list.push({ name, file, dtype: t.dtype, dims: [...t.dims] });
  }
  await writeFile(join(a.inputsDir, 'inputs.json'), JSON.stringify({ inputs: list }, null, 2));
  a.hasInputs = true;
  return null;
}

async function infer(params: unknown): Promise<{ outputs: Record<string, string>; latencyNs: number }> {
  const a = requireActive();
  if (!a.hasInputs) throw new BenchalignError('E_ENGINE', 'infer before setInputs', { expected: 'setInputs first' });
  const outputDir = (params as { outputDir?: string }).outputDir;
  if (typeof outputDir !== 'string') throw new BenchalignError('E_USAGE', 'infer: outputDir is missing');
  const produced = join(a.dir, 'outputs');
  rmSync(produced, { recursive: true, force: true });
  await mkdir(produced);
  const [ns] = await runProgram(a, 1, produced, a.options.timeoutMs);
  const names = a.outputs.length > 0 ? a.outputs.map((o) => o.name) : readdirSync(produced).filter((f) => f.endsWith('.npy')).sort().map((f) => f.slice(0, -4));
  await mkdir(outputDir, { recursive: true });
  const outputs: Record<string, string> = {};
  for (const [i, name] of names.entries()) {
    const file = join(produced, a.outputs.length > 0 ? outputFileName(name) : `${name}.npy`);
    if (!existsSync(file)) throw new BenchalignError('E_ENGINE', `command: the program wrote no ${file} for output ${JSON.stringify(name)}`, { expected: `every output as <outputs dir>/<name>.npy` });
    const t = await readNpy(file); // parsed (and checked) before it goes on
    const path = join(outputDir, `${i}.npy`);
    await writeNpy(path, t);
    outputs[name] = path;
  }
  a.iterMs = Math.max(ns! / 1e6, 0.01);
  return { outputs, latencyNs: ns! };
}

async function measure(params: unknown): Promise<MeasureResultMsg> {
  const a = requireActive();
  const p = params as { iterations?: number; maxDurationMs?: number; concurrency?: number };
  if (typeof p.iterations !== 'number' || p.iterations < 1 || typeof p.maxDurationMs !== 'number' || p.maxDurationMs <= 0) {
    throw new BenchalignError('E_CONFIG', `measure: bad request ${JSON.stringify(params)}`, { expected: 'iterations >= 1, maxDurationMs > 0' });
  }
  if ((p.concurrency ?? 1) !== 1) throw new BenchalignError('E_UNSUPPORTED', `command: concurrency ${p.concurrency} is not supported (one program run at a time)`, { expected: 'concurrency 1' });
  const iterations = Math.max(1, Math.min(p.iterations, Math.floor(p.maxDurationMs / a.iterMs)));
  const produced = join(a.dir, 'measure-outputs');
  rmSync(produced, { recursive: true, force: true });
  await mkdir(produced);
  const startedAtNs = Number(process.hrtime.bigint());
  const samplesNs = await runProgram(a, iterations, produced, p.maxDurationMs + a.options.timeoutMs);
  const sorted = [...samplesNs].sort((x, y) => x - y);
  a.iterMs = Math.max(sorted[Math.floor(sorted.length / 2)]! / 1e6, 0.01);
  return { samplesNs, wallNs: samplesNs.reduce((s, x) => s + x, 0), startedAtNs };
}

function unload(): null {
  if (active) rmSync(active.dir, { recursive: true, force: true });
  active = undefined;
  return null;
}

const hello = (): HelloResult => ({ protocol: 1, engine: 'command', version: CONTRACT_VERSION, pid: process.pid, devices: ['program'] });

serveWorker({ hello, load, setInputs, infer, measure, unload, shutdown: () => unload() });
