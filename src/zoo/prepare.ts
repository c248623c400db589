/**
 * `benchalign zoo prepare`: builds zoo architectures with seeded random weights (no download),
 * writes their PyTorch references and ONNX exports (runner-agents/python/benchalign_worker/zoo.py)
 * and a suite file that runs them on every CPU engine. Each model folder is cached: a stamp
 * holds the hash of the architecture's catalog entry, the seed, the opset, the library
 * versions and the two Python files that build it; a matching stamp makes prepare a no-op.
 * A model is built in a temporary folder renamed into place only when it succeeded.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { Document, isScalar, visit } from 'yaml';
import { BenchalignError, type ErrorCode } from '../errors.js';
import { cacheRoot } from '../runners/convert-cache.js';
import { pythonPath, pythonWorkersDir } from '../runners/python/env.js';
import { setupEngines, zooRequirementLines } from '../runners/python/setup.js';
import { ZOO, zooArchitecture, type ZooArchitecture } from './catalog.js';

export const ZOO_SUITE_FILE = 'zoo.yaml';
const ERROR_PREFIX = 'benchalign-zoo-error: ';
const STAMP = '.zoo-stamp';
/** A reference output whose values spread less than this is refused (collapsed activations). */
export const MIN_OUTPUT_STD = 1e-4;
/** ONNX opset of the exports. */
export const ZOO_OPSET = 17;

export interface ZooPrepareOptions {
  names: readonly string[];
  /** Folder written (one subfolder per model, and zoo.yaml). Default {@link defaultZooDir}. */
  dir?: string;
  /** Seed of the weights and the inputs. Default 0. */
  seed?: number;
  /** Install requirements-zoo.txt (via `engines setup`) when the venv lacks it. Default true. */
  install?: boolean;
  log?: (line: string) => void;
}

/** What prepare wrote for one model (zoo.json, as the Python side writes it). */
export interface ZooManifest {
  name: string;
  seed: number;
  versions: Record<string, string>;
  parameters: number;
  onnx: { exporter: string; opset: number; bytes: number; dynamicAxes: Record<string, Record<string, string>> };
  inputs: Array<{ name: string; dtype: string; dims: number[] }>;
  /** Float outputs also carry their standard deviation and largest magnitude. */
  outputs: Array<{ name: string; dtype: string; dims: number[]; std?: number; maxAbs?: number }>;
  sha256: Record<string, string>;
  timings: Record<string, number>;
}

export interface ZooPrepared {
  name: string;
  dir: string;
  cached: boolean;
  /** Time this call spent building it, ms (0 when cached). */
  ms: number;
  manifest: ZooManifest;
}

export interface ZooPrepareResult {
  dir: string;
  suitePath: string;
  models: ZooPrepared[];
}

/** Default folder of prepared zoo models: `zoo/` in the benchalign cache (BENCHALIGN_CACHE_DIR, else ~/.cache/benchalign). */
export function defaultZooDir(): string {
  return join(cacheRoot(), 'zoo');
}

