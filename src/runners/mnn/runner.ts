/**
 * The MNN runner: pip `MNN` in a Python worker (runner-agents/python/benchalign_worker/
 * mnn_worker.py). `prepare` converts ONNX to .mnn with MNNConvert (benchalign_worker.mnn_convert,
 * which runs the converter of pip MNN without its `mnnconvert` script's pip call and usage
 * log) and caches the result by model hash, converter version and conversion options. The
 * worker loads it with an explicit CPU runtime config (docs/engines.md).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { BenchalignError } from '../../errors.js';
import { hashFile } from '../../model/hash.js';
import { inspectModelBytes } from '../../tensors/inspect.js';
import { cachedConversion, runConverter } from '../convert-cache.js';
import { pythonPath, pythonWorkersDir } from '../python/env.js';
import { PythonWorkerRunner } from '../python/runner.js';
import type { EngineOptions, PreparedModel } from '../types.js';
import type { ModelRef } from '../../model/model-ref.js';

/** The engine options that change the converted model. */
export interface MnnConversionOptions {
  /** MNNConvert --fp16: store weights as fp16. Default false. */
  fp16Weights: boolean;
  /** MNNConvert --keepInputFormat: false lets 4-D inputs and outputs take MNN's NC4HW4 layout. Default true. */
  keepInputFormat: boolean;
  /**
   * MNNConvert --useGeluApproximation: fuse ONNX's erf GELU into MNN's tanh approximation
   * (max abs error about 5e-4, beyond the fp32 tolerance). MNNConvert's own default is true;
   * benchalign's is false (exact erf GELU).
   */
  geluApproximation: boolean;
}

/** The conversion options from a job's engine options; throws E_CONFIG naming each bad one. */
export function mnnConversionOptions(options: Record<string, unknown>): MnnConversionOptions {
  const problems: string[] = [];
  const flag = (name: keyof MnnConversionOptions, dflt: boolean): boolean => {
    const v = options[name];
    if (v === undefined) return dflt;
    if (typeof v !== 'boolean') {
      problems.push(`options.${name}: expected true or false, got ${JSON.stringify(v)}`);
      return dflt;
    }
    return v;
  };
  const out = { fp16Weights: flag('fp16Weights', false), keepInputFormat: flag('keepInputFormat', true), geluApproximation: flag('geluApproximation', false) };
  if (problems.length > 0) throw new BenchalignError('E_CONFIG', `mnn: ${problems.join('; ')}`, { expected: 'valid engine options (docs/engines.md)' });
  return out;
}

/** The MNNConvert argv (after the program) for `model` -> `out`. */
export function mnnConvertArgs(model: string, out: string, conv: MnnConversionOptions): string[] {
  return [
    '-f',
    'ONNX',
    '--modelFile',
    model,
    '--MNNModel',
    out,
    '--bizCode',
    'benchalign',
    ...(conv.fp16Weights ? ['--fp16'] : []),
    ...(conv.keepInputFormat ? [] : ['--keepInputFormat=0']),
    '--useGeluApproximation',
    conv.geluApproximation ? '1' : '0',
  ];
}

export class MnnRunner extends PythonWorkerRunner {
  readonly name = 'mnn';
  protected readonly module = 'mnn_worker';

  /** Converts an ONNX model to .mnn (cached); an .mnn model is used as it is. */
  override async prepare(model: ModelRef, options: EngineOptions): Promise<PreparedModel> {
    if (extname(model.path).toLowerCase() === '.mnn') return { path: model.path };
    const conv = mnnConversionOptions(options.options);
    const availability = await this.available();
    if (!availability.available) throw new BenchalignError('E_ENGINE_MISSING', `mnn is not available: ${availability.reason}`);
    const modelSha256 = model.sha256 !== '' ? model.sha256 : await hashFile(model.path);
    const result = await cachedConversion(
      { engine: 'mnn', modelSha256, converter: `MNNConvert ${availability.version}`, options: { ...conv } },
      async (outDir) => {
        const out = join(outDir, 'model.mnn');
        try {
          await runConverter([pythonPath(), '-u', '-m', 'benchalign_worker.mnn_convert', ...mnnConvertArgs(model.path, out, conv)], {
            cwd: outDir,
            env: { PYTHONPATH: pythonWorkersDir(), PYTHONDONTWRITEBYTECODE: '1' },
          });
        } catch (e) {
          if (!(e instanceof BenchalignError)) throw e;
          throw new BenchalignError('E_CONVERT', `MNNConvert failed on ${model.path}: ${e.message.replace(/^\S+ /, '')}`, {
            expected: 'an ONNX model MNNConvert accepts',
          });
        }
        const io = inspectModelBytes(await readFile(model.path), model.path);
        const entry = (v: { name: string; dtype: string; shape: Array<number | string | null> | null }) => ({ name: v.name, dtype: v.dtype, dims: v.shape });
        await writeFile(`${out}.io.json`, JSON.stringify({ source: model.path, inputs: io.inputs.map(entry), outputs: io.outputs.map(entry) }, null, 2));
      },
    );
    return { path: join(result.dir, 'model.mnn'), convertMs: result.convertMs, cacheHit: result.cacheHit };
  }
}
