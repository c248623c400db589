/**
 * The LiteRT runner: pip `ai-edge-litert` in a Python worker (runner-agents/python/
 * benchalign_worker/litert_worker.py). `prepare` converts the suite model's PyTorch form (its
 * `pytorch` field) with `litert-torch` (benchalign_worker.litert_convert) and caches the .tflite
 * by the PyTorch file's hash, litert-torch's version and the input shapes; a .tflite model is
 * run as given. The worker records the delegate that really ran (docs/engines.md).
 */
import { writeFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { BenchalignError } from '../../errors.js';
import { hashFile } from '../../model/hash.js';
import { cachedConversion, runConverter } from '../convert-cache.js';
import { pythonWorkerCommand } from '../python/env.js';
import { PythonWorkerRunner } from '../python/runner.js';
import { torchConversionIo } from '../python/torch-convert.js';
import type { EngineOptions, PreparedModel } from '../types.js';
import type { ModelRef } from '../../model/model-ref.js';

const versions = new Map<string, Promise<string>>();

function converterArgv(args: readonly string[]): { argv: string[]; env: Record<string, string> } {
  const cmd = pythonWorkerCommand('litert_convert');
  return { argv: [cmd.command, ...cmd.args, ...args], env: cmd.env ?? {} };
}

/** "litert-torch X torch Y" from the venv (once per interpreter). */
export function litertTorchVersion(): Promise<string> {
  const { argv, env } = converterArgv(['--version']);
  let v = versions.get(argv[0]!);
  if (v === undefined) {
    v = runConverter(argv, { cwd: process.cwd(), env, timeoutMs: 120_000 }).then((out) => {
      const line = out.split('\n').find((l) => l.startsWith('{'));
      const parsed = line ? (JSON.parse(line) as { litertTorch?: unknown; torch?: unknown }) : {};
      if (typeof parsed.litertTorch !== 'string' || typeof parsed.torch !== 'string') {
        throw new BenchalignError('E_ENGINE_MISSING', `litert: cannot read the litert-torch version from the venv: ${out.slice(-400)}`, {
          expected: 'pip litert-torch in the engines venv (benchalign engines setup --engines litert)',
        });
      }
      return `litert-torch ${parsed.litertTorch} torch ${parsed.torch}`;
    });
    v.catch(() => versions.delete(argv[0]!));
    versions.set(argv[0]!, v);
  }
  return v;
}

export class LiteRtRunner extends PythonWorkerRunner {
  readonly name = 'litert';
  protected readonly module = 'litert_worker';

  /** Converts the model's PyTorch form to model.tflite (cached); a .tflite model is used as it is. */
  override async prepare(model: ModelRef, options: EngineOptions): Promise<PreparedModel> {
    if (extname(model.path).toLowerCase() === '.tflite') return { path: model.path };
    if (options.precision !== 'fp32') {
      throw new BenchalignError('E_UNSUPPORTED', `litert: precision ${options.precision} is not supported for a converted model`, {
        expected: 'fp32 (int8: give a quantized .tflite as the model; the Python Interpreter has no XNNPACK fp16 switch)',
      });
    }
    const io = await torchConversionIo(model, 'litert');
    const pytorch = model.pytorch!;
    const availability = await this.available();
    if (!availability.available) throw new BenchalignError('E_ENGINE_MISSING', `litert is not available: ${availability.reason}`);
    const converter = await litertTorchVersion();
    const sha256 = pytorch.sha256 ?? (await hashFile(pytorch.path));
    const result = await cachedConversion(
      { engine: 'litert', modelSha256: sha256, converter, options: { kind: pytorch.kind, factory: pytorch.factory ?? null, inputs: io.inputs, outputNames: io.outputNames } },
      async (outDir) => {
        const request = join(outDir, 'request.json');
        await writeFile(request, JSON.stringify({ pytorch: { kind: pytorch.kind, path: pytorch.path, factory: pytorch.factory }, inputs: io.inputs, outputNames: io.outputNames, out: outDir }));
        const { argv, env } = converterArgv(['--request', request]);
        try {
          await runConverter(argv, { cwd: outDir, env });
        } catch (e) {
          if (!(e instanceof BenchalignError)) throw e;
          throw new BenchalignError('E_CONVERT', `litert-torch could not convert ${pytorch.path}: ${e.message.replace(/^\S+ /, '')}`, {
            expected: 'a PyTorch model torch.export and litert-torch accept',
          });
        }
      },
    );
    return { path: join(result.dir, 'model.tflite'), convertMs: result.convertMs, cacheHit: result.cacheHit };
  }
}
