/** `benchalign zoo list|prepare`: commander wiring for the zoo catalog and prepareZoo. */
import { InvalidArgumentError, type Command } from 'commander';
import { relative } from 'node:path';
import { formatZooList, zooListJson } from '../../zoo/list.js';
import { ZOO } from '../../zoo/catalog.js';
import { defaultZooDir, prepareZoo } from '../../zoo/prepare.js';

function int(v: string): number {
  const n = Number(v);
  if (!(v.trim() !== '' && Number.isInteger(n) && n >= 0)) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
}

export function registerZoo(program: Command): void {
  const zoo = program.command('zoo').description('Real architectures built locally with seeded random weights (no download), ready to run on every engine');
  zoo
    .command('list')
    .description('The architectures: source, inputs (names, shapes, dtypes, dynamic dims), size and cost')
    .option('--json', 'print the list as JSON')
    .action((opts: { json?: boolean }) => {
      process.stdout.write(opts.json ? `${JSON.stringify(zooListJson(), null, 2)}\n` : formatZooList());
    });
  zoo
    .command('prepare')
    .description('Build the named architectures, export ONNX, write PyTorch references and a suite file (zoo.yaml); cached, idempotent')
    .argument('[names...]', `architectures, from ${ZOO.map((a) => a.name).join(', ')}`)
    .option('--all', 'every architecture')
    .option('--dir <dir>', `folder to write (default: ${defaultZooDir()})`)
    .option('--seed <n>', 'seed of the weights and inputs (default 0)', int)
    .option('--no-install', 'fail instead of installing requirements-zoo.txt when the venv lacks it')
    .action(async (names: string[], opts: { all?: boolean; dir?: string; seed?: number; install?: boolean }) => {
      const res = await prepareZoo({
        names: opts.all ? [...ZOO.map((a) => a.name), ...names] : names,
        ...(opts.dir !== undefined ? { dir: opts.dir } : {}),
        ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
        install: opts.install !== false,
      });
      for (const m of res.models) {
        process.stdout.write(
          `${m.name}: ${m.cached ? 'cached' : `built in ${(m.ms / 1000).toFixed(1)} s`}, ${(m.manifest.parameters / 1e6).toFixed(2)}M parameters, model.onnx ${(m.manifest.onnx.bytes / 1e6).toFixed(1)} MB (${relative(process.cwd(), m.dir) || '.'})\n`,
        );
      }
      process.stdout.write(`suite: ${relative(process.cwd(), res.suitePath)}\n  next: benchalign run ${relative(process.cwd(), res.suitePath)} --accuracy-only\n`);
    });
}
