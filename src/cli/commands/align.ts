import type { Command } from 'commander';
import { alignFiles, type AlignFilesOptions } from '../../alignment/align-files.js';
import { alignReportToJson, formatAlignReport } from '../../reports/align.js';
import type { LayoutMode } from '../../alignment/layout.js';
import { ALIGN_PRECISIONS, isAlignPrecision, type ToleranceOverrides } from '../../alignment/tolerances.js';
import type { Tolerance } from '../../model/alignment.js';
import { BenchalignError, ExitCode } from '../../errors.js';

interface AlignCliOptions {
  atol?: string;
  rtol?: string;
  cosineMin?: string;
  snrMin?: string;
  map: string[];
  output: string[];
  precision: string;
  layout: string;
  topK?: string;
  byIndex?: boolean;
  worst: string;
  json?: boolean;
  ignore: string[];
}

function number(flag: string, v: string): number {
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x) || x < 0) {
    throw new BenchalignError('E_USAGE', `${flag} ${v}: not a number`, { expected: 'a finite number >= 0' });
  }
  return x;
}

const OUTPUT_KEYS: Record<string, keyof Tolerance> = {
  atol: 'atol',
  rtol: 'rtol',
  cosine: 'cosineMin',
  'cosine-min': 'cosineMin',
  snr: 'snrMinDb',
  'snr-min': 'snrMinDb',
  topk: 'topK',
  'top-k': 'topK',
  top1: 'top1Min',
};

/** `name:atol=1e-3,rtol=1e-3` -> ["name", {atol, rtol}]. */
export function parseOutputOverride(spec: string): [string, Partial<Tolerance>] {
  const colon = spec.lastIndexOf(':');
  const name = spec.slice(0, colon);
  if (colon <= 0 || spec.slice(colon + 1) === '') {
    throw new BenchalignError('E_USAGE', `--output ${spec}`, { expected: 'name:key=value[,key=value...] with keys atol, rtol, cosine, snr, topk, top1' });
  }
  const t: Partial<Tolerance> = {};
  for (const kv of spec.slice(colon + 1).split(',')) {
    const [k, v, ...rest] = kv.split('=');
    const key = k !== undefined ? OUTPUT_KEYS[k.trim()] : undefined;
    if (key === undefined || v === undefined || rest.length > 0) {
      throw new BenchalignError('E_USAGE', `--output ${spec}: bad entry "${kv}"`, { expected: `key=value with key one of ${Object.keys(OUTPUT_KEYS).join(', ')}` });
    }
    (t as Record<string, number>)[key] = number(`--output ${name}:${k}`, v);
  }
  return [name, t];
}

export function parseMap(specs: string[]): Record<string, string> {
  const map: Record<string, string> = {};
  for (const s of specs) {
    const eq = s.indexOf('=');
    if (eq <= 0 || eq === s.length - 1) throw new BenchalignError('E_USAGE', `--map ${s}`, { expected: 'actualName=referenceName' });
    map[s.slice(0, eq)] = s.slice(eq + 1);
  }
  return map;
}

/** Turns parsed CLI flags into alignFiles options. */
export function alignOptionsFromCli(o: AlignCliOptions): AlignFilesOptions {
  if (!isAlignPrecision(o.precision)) {
    throw new BenchalignError('E_USAGE', `--precision ${o.precision}`, { expected: ALIGN_PRECISIONS.join('|') });
  }
  if (!['nchw', 'nhwc', 'auto'].includes(o.layout)) throw new BenchalignError('E_USAGE', `--layout ${o.layout}`, { expected: 'nchw|nhwc|auto' });
  const all: Partial<Tolerance> = {};
  if (o.atol !== undefined) all.atol = number('--atol', o.atol);
  if (o.rtol !== undefined) all.rtol = number('--rtol', o.rtol);
  if (o.cosineMin !== undefined) all.cosineMin = number('--cosine-min', o.cosineMin);
  if (o.snrMin !== undefined) all.snrMinDb = Number(o.snrMin);
  if (o.topK !== undefined) all.topK = number('--top-k', o.topK);
  const overrides: ToleranceOverrides = { '*': all };
  for (const spec of o.output) {
    const [name, t] = parseOutputOverride(spec);
    overrides[name] = { ...overrides[name], ...t };
  }
  return {
    precision: o.precision,
    overrides,
    map: parseMap(o.map),
    layout: o.layout as LayoutMode,
    matchBy: o.byIndex ? 'index' : 'name',
    worstK: number('--worst', o.worst),
    ignore: o.ignore ?? [],
  };
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

export function registerAlign(program: Command): void {
  program
    .command('align')
    .description('Compare an engine\'s output tensors with the reference tensors (exit 0 all pass, 1 mismatch, 2 bad input)')
    .argument('<actual>', 'engine outputs: .npy, .npz, .safetensors, .pb, .pt or an ONNX test-data folder')
    .argument('<reference>', 'reference outputs, same formats')
    .option('--atol <x>', 'absolute tolerance for every output')
    .option('--rtol <x>', 'relative tolerance for every output')
    .option('--cosine-min <x>', 'minimum cosine similarity')
    .option('--snr-min <dB>', 'minimum SNR in dB')
    .option('--map <actual=reference>', 'pair an actual tensor with a reference tensor (repeatable)', collect, [])
    .option('--output <name:key=value,...>', 'per-output tolerance, keys atol rtol cosine snr topk top1 (repeatable)', collect, [])
    .option('--precision <p>', 'default tolerances for fp32|fp16|bf16|int8', 'fp32')
    .option('--layout <l>', 'layout of the actual tensors: nchw (as is) | nhwc | auto', 'nchw')
    .option('--top-k <k>', 'report top-1/top-k agreement along the last axis')
    .option('--ignore <name>', 'leave this tensor out of the comparison, e.g. an input saved in the reference file (repeatable)', collect, [])
    .option('--by-index', 'pair tensors by position instead of by name')
    .option('--worst <k>', 'worst elements to show per output', '10')
    .option('--json', 'print the report as JSON')
    .action(async (actual: string, reference: string, o: AlignCliOptions) => {
      const report = await alignFiles(actual, reference, alignOptionsFromCli(o));
      process.stdout.write(`${o.json ? alignReportToJson(report) : formatAlignReport(report)}\n`);
      if (!report.passed) process.exitCode = ExitCode.GateFailed;
    });
}
