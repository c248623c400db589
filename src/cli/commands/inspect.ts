/** `benchalign inspect <file>`: commander wiring for inspectFile. */
import type { Command } from 'commander';
import { BenchalignError } from '../../errors.js';
import { formatInspect, inspectFile } from '../../tensors/inspect.js';

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('Show the tensors of a tensor file (dtype, shape, min/max/mean/std, NaN/Inf) or the interface of an ONNX model')
    .argument('<file>', '.npy, .npz, .safetensors, .pb, .pt/.pth, .onnx, or an ONNX test-data folder')
    .option('--json', 'print the report as JSON')
    .option('--data-set <n>', 'which test_data_set_N of an ONNX test-data folder', '0')
    .action(async (file: string, opts: { json?: boolean; dataSet: string }) => {
      const dataSet = Number(opts.dataSet);
      if (!Number.isInteger(dataSet) || dataSet < 0) throw new BenchalignError('E_USAGE', `--data-set ${opts.dataSet}`, { expected: 'a non-negative integer' });
      const report = await inspectFile(file, { dataSet });
      process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatInspect(report));
    });
}
