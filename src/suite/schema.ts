/**
 * The suite file format (YAML or JSON), as a zod schema. Objects are strict: an unknown key
 * is an error at its path. Each field's documentation (units, default) is its `describe()`
 * text, which also becomes its description in docs/suite.schema.json for editor completion.
 *
 * This schema checks shapes and ranges only. Checks that need the file system or several
 * fields at once (files exist, sha256 matches, names are unique) are in load.ts.
 */
import { z } from 'zod';
import { strict } from '../config/schema-kit.js';
import { AgentSelectorSchema, SuiteAgentsSchema } from '../config/agents-schema.js';
import { PRECISIONS } from '../model/record.js';
import type { Budgets, OutputSettings, ToleranceOverride } from '../model/suite.js';

export { PRECISIONS };

const identifier = (what: string) =>
  z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { error: `expected a ${what} of letters, digits, ".", "_" or "-"` });

export const ModelNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/, {
    error: 'expected a name of letters, digits, ".", "_", "-", with "/" between parts',
  })
  .describe('Model name, unique in the suite; the first part of every job key. "/" separates parts.');

export const Sha256Schema = z
  .string()
  .regex(/^[0-9a-fA-F]{64}$/, { error: 'expected 64 hex digits' })
  .describe('Expected sha256 of the file, 64 hex digits. When given, the file is hashed and checked at load.');

const RelativePath = (what: string) => z.string().min(1).describe(`${what}, relative to the suite file (or absolute).`);

const RangeSchema = z
  .tuple([z.number(), z.number()])
  .describe('[low, high]. Floats are uniform in [low, high), integers uniform in [low, high] inclusive.');

export const ReferenceInputsSchema = strict(
  {
    source: z.literal('reference'),
    file: RelativePath('Tensor file with the inputs the reference outputs were computed from (.pt, .npz, .npy, .safetensors, .pb)'),
  },
  'Feed the PyTorch inputs saved next to the reference outputs, by input name.',
  { id: 'ReferenceInputs' },
);

export const RandomInputsSchema = strict(
  {
    source: z.literal('random'),
    seed: z.int().min(0).default(0).describe('Seed of the generator. Default 0.'),
    ranges: z
      .record(z.string(), RangeSchema)
      .default({})
      .describe('Value range by input name; "*" sets the range of every other input. Default [0, 1] for all.'),
  },
  'Seeded random inputs, one value range per input (as Polygraphy’s data loader does). Shapes come from the model, with dynamic dims pinned by `shapes`.',
  { id: 'RandomInputs' },
);

export const InputsSchema = z
  .discriminatedUnion('source', [ReferenceInputsSchema, RandomInputsSchema])
  .describe('Where the inputs come from. Default: { source: random, seed: 0 }.');

export const ToleranceOverrideFields = {
  atol: z.number().min(0).optional().describe('Absolute tolerance of the elementwise rule |a - r| <= atol + rtol * |r|. Default by precision.'),
  rtol: z.number().min(0).optional().describe('Relative tolerance of the elementwise rule. Default by precision.'),
  cosineMin: z.number().min(-1).max(1).optional().describe('Minimum cosine similarity with the reference. Default: not checked (int8: by precision).'),
  snrMinDb: z.number().optional().describe('Minimum signal-to-noise ratio against the reference, in dB. Default: not checked.'),
  elementwise: z.boolean().optional().describe('Apply the elementwise rule. Default true (int8: floors only).'),
  equalNan: z.boolean().optional().describe('Treat NaN == NaN as equal. Default true.'),
  topK: z.int().min(1).optional().describe('Check top-1 / top-k agreement along the last axis (classifier logits or probabilities).'),
  top1Min: z.number().min(0).max(1).optional().describe('Minimum top-1 agreement in [0, 1] when topK is set. Default 1.'),
};

