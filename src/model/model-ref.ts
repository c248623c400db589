/**
 * What a model is, as every floor names it: its file and hash, its PyTorch form, the
 * inputs and outputs an engine declares, and what a worker did to an output's layout.
 */
import type { DType } from '../tensors/dtype.js';
import type { Precision } from './record.js';

export type { Precision };

/** An input or output as the engine declares it. Symbolic dims are strings. */
export interface TensorMeta {
  name: string;
  dtype: DType | string;
  dims: Array<number | string>;
}

/**
 * The PyTorch form of a model (suite field `pytorch`), for the `pytorch` engine: exactly one
 * of a TorchScript file, an ExportedProgram (.pt2) or a `file.py:function` factory.
 */
export interface PytorchModelRef {
  kind: 'torchscript' | 'exported' | 'factory';
  /** Absolute path: the TorchScript / .pt2 file, or the factory's Python file. */
  path: string;
  /** The factory function's name (kind `factory`). */
  factory?: string;
  /** sha256 of the file at `path`, computed when the suite loads (recorded as appliedOptions.modelSha256). */
  sha256?: string;
  /** Input names, dtypes and dims, in forward() order. Default: from the ONNX model at `path`, else from the module. */
  inputs?: TensorMeta[];
  /** Output names, in the order the module returns them. Default: the ONNX model's, else a dict's keys, else output_K. */
  outputs?: string[];
}

export interface ModelRef {
  name: string;
  /** Absolute path to the model file (ONNX for most engines). */
  path: string;
  sha256: string;
  /** Pinned input shapes, by input name. */
  shapes?: Record<string, number[]>;
  /** The PyTorch form of the model, when the suite gives one (the `pytorch` engine loads it). */
  pytorch?: PytorchModelRef;
}

/** What a worker did to one engine output before returning it under the model's output name. */
export interface OutputReconciliation {
  /** The engine's own name of the output (ncnn `out0`), when it differs. */
  engineName?: string;
  /** Layout steps applied, in order, e.g. "added batch dim", "NC4HW4->NCHW". */
  layout: string[];
}

