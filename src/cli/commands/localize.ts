/** `benchalign localize`: commander wiring for localize(). */
import type { Command } from 'commander';
import type { Tolerance } from '../../model/alignment.js';
import { BenchalignError, ExitCode } from '../../errors.js';
import { jsonSafe, localize } from '../../execution/localize.js';
import { formatLocalize } from '../../reports/localize.js';

function nonNegative(flag: string, v: string): number {
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x) || x < 0) throw new BenchalignError('E_USAGE', `${flag} ${v}: not a number`, { expected: 'a finite number >= 0' });
  return x;
}

export function registerLocalize(program: Command): void {
  program
    .command('localize')
    .description('Find the first layer where an engine diverges from PyTorch (or from another engine) by comparing intermediate tensors (exit 0 no divergence, 1 a layer diverges, 2 bad input, 3 engine missing)')
    .argument('<suite>', 'suite file (YAML or JSON)')
    .requiredOption('--model <name>', 'the suite model')
    .requiredOption('--engine <name>', 'the engine to localize (its suite entry gives precision and options)')
    .option('--against <engine>', 'compare with this engine instead of the PyTorch form of the model')
    .option('--out <dir>', 'folder for localize.json and the exposed model copies (default: reports/<timestamp>-localize-<model>-<engine>/)')
    .option('--max-exposed <n>', 'most intermediate tensors exposed in one engine run; more are bisected', (v) => Number(v), 64)
    .option('--atol <x>', 'absolute tolerance of the intermediate tensors')
    .option('--rtol <x>', 'relative tolerance of the intermediate tensors')
    .option('--json', 'print localize.json to stdout')
    .action(async (suite: string, opts: { model: string; engine: string; against?: string; out?: string; maxExposed: number; atol?: string; rtol?: string; json?: boolean }) => {
      const tolerance: Partial<Tolerance> = {};
      if (opts.atol !== undefined) tolerance.atol = nonNegative('--atol', opts.atol);
      if (opts.rtol !== undefined) tolerance.rtol = nonNegative('--rtol', opts.rtol);
      const report = await localize({
        suitePath: suite,
        model: opts.model,
        engine: opts.engine,
        ...(opts.against !== undefined ? { against: opts.against } : {}),
        ...(opts.out !== undefined ? { outDir: opts.out } : {}),
        maxExposed: opts.maxExposed,
        ...(Object.keys(tolerance).length > 0 ? { tolerance } : {}),
        log: opts.json ? undefined : (l) => process.stderr.write(`${l}\n`),
      });
      process.stdout.write(opts.json ? `${JSON.stringify(report, jsonSafe, 1)}\n` : `${formatLocalize(report)}\n`);
      process.exitCode = report.firstDivergence !== undefined || !report.outputsAligned ? ExitCode.GateFailed : ExitCode.Ok;
    });
}