export const ToleranceOverrideSchema = strict(
  ToleranceOverrideFields,
  'Tolerance overrides for one output; unset fields keep the precision default.',
  { id: 'ToleranceOverride' },
);

export const OutputSettingsSchema = strict(
  {
    ...ToleranceOverrideFields,
    compare: z.boolean().optional().describe('Compare this output with the reference. Default true; false for outputs that are not deterministic.'),
  },
  'Settings of one output: tolerance overrides, and whether to compare it.',
  { id: 'OutputSettings' },
);

export const BudgetsSchema = strict(
  {
    p50MaxMs: z.number().positive().optional().describe('Fail the job when steady-state p50 latency exceeds this, in milliseconds.'),
    p99MaxMs: z.number().positive().optional().describe('Fail the job when steady-state p99 latency exceeds this, in milliseconds.'),
    throughputMinPerSec: z.number().positive().optional().describe('Fail the job when the best throughput is below this, in inferences per second.'),
    peakRssMaxMiB: z.number().positive().optional().describe('Fail the job when the worker’s peak resident memory exceeds this, in MiB.'),
  },
  'Performance budgets of a model, checked on every engine. Default: none.',
  { id: 'Budgets' },
);

const WarmupSchema = strict(
  {
    minIterations: z.int().min(0).optional().describe('Warm-up iterations at least. Default 10.'),
    maxIterations: z
      .int()
      .min(0)
      .optional()
      .describe('Warm-up iterations at most; MSER truncation ends warm-up earlier once samples are steady. Default 2000.'),
    maxMs: z.number().min(0).optional().describe('Warm-up time at most, in milliseconds. Default 5000.'),
  },
  'Warm-up bounds. Warm-up ends by steady-state detection (MSER-5) between these bounds.',
  { id: 'Warmup' },
);

export const MeasurementSchema = strict(
  {
    warmup: WarmupSchema.optional(),
    minDurationMs: z.number().min(0).optional().describe('Steady-state timing at least, in milliseconds. Default 1000.'),
    maxDurationMs: z
      .number()
      .positive()
      .optional()
      .describe('Steady-state timing at most, in milliseconds; reaching it before the CI target marks the stopping of that repeat not stable, with a recommendation. Default 10000.'),
    minIterations: z.int().min(1).optional().describe('Timed iterations at least. Default 50.'),
    maxIterations: z
      .int()
      .min(1)
      .optional()
      .describe('Timed iterations at most; reaching it before the CI target marks the stopping of that repeat not stable, with a recommendation. Default 10000..'),
    targetCiHalfWidthPct: z
      .number()
      .positive()
      .optional()
      .describe('Stop once the 95% CI half-width of p50 is within this percentage of p50. Default 1.'),
    targetCiHalfWidthPctP99: z
      .number()
      .positive()
      .optional()
      .describe('The same target for p99, applied once there are enough samples to bound p99. Default 5.'),
    repeats: z
      .int()
      .min(1)
      .optional()
      .describe('Independent worker processes per job, interleaved across the jobs of the run. Default 1.'),
    maxRepeats: z
      .int()
      .min(1)
      .optional()
      .describe('Adaptive repeats: after `repeats`, add one repeat at a time while the combined 95% interval of p50 is wider than targetCiHalfWidthPct, up to this many (never fewer than repeats). Default: repeats (off).'),
    repeatsBudgetMs: z
      .number()
      .positive()
      .optional()
      .describe('Adaptive repeats: add no repeat once the job\'s repeats took this long together, or one more of their mean length would pass it, in milliseconds. Default: no budget.'),
    concurrency: z
      .array(z.int().min(1))
      .min(1)
      .optional()
      .describe('Concurrent in-flight requests for the throughput measurement, one level per entry. Single-stream is always measured. Default [1].'),
    batchSizes: z.array(z.int().min(1)).min(1).optional().describe('Batch sizes to sweep. Default [1].'),
    timeoutMs: z
      .number()
      .positive()
      .optional()
      .describe('Per-job time limit (load, warm-up, timing, outputs), in milliseconds; the worker is killed past it. Default 120000.'),
  },
  'How jobs are timed. Every field is optional; a model’s measurement overrides the suite’s field by field.',
  { id: 'Measurement' },
);

