/**
 * What the engines that start from PyTorch (ExecuTorch, LiteRT) need to convert a suite model:
 * its PyTorch form (the suite's `pytorch` field), example inputs at fixed shapes, and the
 * output names. Shared by their runners' `prepare`; the conversion itself runs in the venv
 * (runner-agents/python/benchalign_worker/torch_export.py and the engine's converter).
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { BenchalignError } from '../../errors.js';
import { inspectModelBytes } from '../../tensors/inspect.js';
import type { ModelRef, PytorchModelRef, TensorMeta } from '../../model/model-ref.js';

export interface TorchConversionIo {
  /** Inputs in forward() order, with fixed dims (the suite's `shapes`; symbolic dims as 1). */
  inputs: Array<{ name: string; dtype: string; dims: number[] }>;
  /** Output names in the order the module returns them. */
  outputNames: string[];
  /** What was pinned: "batch=1 (symbolic in input)". */
  pinned: string[];
}

/** The model's PyTorch form, or E_CONFIG saying the suite must give one. */
export function requirePytorch(model: ModelRef, engine: string): PytorchModelRef {
  if (model.pytorch === undefined) {
    throw new BenchalignError('E_CONFIG', `${engine}: model "${model.name}" has no PyTorch form to export (${engine} starts from PyTorch, not ONNX)`, {
      expected: `pytorch: {torchscript|exported|factory: ...} on the model (docs/suites.md), or a model file ${engine} runs as given`,
    });
  }
  return model.pytorch;
}

/**
 * The example inputs and output names of a conversion: the `pytorch` field's `inputs`/`outputs`
 * when it gives them, else the ONNX model at `model.path` (with the suite's `shapes`).
 */
export async function torchConversionIo(model: ModelRef, engine: string): Promise<TorchConversionIo> {
  const pt = requirePytorch(model, engine);
  let declared: TensorMeta[] | undefined = pt.inputs;
  let outputNames: string[] | undefined = pt.outputs;
  if ((declared === undefined || outputNames === undefined) && extname(model.path).toLowerCase() === '.onnx') {
    const io = inspectModelBytes(await readFile(model.path), model.path);
    declared ??= io.inputs.map((v) => ({ name: v.name, dtype: v.dtype, dims: (v.shape ?? []).map((d) => (d === null ? '?' : d)) }));
    outputNames ??= io.outputs.map((v) => v.name);
  }
  if (declared === undefined) {
    throw new BenchalignError('E_CONFIG', `${engine}: the inputs of model "${model.name}" are unknown (no ONNX model, no pytorch.inputs)`, {
      expected: 'pytorch.inputs: [{name, dtype, dims}] on the model, or an ONNX model path',
    });
  }
  const pinned: string[] = [];
  const inputs = declared.map((m) => {
    const fixed = model.shapes?.[m.name];
    const dims = fixed
      ? [...fixed]
      : m.dims.map((d, i) => {
          if (typeof d === 'number' && d > 0) return d;
          pinned.push(`${m.name}[${i}]${typeof d === 'string' && d !== '?' ? ` (${d})` : ''}=1`);
          return 1;
        });
    return { name: m.name, dtype: String(m.dtype), dims };
  });
  return { inputs, outputNames: outputNames ?? [], pinned };
}
