/**
 * The ExecuTorch runner: pip `executorch` in a Python worker (runner-agents/python/
 * benchalign_worker/executorch_worker.py). `prepare` exports the suite model's PyTorch form
 * (its `pytorch` field) with torch.export -> to_edge_transform_and_lower (XNNPACK partitioner)
 * -> to_executorch (benchalign_worker.executorch_convert) and caches the .pte by the PyTorch
 * file's hash, ExecuTorch's version, the input shapes and the export options; a .pte model is
 * run as given. The worker reports which operators XNNPACK took (docs/engines.md).
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

/** The engine options that change the exported program. */
export interface ExecuTorchExportOptions {
  /** Lower to the XNNPACK delegate (XnnpackPartitioner). Default true. */
  xnnpack: boolean;
}

/** The export options from a job's engine options; throws E_CONFIG naming each bad one. */
export function executorchExportOptions(options: Record<string, unknown>): ExecuTorchExportOptions {
  const v = options.xnnpack;
  if (v !== undefined && typeof v !== 'boolean') {
    throw new BenchalignError('E_CONFIG', `executorch: options.xnnpack: expected true or false, got ${JSON.stringify(v)}`, { expected: 'valid engine options (docs/engines.md)' });
  }
  return { xnnpack: v ?? true };
}

const versions = new Map<string, Promise<string>>();

function converterArgv(args: readonly string[]): { argv: string[]; env: Record<string, string> } {
  const cmd = pythonWorkerCommand('executorch_convert');
  return { argv: [cmd.command, ...cmd.args, ...args], env: cmd.env ?? {} };
}

/** "executorch X torch Y" from the venv (once per interpreter). */
export function executorchVersion(): Promise<string> {
  const { argv, env } = converterArgv(['--version']);
  let v = versions.get(argv[0]!);
  if (v === undefined) {
    v = runConverter(argv, { cwd: process.cwd(), env, timeoutMs: 120_000 }).then((out) => {
      const line = out.split('\n').find((l) => l.startsWith('{'));
      const parsed = line ? (JSON.parse(line) as { executorch?: unknown; torch?: unknown }) : {};
      if (typeof parsed.executorch !== 'string' || typeof parsed.torch !== 'string') {
        throw new BenchalignError('E_ENGINE_MISSING', `executorch: cannot read the ExecuTorch version from the venv: ${out.slice(-400)}`, {
          expected: 'pip executorch in the engines venv (benchalign engines setup --engines executorch)',
        });
      }
      return `executorch ${parsed.executorch} torch ${parsed.torch}`;
    });
    v.catch(() => versions.delete(argv[0]!));
    versions.set(argv[0]!, v);
  }
  return v;
}

export class ExecuTorchRunner extends PythonWorkerRunner {
  readonly name = 'executorch';
  protected readonly module = 'executorch_worker';

  protected override loadExtras(model: ModelRef): Record<string, unknown> {
    return model.pytorch ? { pytorch: model.pytorch } : {};
  }

  /** Exports the model's PyTorch form to model.pte (cached); a .pte model is used as it is. */
  override async prepare(model: ModelRef, options: EngineOptions): Promise<PreparedModel> {
    if (extname(model.path).toLowerCase() === '.pte') return { path: model.path };
    const exportOptions = executorchExportOptions(options.options);
    if (options.precision !== 'fp32') {
      throw new BenchalignError('E_UNSUPPORTED', `executorch: precision ${options.precision} is not supported here`, { expected: 'fp32 (a program computes in the types it was exported with)' });
    }
    const io = await torchConversionIo(model, 'executorch');
    const pytorch = model.pytorch!;
    const availability = await this.available();
    if (!availability.available) throw new BenchalignError('E_ENGINE_MISSING', `executorch is not available: ${availability.reason}`);
    const converter = await executorchVersion();
    const sha256 = pytorch.sha256 ?? (await hashFile(pytorch.path));
    const result = await cachedConversion(
      { engine: 'executorch', modelSha256: sha256, converter, options: { ...exportOptions, kind: pytorch.kind, factory: pytorch.factory ?? null, inputs: io.inputs, outputNames: io.outputNames } },
      async (outDir) => {
        const request = join(outDir, 'request.json');
        await writeFile(request, JSON.stringify({ pytorch: { kind: pytorch.kind, path: pytorch.path, factory: pytorch.factory }, inputs: io.inputs, outputNames: io.outputNames, out: outDir, xnnpack: exportOptions.xnnpack }));
        const { argv, env } = converterArgv(['--request', request]);
        try {
          await runConverter(argv, { cwd: outDir, env });
        } catch (e) {
          if (!(e instanceof BenchalignError)) throw e;
          throw new BenchalignError('E_CONVERT', `ExecuTorch could not export ${pytorch.path}: ${e.message.replace(/^\S+ /, '')}`, {
            expected: 'a PyTorch model torch.export and ExecuTorch accept',
          });
        }
      },
    );
    return { path: join(result.dir, 'model.pte'), convertMs: result.convertMs, cacheHit: result.cacheHit };
  }
}