const ShapesSchema = z
  .record(z.string(), z.array(z.int().min(1)).describe('Dims of this input.'))
  .describe('Input shapes by input name. Pins the model’s dynamic dims; must agree with the static ones.');

const TensorSpecSchema = strict(
  {
    name: z.string().min(1).describe('Input name, as the references and the ONNX model name it.'),
    dtype: z.string().min(1).default('float32').describe('NumPy dtype name (float32, float16, int64, bool, ...). Default float32.'),
    dims: z.array(z.union([z.int().min(0), z.string()])).describe('Dims; a string is a symbolic (dynamic) dim, pinned by `shapes`.'),
  },
  'One input of the PyTorch model.',
  { id: 'PytorchTensorSpec' },
);

export const PytorchModelSchema = strict(
  {
    torchscript: RelativePath('TorchScript file (torch.jit.save), loaded with torch.jit.load').optional(),
    exported: RelativePath('ExportedProgram file (.pt2, torch.export.save), loaded with torch.export.load').optional(),
    factory: z
      .string()
      .regex(/^.+\.py:[A-Za-z_][A-Za-z0-9_]*$/, { error: 'expected "path/to/file.py:function"' })
      .optional()
      .describe('"path/to/file.py:function", relative to the suite file: the file is imported (its folder on sys.path) and function() returns the nn.Module. This runs the file: name only code you trust.'),
    inputs: z
      .array(TensorSpecSchema)
      .optional()
      .describe('Inputs in forward() order. Default: from the ONNX model at `path` when it is one, else from the module (names only; shapes from `shapes` or the input file).'),
    outputs: z
      .array(z.string().min(1))
      .optional()
      .describe('Output names in the order the module returns them. Default: the ONNX model’s, else the keys of a returned dict, else output_0, output_1, ...'),
  },
  'The PyTorch form of this model, for the `pytorch` engine: exactly one of torchscript, exported or factory.',
  { id: 'PytorchModel' },
);

export const FileModelSchema = strict(
  {
    name: ModelNameSchema,
    path: RelativePath('Model file (ONNX; for the pytorch engine alone, a TorchScript .pt or an ExportedProgram .pt2 also works)'),
    sha256: Sha256Schema.optional(),
    inputs: InputsSchema.optional(),
    reference: RelativePath('Tensor file with the PyTorch reference outputs, by output name (.pt, .npz, .npy, .safetensors, .pb). Default: no alignment').optional(),
    shapes: ShapesSchema.default({}),
    outputs: z
      .record(z.string(), OutputSettingsSchema)
      .default({})
      .describe('Per-output settings by output name; "*" applies to every output of this model.'),
    budgets: BudgetsSchema.optional(),
    measurement: MeasurementSchema.optional(),
    pytorch: PytorchModelSchema.optional(),
    agents: AgentSelectorSchema.optional().describe('Runner agents this model needs, by labels (e.g. { labels: { arch: arm64 } }). Default: any.'),
  },
  'One model file, with its inputs and reference outputs.',
  { id: 'Model' },
);

export const OnnxTestsModelSchema = strict(
  {
    onnxTests: RelativePath('Folder of ONNX test-data cases: every subfolder, at any depth, holding model.onnx and test_data_set_N/ folders is one model'),
    name: ModelNameSchema.optional().describe('Prefix of the case names ("<name>/<case>"). Default: none, the case is named by its folder relative to onnxTests.'),
    outputs: z
      .record(z.string(), OutputSettingsSchema)
      .default({})
      .describe('Per-output settings for every case, by output name; "*" applies to every output.'),
    measurement: MeasurementSchema.optional(),
    agents: AgentSelectorSchema.optional().describe('Runner agents these cases need, by labels. Default: any.'),
  },
  'A folder of ONNX test-data cases (model.onnx + test_data_set_N/{input,output}_K.pb). Inputs and references come from the data sets.',
  { id: 'OnnxTests' },
);

