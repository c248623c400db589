/**
 * The zoo's architectures: what `benchalign zoo list` shows and what `zoo prepare` asks the
 * Python side (runner-agents/python/benchalign_worker/zoo.py) to build. The networks
 * themselves are the functions of benchalign_worker/zoo_models.py, one per id, built from
 * code with seeded random weights (transformers config classes, or the project's own code).
 * `parameters` is the exact count of the seeded build; prepare checks it against the model
 * it built, so this table and zoo_models.py cannot drift apart silently.
 */

/** One input of a zoo model. */
export interface ZooInput {
  name: string;
  dtype: 'float32' | 'int64';
  /** ONNX dims: a string is a dynamic (symbolic) dim. */
  dims: Array<number | string>;
  /** The shape prepared, referenced and pinned by the suite's `shapes`. */
  shape: number[];
  /** How the seeded values are drawn. */
  fill: 'normal' | 'uniform' | 'mask';
  /** Inclusive integer range of a `uniform` input. */
  range?: [number, number];
  /** Trailing positions set to 0 in a `mask` input (padding). */
  pad?: number;
}

export interface ZooOutput {
  name: string;
  dims: Array<number | string>;
}

export type ZooTask = 'classification' | 'segmentation' | 'detection' | 'text-encoder' | 'text-decoder' | 'sequence';

export interface ZooArchitecture {
  name: string;
  task: ZooTask;
  /** CNNs get the batch (1, 4, 8) and concurrency (1, 2) sweeps. */
  family: 'cnn' | 'transformer' | 'recurrent';
  /** Where the architecture comes from (the class and its config). */
  source: string;
  inputs: ZooInput[];
  outputs: ZooOutput[];
  /** Exact parameter count of the seeded build. */
  parameters: number;
  /** Approximate multiply-accumulates of one inference at `shape`, in billions (published figures or a hand count). */
  gmacs: number;
  /** Per-output tolerance settings of the suite (beyond the precision's defaults). */
  outputSettings?: Record<string, Record<string, unknown>>;
}

const image = (size: number, batch: number | string = 1): ZooInput => ({
  name: 'pixel_values',
  dtype: 'float32',
  dims: [batch, 3, size, size],
  shape: [1, 3, size, size],
  fill: 'normal',
});

const classifier = (): ZooOutput[] => [{ name: 'logits', dims: [1, 1000] }];
const cnnClassifier = (): ZooOutput[] => [{ name: 'logits', dims: ['batch', 1000] }];
const TOP5 = { logits: { topK: 5 } };

const bertInputs = (): ZooInput[] => [
  { name: 'input_ids', dtype: 'int64', dims: [1, 'sequence'], shape: [1, 128], fill: 'uniform', range: [0, 30521] },
  { name: 'attention_mask', dtype: 'int64', dims: [1, 'sequence'], shape: [1, 128], fill: 'mask', pad: 32 },
];

