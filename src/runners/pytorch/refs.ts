/**
 * `benchalign refs`: PyTorch fp32 reference tensors on CPU for a model, and a suite file that
 * `benchalign run` accepts as is. PyTorch runs in the engines' venv
 * (runner-agents/python/benchalign_worker/refs.py); Node never unpickles anything. See docs/refs.md.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, extname, relative, resolve } from 'node:path';
import { Document, isScalar, visit } from 'yaml';
import { BenchalignError, type ErrorCode } from '../../errors.js';
import { pythonPath, pythonWorkersDir } from '../python/env.js';

/** What `benchalign refs` is asked to do. */
export interface RefsOptions {
  /**
   * The model: a TorchScript file (.pt/.pth/.ts/.jit), an ExportedProgram (.pt2), or a Python
   * file with a factory, as `file.py:function` or `file.py` with {@link factory}.
   */
  model: string;
  /** The factory function of a `.py` model. */
  factory?: string;
  /** Random input specs `name:shape[:dtype[:low,high]]` (shape `1x3x32x32`), in forward() order. */
  inputSpecs?: string[];
  /** Or a tensor file with the inputs by name: .pt (read with weights_only), .npy, .npz, .safetensors. */
  inputFile?: string;
  /** Name of the single tensor of a .npy / bare-tensor .pt input file. Default: the file stem / "input". */
  inputName?: string;
  /** Seed of the random inputs (torch.Generator). Default 0. */
  seed?: number;
  /** Output names in the order the model returns them. Default: dict keys, else `output` / `output_K`. */
  outputNames?: string[];
  /** Folder written. Default `refs/<model name>`. */
  out?: string;
  /** Also export model.onnx (torch.onnx.export). Default false. */
  onnx?: boolean;
  /** ONNX opset of the export. Default 17. */
  opset?: number;
  /** Also write inputs/outputs as .safetensors. Default false. */
  safetensors?: boolean;
  /** Model name in the suite. Default: the model file's stem. */
  name?: string;
  /**
   * More engines for the written suite, after onnxruntime (with --onnx) and pytorch: e.g.
   * executorch and litert, which convert the model's PyTorch form with the `pytorch.inputs`
   * and `pytorch.outputs` the suite records.
   */
  engines?: string[];
  /** PyTorch threads. Default 1. */
  threads?: number;
}

export interface RefsTensor {
  name: string;
  dtype: string;
  dims: number[];
}

/** refs.json, as the Python side writes it. */
export interface RefsManifest {
  torch: string;
  model: { kind: 'torchscript' | 'exported' | 'factory'; path: string; factory?: string; sha256: string };
  inputs: RefsTensor[];
  outputs: RefsTensor[];
  files: { inputs: string; outputs: string; inputsSafetensors?: string; outputsSafetensors?: string; onnx?: string };
  onnx?: { exporter: string; opset: number; sha256: string };
}

export interface RefsResult {
  outDir: string;
  suitePath: string;
  manifest: RefsManifest;
}

const TORCHSCRIPT_EXT = ['.pt', '.pth', '.ts', '.jit', '.torchscript'];
const ERROR_PREFIX = 'benchalign-refs-error: ';

function modelKind(options: RefsOptions): { kind: RefsManifest['model']['kind']; path: string; factory?: string } {
  const m = /^(.+\.py):([A-Za-z_][A-Za-z0-9_]*)$/.exec(options.model);
  if (m) {
    if (options.factory !== undefined && options.factory !== m[2]) {
      throw new BenchalignError('E_USAGE', `refs: ${options.model} names factory ${m[2]}, --factory says ${options.factory}`, { expected: 'one factory' });
    }
    return { kind: 'factory', path: resolve(m[1] as string), factory: m[2] as string };
  }
  const ext = extname(options.model).toLowerCase();
  if (ext === '.py') {
    if (options.factory === undefined || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(options.factory)) {
      throw new BenchalignError('E_USAGE', `refs: ${options.model} is a Python file; which function builds the model?`, { expected: '--factory <function> or <file.py>:<function>' });
    }
    return { kind: 'factory', path: resolve(options.model), factory: options.factory };
  }
  if (options.factory !== undefined) throw new BenchalignError('E_USAGE', `refs: --factory needs a .py model, got ${options.model}`, { expected: 'a Python file' });
  if (ext === '.pt2') return { kind: 'exported', path: resolve(options.model) };
  if (TORCHSCRIPT_EXT.includes(ext)) return { kind: 'torchscript', path: resolve(options.model) };
  throw new BenchalignError('E_USAGE', `refs: ${options.model}: unknown model type`, {
    expected: 'file.py:function (or --factory), a TorchScript file (.pt/.pth/.ts/.jit) or an ExportedProgram (.pt2)',
  });
}

function runPython(requestPath: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(pythonPath(), ['-u', '-m', 'benchalign_worker.refs', '--request', requestPath], {
      stdio: ['ignore', 'inherit', 'pipe'],
      env: { ...process.env, PYTHONPATH: pythonWorkersDir(), PYTHONDONTWRITEBYTECODE: '1' },
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      stderr = (stderr + b.toString('utf8')).slice(-20000);
    });
    child.on('error', (e) => reject(new BenchalignError('E_ENGINE_MISSING', `refs: cannot start ${pythonPath()}: ${e.message}`, { expected: 'the Python engines venv (benchalign engines setup)' })));
    child.on('close', (code) => resolvePromise({ code, stderr }));
  });
}

