/** `benchalign refs`: commander wiring for makeRefs. */
import { InvalidArgumentError, type Command } from 'commander';
import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { makeRefs } from '../../runners/pytorch/refs.js';

function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

function int(v: string): number {
  const n = Number(v);
  if (!(v.trim() !== '' && Number.isInteger(n) && n >= 0)) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
}

export function registerRefs(program: Command): void {
  program
    .command('refs')
    .description('Write PyTorch fp32 CPU reference tensors for a model (inputs.pt, outputs.pt, refs.json) and a suite file `benchalign run` accepts as is')
    .argument('<model>', 'file.py:function (a factory returning an nn.Module), a TorchScript file (.pt/.pth/.ts/.jit) or an ExportedProgram (.pt2)')
    .option('--factory <function>', 'the factory function of a .py model')
    .requiredOption('--inputs <spec|file>', 'an input spec name:shape[:dtype[:low,high]], e.g. x:1x3x32x32:float32:-1,1 (repeat for each input, in forward() order), or a tensor file (.pt, .npy, .npz, .safetensors)', collect)
    .option('--input-name <name>', 'name of the single tensor of a .npy or bare-tensor .pt input file')
    .option('--seed <n>', 'seed of the random inputs (default 0)', int)
    .option('--output-names <names>', 'comma-separated output names, in the order the model returns them')
    .option('--name <name>', 'model name in the suite (default: the model file stem)')
    .option('--out <dir>', 'folder to write (default: refs/<name>)')
    .option('--onnx', 'also export model.onnx with torch.onnx.export (the suite then runs onnxruntime too)')
    .option('--opset <n>', 'ONNX opset of the export (default 17)', int)
    .option('--safetensors', 'also write inputs.safetensors and outputs.safetensors')
    .option('--engines <names>', 'more engines for the written suite, comma-separated (e.g. executorch,litert: they convert the PyTorch form)')
    .action(async (model: string, opts: { factory?: string; inputs: string[]; inputName?: string; seed?: number; outputNames?: string; name?: string; out?: string; onnx?: boolean; opset?: number; safetensors?: boolean; engines?: string }) => {
      const single = opts.inputs.length === 1 ? opts.inputs[0] : undefined;
      const isFile = single !== undefined && /\.(pt|pth|npy|npz|safetensors)$/i.test(single) && (existsSync(single) || !single.includes(':'));
      const res = await makeRefs({
        model,
        ...(opts.factory !== undefined ? { factory: opts.factory } : {}),
        ...(isFile ? { inputFile: single } : { inputSpecs: opts.inputs }),
        ...(opts.inputName !== undefined ? { inputName: opts.inputName } : {}),
        ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
        ...(opts.outputNames !== undefined ? { outputNames: opts.outputNames.split(',').map((s) => s.trim()).filter(Boolean) } : {}),
        ...(opts.name !== undefined ? { name: opts.name } : {}),
        ...(opts.out !== undefined ? { out: opts.out } : {}),
        onnx: opts.onnx === true,
        ...(opts.opset !== undefined ? { opset: opts.opset } : {}),
        safetensors: opts.safetensors === true,
        ...(opts.engines !== undefined ? { engines: opts.engines.split(',').map((s) => s.trim()).filter(Boolean) } : {}),
      });
      const m = res.manifest;
      const fmt = (ts: typeof m.inputs) => ts.map((t) => `${t.name} ${t.dtype}[${t.dims.join(', ')}]`).join(', ');
      process.stdout.write(
        `PyTorch ${m.torch} fp32 on CPU: ${m.model.kind} ${relative(process.cwd(), m.model.path)}\n` +
          `  inputs:  ${fmt(m.inputs)}\n  outputs: ${fmt(m.outputs)}\n` +
          `  wrote ${Object.values(m.files).join(', ')}, refs.json, suite.yaml in ${relative(process.cwd(), res.outDir) || '.'}\n` +
          `  next: benchalign run ${relative(process.cwd(), res.suitePath)}\n`,
      );
    });
}
