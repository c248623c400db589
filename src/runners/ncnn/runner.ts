/**
 * The ncnn runner: pip `ncnn` in a Python worker (runner-agents/python/benchalign_worker/
 * ncnn_worker.py), on models converted from ONNX with pip `pnnx`
 * (benchalign_worker/ncnn_convert.py) and kept in the conversion cache.
 *
 * The conversion fixes the input shapes (the suite's `shapes`, else the graph's static dims),
 * keeps fp32 weights for every job but fp16 ones (`fp16=0`), and writes the mapping from
 * pnnx's blob names (in0.., out0..) to the ONNX names, checked by position and shape against
 * the ONNX graph. The worker reports that mapping and the batch dim it removes and restores
 * (ncnn Mats have none) in each output's reconciliation (docs/engines.md).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BenchalignError } from '../../errors.js';
import { cachedConversion, runConverter } from '../convert-cache.js';
import { pythonPath, pythonWorkerCommand } from '../python/env.js';
import { PythonWorkerRunner } from '../python/runner.js';
import type { EngineOptions, PreparedModel } from '../types.js';
import type { ModelRef } from '../../model/model-ref.js';

/** Precisions the ncnn runner runs. */
const PRECISIONS = new Set(['fp32', 'fp16']);

const versions = new Map<string, Promise<{ pnnx: string; sidecarFormat: number }>>();

function converterArgv(args: readonly string[]): { argv: string[]; env: Record<string, string> } {
  const cmd = pythonWorkerCommand('ncnn_convert');
  return { argv: [cmd.command, ...cmd.args, ...args], env: cmd.env ?? {} };
}

/** pnnx's version and the mapping file's format, from the venv (once per interpreter). */
export function pnnxVersion(): Promise<{ pnnx: string; sidecarFormat: number }> {
  const python = pythonPath();
  let v = versions.get(python);
  if (v === undefined) {
    const { argv, env } = converterArgv(['--version']);
    v = runConverter(argv, { cwd: process.cwd(), env, timeoutMs: 60_000 }).then((out) => {
      const line = out.split('\n').find((l) => l.startsWith('{'));
      const parsed = line ? (JSON.parse(line) as { pnnx?: unknown; sidecarFormat?: unknown }) : {};
      if (typeof parsed.pnnx !== 'string' || typeof parsed.sidecarFormat !== 'number') {
        throw new BenchalignError('E_ENGINE_MISSING', `ncnn: cannot read the pnnx version from the venv: ${out.slice(-400)}`, {
          expected: 'pip pnnx in the engines venv (benchalign engines setup --engines ncnn)',
        });
      }
      return { pnnx: parsed.pnnx, sidecarFormat: parsed.sidecarFormat };
    });
    v.catch(() => versions.delete(python));
    versions.set(python, v);
  }
  return v;
}

/**
 * Whether the external tensor data files a cached conversion was made from still have the
 * hashes it recorded (the cache key covers the .onnx file only).
 */
async function externalDataUnchanged(modelPath: string, dir: string): Promise<boolean> {
  let recorded: Array<{ file?: unknown; sha256?: unknown }>;
  try {
    const sidecar = JSON.parse(await readFile(join(dir, 'benchalign-ncnn.json'), 'utf8')) as { externalData?: unknown };
    recorded = Array.isArray(sidecar.externalData) ? (sidecar.externalData as typeof recorded) : [];
  } catch {
    return false;
  }
  for (const e of recorded) {
    if (typeof e.file !== 'string' || typeof e.sha256 !== 'string') return false;
    try {
      if ((await sha256File(join(dirname(modelPath), e.file))) !== e.sha256) return false;
    } catch {
      return false;
    }
  }
  return true;
}

function sha256File(path: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (b) => h.update(b))
      .on('end', () => resolvePromise(h.digest('hex')))
      .on('error', reject);
  });
}

export class NcnnRunner extends PythonWorkerRunner {
  readonly name = 'ncnn';
  protected readonly module = 'ncnn_worker';

  /**
   * Converts the ONNX model with pnnx into the conversion cache (keyed by the model's sha256,
   * the pnnx version, the weights' precision and the input shapes) and returns the
   * model.ncnn.param there. Conversion time is `convertMs` (0 on a cache hit).
   */
  override async prepare(model: ModelRef, options: EngineOptions): Promise<PreparedModel> {
    if (!PRECISIONS.has(options.precision)) {
      throw new BenchalignError('E_UNSUPPORTED', `ncnn: precision ${options.precision} is not supported by this runner`, {
        expected: 'fp32|fp16 (ncnn int8 needs a model quantized with ncnn2int8 and a calibration table)',
      });
    }
    if (!model.path.toLowerCase().endsWith('.onnx')) {
      throw new BenchalignError('E_UNSUPPORTED', `ncnn: ${model.path} is not an ONNX model`, {
        file: model.path,
        expected: 'an .onnx model (the runner converts it with pnnx)',
      });
    }
    const fp16Weights = options.precision === 'fp16';
    const shapes = model.shapes ?? {};
    const version = await pnnxVersion();
    const key = {
      engine: 'ncnn',
      modelSha256: model.sha256 || (await sha256File(model.path)),
      converter: `pnnx ${version.pnnx}`,
      options: { fp16Weights, shapes, sidecarFormat: version.sidecarFormat },
    };
    const args = [model.path, '', '--fp16', fp16Weights ? '1' : '0', '--shapes', JSON.stringify(shapes)];
    const convert = async (outDir: string): Promise<void> => {
      args[1] = outDir;
      const { argv, env } = converterArgv(args);
      try {
        await runConverter(argv, { cwd: outDir, env });
      } catch (e) {
        if (e instanceof BenchalignError && e.code === 'E_CONVERT') {
          const inner = e.expected !== undefined ? e.message.slice(0, e.message.length - ` (expected ${e.expected})`.length) : e.message;
          const why = inner.replace(/^\S+ (exited|was killed)/, 'the converter $1');
          throw new BenchalignError('E_CONVERT', `ncnn: converting with pnnx ${version.pnnx} failed: ${why}\n`, {
            file: model.path,
            expected: 'an ONNX model pnnx converts, with batch-1 input shapes',
          });
        }
        throw e;
      }
    };
    let done = await cachedConversion(key, convert);
    if (done.cacheHit && !(await externalDataUnchanged(model.path, done.dir))) {
      await rm(done.dir, { recursive: true, force: true });
      done = await cachedConversion(key, convert);
    }
    return { path: join(done.dir, 'model.ncnn.param'), convertMs: done.convertMs, cacheHit: done.cacheHit };
  }
}