function sha256(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

function runPython(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(pythonPath(), ['-u', '-m', 'benchalign_worker.zoo', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PYTHONPATH: pythonWorkersDir(), PYTHONDONTWRITEBYTECODE: '1' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      stdout = (stdout + b.toString('utf8')).slice(-20000);
    });
    child.stderr.on('data', (b: Buffer) => {
      stderr = (stderr + b.toString('utf8')).slice(-20000);
    });
    child.on('error', (e) => reject(new BenchalignError('E_ENGINE_MISSING', `zoo: cannot start ${pythonPath()}: ${e.message}`, { expected: 'the Python engines venv (benchalign engines setup)' })));
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

/** torch, transformers, onnx and numpy versions in the venv ("missing" for an absent one). */
export async function zooVersions(): Promise<Record<string, string>> {
  const { code, stdout, stderr } = await runPython(['--versions']);
  const line = stdout.split('\n').find((l) => l.startsWith('{'));
  if (code !== 0 || line === undefined) {
    throw new BenchalignError('E_ENGINE_MISSING', `zoo: cannot read the library versions from ${pythonPath()}: ${stderr.trim().split('\n').slice(-5).join('\n')}`, {
      expected: 'the Python engines venv (benchalign engines setup)',
    });
  }
  return JSON.parse(line) as Record<string, string>;
}

function pinnedVersion(pkg: string): string | undefined {
  const line = zooRequirementLines().find((l) => l.toLowerCase().startsWith(`${pkg.toLowerCase()}==`));
  return line?.split('==')[1];
}

/** The stamp of one model: what its files depend on. */
export function zooStamp(arch: ZooArchitecture, seed: number, versions: Record<string, string>): string {
  const py = (f: string) => sha256(readFileSync(join(pythonWorkersDir(), 'benchalign_worker', f)));
  return sha256(JSON.stringify({ arch, seed, opset: ZOO_OPSET, versions, zooModels: py('zoo_models.py'), zoo: py('zoo.py') }));
}

function dynamicAxes(dims: Array<number | string>): Record<string, string> | undefined {
  const axes = Object.fromEntries(dims.flatMap((d, i) => (typeof d === 'string' ? [[String(i), d]] : [])));
  return Object.keys(axes).length > 0 ? axes : undefined;
}

async function buildOne(arch: ZooArchitecture, finalDir: string, seed: number): Promise<ZooManifest> {
  const parent = resolve(finalDir, '..');
  await mkdir(parent, { recursive: true });
  const tmp = await mkdtemp(join(parent, `.tmp-${arch.name}-`));
  try {
    const request = {
      name: arch.name,
      out: tmp,
      seed,
      opset: ZOO_OPSET,
      threads: 1,
      inputs: arch.inputs.map((i) => ({ ...i, dynamic: dynamicAxes(i.dims) })),
      outputs: arch.outputs.map((o) => o.name),
      outputDynamic: Object.fromEntries(arch.outputs.flatMap((o) => (dynamicAxes(o.dims) ? [[o.name, dynamicAxes(o.dims)]] : []))),
    };
    const requestPath = join(tmp, '.zoo-request.json');
    await writeFile(requestPath, JSON.stringify(request, null, 2));
    const { code, stderr } = await runPython(['--request', requestPath]);
    await rm(requestPath, { force: true });
    if (code !== 0) {
      const line = stderr.split('\n').reverse().find((l) => l.startsWith(ERROR_PREFIX));
      if (line !== undefined) {
        const e = JSON.parse(line.slice(ERROR_PREFIX.length)) as { code: ErrorCode; message: string; expected?: string };
        throw new BenchalignError(e.code, `zoo prepare ${arch.name}: ${e.message}`, e.expected ? { expected: e.expected } : {});
      }
      const tail = stderr.trim().split('\n').slice(-15).join('\n');
      throw new BenchalignError('E_ENGINE', `zoo prepare ${arch.name}: Python exited with code ${code}:\n${tail}`);
    }
    const manifest = JSON.parse(await readFile(join(tmp, 'zoo.json'), 'utf8')) as ZooManifest;
    checkManifest(arch, manifest);
    await rm(finalDir, { recursive: true, force: true });
    await rename(tmp, finalDir);
    return manifest;
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** The built model must be the catalog's: same parameter count, inputs and output shapes. */
export function checkManifest(arch: ZooArchitecture, m: ZooManifest): void {
  const problems: string[] = [];
  if (m.parameters !== arch.parameters) problems.push(`${m.parameters} parameters, the catalog says ${arch.parameters}`);
  const fit = (what: string, got: ZooManifest['outputs'], want: Array<{ name: string; shape?: number[]; dims: Array<number | string> }>) => {
    if (got.map((t) => t.name).join(',') !== want.map((t) => t.name).join(',')) {
      problems.push(`${what} ${got.map((t) => t.name).join(', ')}, the catalog says ${want.map((t) => t.name).join(', ')}`);
      return;
    }
    want.forEach((w, i) => {
      const g = got[i]?.dims ?? [];
      const expected = w.shape ?? w.dims;
      if (g.length !== expected.length || expected.some((d, k) => typeof d === 'number' && d !== g[k])) {
        problems.push(`${what} ${w.name} has shape [${g.join(', ')}], the catalog says [${expected.join(', ')}]`);
      }
    });
  };
  fit('inputs', m.inputs, arch.inputs);
  fit('outputs', m.outputs, arch.outputs);
  for (const o of m.outputs) {
    // random weights that collapse the activations make any tolerance pass: refuse such references
    if (o.std !== undefined && !(o.std >= MIN_OUTPUT_STD)) problems.push(`output ${o.name} is degenerate (standard deviation ${o.std}, below ${MIN_OUTPUT_STD})`);
  }
  if (problems.length > 0) {
    throw new BenchalignError('E_INTERNAL', `zoo prepare ${arch.name}: the built model does not match the zoo catalog (src/zoo/catalog.ts): ${problems.join('; ')}`);
  }
}

/** The suite that runs the prepared models on every CPU engine, 1 thread, fp32. */
export function zooSuite(dir: string, models: readonly ZooPrepared[]): Record<string, unknown> {
  return {
    name: 'zoo',
    description: `Zoo architectures (seeded random weights) on ONNX Runtime, OpenVINO, NCNN, MNN and PyTorch (CPU, fp32, 1 thread): ${models.map((m) => m.name).join(', ')}`,
    models: models.map((p) => {
      const arch = zooArchitecture(p.name) as ZooArchitecture;
      const rel = relative(dir, p.dir) || '.';
      return {
        name: p.name,
        path: `${rel}/model.onnx`,
        pytorch: { factory: `${rel}/zoo_models.py:${p.name}` },
        inputs: { source: 'reference', file: `${rel}/inputs.pt` },
        reference: `${rel}/outputs.pt`,
        shapes: Object.fromEntries(arch.inputs.map((i) => [i.name, i.shape])),
        ...(arch.outputSettings ? { outputs: arch.outputSettings } : {}),
        ...(arch.family === 'cnn' ? { measurement: { batchSizes: [1, 4, 8], concurrency: [1, 2] } } : {}),
      };
    }),
    engines: [
      { name: 'onnxruntime', precision: 'fp32', options: { intraOpThreads: 1, interOpThreads: 1 } },
      { name: 'openvino', precision: 'fp32', options: { threads: 1 } },
      { name: 'ncnn', precision: 'fp32', options: { threads: 1 } },
      { name: 'mnn', precision: 'fp32', options: { threads: 1 } },
      { name: 'pytorch', precision: 'fp32', options: { threads: 1 } },
    ],
    measurement: {
      warmup: { minIterations: 5, maxIterations: 200, maxMs: 3000 },
      minDurationMs: 2000,
      maxDurationMs: 8000,
      targetCiHalfWidthPct: 2,
      targetCiHalfWidthPctP99: 10,
      repeats: 1,
      concurrency: [1],
      timeoutMs: 600000,
    },
  };
}

/** Builds (or finds cached) each named architecture in `dir` and writes `dir/zoo.yaml`. */
export async function prepareZoo(options: ZooPrepareOptions): Promise<ZooPrepareResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const names = [...new Set(options.names)];
  if (names.length === 0) throw new BenchalignError('E_USAGE', 'zoo prepare: no architecture named', { expected: `some of ${ZOO.map((a) => a.name).join(', ')}, or --all` });
  const unknown = names.filter((n) => zooArchitecture(n) === undefined);
  if (unknown.length > 0) {
    throw new BenchalignError('E_USAGE', `zoo prepare: unknown architecture(s) ${unknown.join(', ')}`, { expected: `some of ${ZOO.map((a) => a.name).join(', ')} (benchalign zoo list)` });
  }
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0 || seed > 2 ** 31 - 1) throw new BenchalignError('E_USAGE', `zoo prepare: --seed ${seed}`, { expected: 'an integer in 0..2147483647' });
  if (!existsSync(pythonPath()) && options.install !== false) await setupEngines({ log });
  if (!existsSync(pythonPath())) {
    throw new BenchalignError('E_ENGINE_MISSING', `zoo prepare needs PyTorch: ${pythonPath()} does not exist`, { expected: 'the Python engines venv (benchalign engines setup)' });
  }
  let versions = await zooVersions();
  const wanted = pinnedVersion('transformers');
  if (versions.transformers !== wanted && names.some((n) => n !== 'lstm')) {
    if (options.install === false) {
      throw new BenchalignError('E_ENGINE_MISSING', `zoo prepare: the venv has transformers ${versions.transformers ?? 'missing'}, requirements-zoo.txt pins ${wanted ?? '?'}`, {
        expected: 'benchalign engines setup (installs requirements-zoo.txt)',
      });
    }
    log(`zoo prepare: the venv has transformers ${versions.transformers ?? 'missing'}; installing requirements-zoo.txt (benchalign engines setup)`);
    await setupEngines({ log });
    versions = await zooVersions();
  }
  const dir = resolve(options.dir ?? defaultZooDir());
  await mkdir(dir, { recursive: true });
  const models: ZooPrepared[] = [];
  for (const name of names) {
    const arch = zooArchitecture(name) as ZooArchitecture;
    const modelDir = join(dir, name);
    const stamp = zooStamp(arch, seed, versions);
    const stampPath = join(modelDir, STAMP);
    if (existsSync(stampPath) && readFileSync(stampPath, 'utf8').trim() === stamp && existsSync(join(modelDir, 'zoo.json'))) {
      const manifest = JSON.parse(await readFile(join(modelDir, 'zoo.json'), 'utf8')) as ZooManifest;
      models.push({ name, dir: modelDir, cached: true, ms: 0, manifest });
      log(`zoo prepare: ${name}: cached in ${modelDir}`);
      continue;
    }
    log(`zoo prepare: ${name}: building (${arch.source})`);
    const t0 = process.hrtime.bigint();
    const manifest = await buildOne(arch, modelDir, seed);
    await writeFile(stampPath, `${stamp}\n`);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    models.push({ name, dir: modelDir, cached: false, ms, manifest });
    log(`zoo prepare: ${name}: ${(manifest.parameters / 1e6).toFixed(1)}M parameters, model.onnx ${(manifest.onnx.bytes / 1e6).toFixed(1)} MB, ${(ms / 1000).toFixed(1)} s`);
  }
  const suitePath = join(dir, ZOO_SUITE_FILE);
  const doc = new Document(zooSuite(dir, models));
  visit(doc, {
    Seq(_, node) {
      if (node.items.every((i) => isScalar(i))) node.flow = true;
    },
  });
  await writeFile(
    suitePath,
    `# Written by benchalign zoo prepare (seed ${seed}; torch ${versions.torch}, transformers ${versions.transformers}). Run:\n#   benchalign run ${suitePath}\n${doc.toString()}`,
  );
  return { dir, suitePath, models };
}