export const ZOO: readonly ZooArchitecture[] = [
  {
    name: 'resnet18',
    task: 'classification',
    family: 'cnn',
    source: 'transformers ResNetForImageClassification (ResNetConfig: basic blocks, depths 2-2-2-2, widths 64-512)',
    inputs: [image(224, 'batch')],
    outputs: cnnClassifier(),
    parameters: 11_689_512,
    gmacs: 1.8,
    outputSettings: TOP5,
  },
  {
    name: 'resnet50',
    task: 'classification',
    family: 'cnn',
    source: 'transformers ResNetForImageClassification (ResNetConfig: bottleneck blocks, depths 3-4-6-3)',
    inputs: [image(224, 'batch')],
    outputs: cnnClassifier(),
    parameters: 25_557_032,
    gmacs: 4.1,
    outputSettings: TOP5,
  },
  {
    name: 'mobilenet_v2',
    task: 'classification',
    family: 'cnn',
    source: 'transformers MobileNetV2ForImageClassification (MobileNetV2Config: depth multiplier 1.0, 224)',
    inputs: [image(224, 'batch')],
    outputs: cnnClassifier(),
    parameters: 3_504_872,
    gmacs: 0.3,
    outputSettings: TOP5,
  },
  {
    name: 'efficientnet_b0',
    task: 'classification',
    family: 'cnn',
    source: 'transformers EfficientNetForImageClassification (EfficientNetConfig: width 1.0, depth 1.0, 224 = B0)',
    inputs: [image(224, 'batch')],
    outputs: cnnClassifier(),
    parameters: 5_288_548,
    gmacs: 0.39,
    outputSettings: TOP5,
  },
  {
    name: 'convnext_tiny',
    task: 'classification',
    family: 'cnn',
    source: 'transformers ConvNextForImageClassification (ConvNextConfig: depths 3-3-9-3, widths 96-768 = Tiny)',
    inputs: [image(224, 'batch')],
    outputs: cnnClassifier(),
    parameters: 28_589_128,
    gmacs: 4.5,
    outputSettings: TOP5,
  },
  {
    name: 'vit_b_16',
    task: 'classification',
    family: 'transformer',
    source: 'transformers ViTForImageClassification (ViTConfig: Base, patch 16, 224, eager attention)',
    inputs: [image(224)],
    outputs: classifier(),
    parameters: 86_567_656,
    gmacs: 17.6,
    outputSettings: TOP5,
  },
  {
    name: 'swin_tiny',
    task: 'classification',
    family: 'transformer',
    source: 'transformers SwinForImageClassification (SwinConfig: Tiny, patch 4, window 7, 224, eager attention)',
    inputs: [image(224)],
    outputs: classifier(),
    parameters: 28_288_354,
    gmacs: 4.5,
    outputSettings: TOP5,
  },
  {
    name: 'segformer_b0',
    task: 'segmentation',
    family: 'transformer',
    source: 'transformers SegformerForSemanticSegmentation (SegformerConfig defaults = MiT-b0, 150 classes, 512x512)',
    inputs: [image(512)],
    outputs: [{ name: 'logits', dims: [1, 150, 128, 128] }],
    parameters: 3_752_694,
    gmacs: 4.2,
  },
  {
    name: 'yolos_tiny',
    task: 'detection',
    family: 'transformer',
    source: 'transformers YolosForObjectDetection (YolosConfig: Tiny, hidden 192, 100 detection tokens, 512x512); no post-processing',
    inputs: [image(512)],
    outputs: [
      { name: 'logits', dims: [1, 100, 92] },
      { name: 'pred_boxes', dims: [1, 100, 4] },
    ],
    parameters: 8_264_544,
    gmacs: 11.8,
  },
  {
    name: 'bert_tiny',
    task: 'text-encoder',
    family: 'transformer',
    source: 'transformers BertModel (BertConfig: 2 layers, hidden 128, 2 heads, vocabulary 30522, eager attention)',
    inputs: bertInputs(),
    outputs: [
      { name: 'last_hidden_state', dims: [1, 'sequence', 128] },
      { name: 'pooler_output', dims: [1, 128] },
    ],
    parameters: 4_385_920,
    gmacs: 0.06,
  },
  {
    name: 'bert_base',
    task: 'text-encoder',
    family: 'transformer',
    source: 'transformers BertModel (BertConfig defaults = BERT-Base: 12 layers, hidden 768, 12 heads, eager attention)',
    inputs: bertInputs(),
    outputs: [
      { name: 'last_hidden_state', dims: [1, 'sequence', 768] },
      { name: 'pooler_output', dims: [1, 768] },
    ],
    parameters: 109_482_240,
    gmacs: 11.2,
  },
  {
    name: 'gpt2_small',
    task: 'text-decoder',
    family: 'transformer',
    source: 'transformers GPT2LMHeadModel (GPT2Config defaults = GPT-2 small, 124M; causal mask, no KV cache, eager attention)',
    inputs: [{ name: 'input_ids', dtype: 'int64', dims: [1, 'sequence'], shape: [1, 64], fill: 'uniform', range: [0, 50256] }],
    outputs: [{ name: 'logits', dims: [1, 'sequence', 50257] }],
    parameters: 124_439_808,
    gmacs: 8.0,
  },
  {
    name: 'lstm',
    task: 'sequence',
    family: 'recurrent',
    source: 'benchalign zoo_models.py: torch.nn.LSTM (2 layers, input 64, hidden 128, batch_first) + linear head to 10 classes',
    inputs: [{ name: 'x', dtype: 'float32', dims: [1, 32, 64], shape: [1, 32, 64], fill: 'normal' }],
    outputs: [
      { name: 'sequence', dims: [1, 32, 128] },
      { name: 'logits', dims: [1, 10] },
    ],
    parameters: 232_714,
    gmacs: 0.0073,
  },
];

/** The architecture named `name`, or undefined. */
export function zooArchitecture(name: string): ZooArchitecture | undefined {
  return ZOO.find((a) => a.name === name);
}