export const ModelEntrySchema = z.union([FileModelSchema, OnnxTestsModelSchema]).describe('A model file, or a folder of ONNX test-data cases.');

export const EngineSchema = strict(
  {
    name: z.string().min(1).describe('Engine name as registered: onnxruntime, tensorrt, ncnn, mnn, openvino, pytorch, ...'),
    precision: z.enum(PRECISIONS).default('fp32').describe('Precision asked of the engine; also picks the default tolerances. Default fp32.'),
    options: z.record(z.string(), z.unknown()).default({}).describe('Engine-specific options, validated by the engine (onnxruntime: executionProviders, intraOpThreads, interOpThreads, graphOptimizationLevel, executionMode). Default {}.'),
    label: identifier('label')
      .optional()
      .describe('Short name of this configuration, used in job keys when one engine appears several times. Default: a hash of the options.'),
    agents: AgentSelectorSchema.optional().describe('Runner agents this engine needs, by labels (e.g. { labels: { gpu: nvidia } }), on top of the engine’s own needs. Default: any.'),
  },
  'One engine configuration. The same engine may appear several times with different precisions or options.',
  { id: 'Engine' },
);

export const SuiteFileSchema = strict(
  {
    $schema: z.string().optional().describe('JSON Schema reference for editors; ignored.'),
    name: identifier('suite name').optional().describe('Suite name, used in report folder names. Default: the file name without extension.'),
    description: z.string().optional().describe('One line about the suite.'),
    models: z.array(ModelEntrySchema).min(1).describe('Models to run, each a model file or a folder of ONNX test-data cases.'),
    engines: z.array(EngineSchema).min(1).describe('Engines to run every model on.'),
    measurement: MeasurementSchema.optional(),
    tolerances: z
      .record(z.string(), ToleranceOverrideSchema)
      .default({})
      .describe('Suite-wide tolerance overrides by output name; "*" applies to every output. Model outputs settings override these.'),
    agents: SuiteAgentsSchema.optional(),
  },
  'A benchalign suite: models × engines, measurement settings and tolerances. Paths are relative to the suite file.',
  { title: 'benchalign suite' },
);

export type SuiteFileInput = z.input<typeof SuiteFileSchema>;
export type SuiteFile = z.output<typeof SuiteFileSchema>;
export type FileModelEntry = z.output<typeof FileModelSchema>;
export type OnnxTestsEntry = z.output<typeof OnnxTestsModelSchema>;
export type InputsEntry = z.output<typeof InputsSchema>;
export type EngineEntry = z.output<typeof EngineSchema>;
export type MeasurementEntry = z.output<typeof MeasurementSchema>;
// The model's hand-written types (src/model/suite.ts) and these schemas must agree, both ways.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const schemaMatchesModel: [
  Same<z.output<typeof ToleranceOverrideSchema>, ToleranceOverride>,
  Same<z.output<typeof OutputSettingsSchema>, OutputSettings>,
  Same<z.output<typeof BudgetsSchema>, Budgets>,
] = [true, true, true];
void schemaMatchesModel;
export type PytorchModelEntry = z.output<typeof PytorchModelSchema>;
export type SuitePrecision = (typeof PRECISIONS)[number];

/** The JSON Schema of suite files (draft 7, which editors support best), as committed in docs/suite.schema.json. */
export function suiteJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(SuiteFileSchema, { io: 'input', target: 'draft-7' }) as Record<string, unknown>;
}

/** docs/suite.schema.json's exact text. */
export function suiteJsonSchemaText(): string {
  return `${JSON.stringify(suiteJsonSchema(), null, 2)}\n`;
}