/** The suite file refs writes: the model with its references, on onnxruntime (with --onnx) and pytorch. */
export function refsSuite(name: string, outDir: string, manifest: RefsManifest, extraEngines: readonly string[] = []): Record<string, unknown> {
  const rel = (p: string) => {
    const r = relative(outDir, p);
    return r === '' ? '.' : r;
  };
  const pytorch: Record<string, unknown> =
    manifest.model.kind === 'factory'
      ? { factory: `${rel(manifest.model.path)}:${manifest.model.factory ?? ''}` }
      : { [manifest.model.kind]: rel(manifest.model.path) };
  pytorch.inputs = manifest.inputs.map((t) => ({ name: t.name, dtype: t.dtype, dims: t.dims }));
  pytorch.outputs = manifest.outputs.map((t) => t.name);
  const onnx = manifest.files.onnx;
  return {
    name,
    description: `PyTorch ${manifest.torch} fp32 CPU references written by benchalign refs`,
    models: [
      {
        name,
        path: onnx ?? rel(manifest.model.path),
        inputs: { source: 'reference', file: manifest.files.inputs },
        reference: manifest.files.outputs,
        pytorch,
      },
    ],
    engines: [...(onnx ? [{ name: 'onnxruntime' }] : []), { name: 'pytorch' }, ...extraEngines.filter((e) => e !== 'pytorch' && e !== 'onnxruntime').map((e) => ({ name: e }))],
  };
}

/** Runs PyTorch on the model and writes the references, refs.json and suite.yaml into the out folder. */
export async function makeRefs(options: RefsOptions): Promise<RefsResult> {
  const model = modelKind(options);
  if (!existsSync(model.path)) throw new BenchalignError('E_IO', `refs: model file not found: ${model.path}`, { file: model.path, expected: 'an existing model file' });
  const hasSpecs = (options.inputSpecs?.length ?? 0) > 0;
  if (hasSpecs === (options.inputFile !== undefined)) {
    throw new BenchalignError('E_USAGE', `refs: ${hasSpecs ? 'both input specs and an input file' : 'no inputs'} given`, {
      expected: '--inputs name:shape[:dtype[:low,high]] (repeatable), or --inputs <file.pt|.npy|.npz|.safetensors>',
    });
  }
  if (options.inputFile !== undefined && !existsSync(options.inputFile)) {
    throw new BenchalignError('E_IO', `refs: input file not found: ${options.inputFile}`, { file: options.inputFile, expected: 'an existing tensor file' });
  }
  for (const [what, v] of [['--seed', options.seed], ['--opset', options.opset]] as const) {
    if (v !== undefined && !(Number.isInteger(v) && v >= 0)) throw new BenchalignError('E_USAGE', `refs: ${what} ${v}`, { expected: 'a non-negative integer' });
  }
  if (!existsSync(pythonPath())) {
    throw new BenchalignError('E_ENGINE_MISSING', `refs needs PyTorch: ${pythonPath()} does not exist`, { expected: 'the Python engines venv (run: benchalign engines setup)' });
  }
  const name = options.name ?? (basename(model.path).replace(/\.[^.]+$/, '').replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[^A-Za-z0-9]+/, '') || 'model');
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    throw new BenchalignError('E_USAGE', `refs: --name ${JSON.stringify(name)}`, { expected: 'letters, digits, ".", "_" or "-", starting with a letter or digit' });
  }
  const outDir = resolve(options.out ?? `refs/${name}`);
  await mkdir(outDir, { recursive: true });
  const request = {
    kind: model.kind,
    modelPath: model.path,
    ...(model.factory ? { factory: model.factory } : {}),
    ...(options.inputFile !== undefined ? { inputFile: resolve(options.inputFile) } : { inputSpecs: options.inputSpecs }),
    ...(options.inputName !== undefined ? { inputName: options.inputName } : {}),
    seed: options.seed ?? 0,
    ...(options.outputNames ? { outputNames: options.outputNames } : {}),
    out: outDir,
    onnx: options.onnx === true,
    opset: options.opset ?? 17,
    safetensors: options.safetensors === true,
    threads: options.threads ?? 1,
  };
  const requestPath = resolve(outDir, '.refs-request.json');
  await writeFile(requestPath, JSON.stringify(request, null, 2));
  const { code, stderr } = await runPython(requestPath).finally(() => rm(requestPath, { force: true }));
  if (code !== 0) {
    const line = stderr.split('\n').reverse().find((l) => l.startsWith(ERROR_PREFIX));
    if (line !== undefined) {
      const e = JSON.parse(line.slice(ERROR_PREFIX.length)) as { code: ErrorCode; message: string; expected?: string };
      throw new BenchalignError(e.code, `refs: ${e.message}`, e.expected ? { expected: e.expected } : {});
    }
    const tail = stderr.trim().split('\n').slice(-15).join('\n');
    throw new BenchalignError('E_ENGINE', `refs: PyTorch exited with code ${code}:\n${tail}`, { file: model.path });
  }
  const manifest = JSON.parse(await readFile(resolve(outDir, 'refs.json'), 'utf8')) as RefsManifest;
  const suitePath = resolve(outDir, 'suite.yaml');
  const doc = new Document(refsSuite(name, outDir, manifest, options.engines ?? []));
  visit(doc, {
    Seq(_, node) {
      if (node.items.every((i) => isScalar(i))) node.flow = true;
    },
  });
  await writeFile(suitePath, `# Written by benchalign refs (PyTorch ${manifest.torch}, fp32, CPU). Run: benchalign run ${suitePath}\n${doc.toString()}`);
  return { outDir, suitePath, manifest };
}
