/**
 * The PyTorch runner: eager PyTorch in a Python worker (runner-agents/python/benchalign_worker/
 * pytorch_worker.py). It runs a suite model's PyTorch form (`pytorch`: TorchScript,
 * ExportedProgram or a `file.py:function` factory) with no conversion, so there is no
 * conversion cache; precision is applied explicitly (autocast or cast) and recorded
 * (docs/engines.md).
 */
import type { ModelRef } from '../../model/model-ref.js';
import { PythonWorkerRunner } from '../python/runner.js';

export class PyTorchRunner extends PythonWorkerRunner {
  readonly name = 'pytorch';
  protected readonly module = 'pytorch_worker';

  protected override loadExtras(model: ModelRef): Record<string, unknown> {
    return model.pytorch ? { pytorch: model.pytorch } : {};
  }
}
