import type { Command } from 'commander';
import { compareSummaryText } from '../../reports/compare.js';
import { compareEngines } from '../../workflows/compare.js';

interface CompareCliOptions {
  baselineEngine?: string;
  out?: string;
  store?: string;
}

export function registerCompare(program: Command): void {
  program
    .command('compare')
    .description('Merge runs into one engine comparison: report.html (self-contained, with charts), report.md and report.csv')
    .argument('<runs...>', 'results.json files, run folders (reports/<timestamp>-<suite>/), or run ids / tags from the results store')
    .option('--store <path>', 'results store for run ids and tags: a SQLite file (default reports/benchalign.db) or a postgres:// URL')
    .option('--baseline-engine <engine>', 'engine name, or engine variant as the report shows it (onnxruntime/fp32/t2), the speedups are relative to; default the first engine')
    .option('--out <dir>', 'output folder (default reports/<timestamp>-compare/)')
    .action(async (runs: string[], o: CompareCliOptions) => {
      const { outDir, data } = await compareEngines({
        inputs: runs,
        ...(o.baselineEngine !== undefined ? { baselineEngine: o.baselineEngine } : {}),
        ...(o.out !== undefined ? { outDir: o.out } : {}),
        ...(o.store !== undefined ? { storePath: o.store } : {}),
      });
      process.stdout.write(compareSummaryText(data, outDir));
    });
}
