import type { Command } from 'commander';
import { compareRuns } from '../../reports/compare.js';

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
    .option('--store <path>', 'results store for run ids and tags (default reports/benchalign.db)')
    .option('--baseline-engine <engine>', 'engine name, or engine variant as the report shows it (onnxruntime/fp32/t2), the speedups are relative to; default the first engine')
    .option('--out <dir>', 'output folder (default reports/<timestamp>-compare/)')
    .action(async (runs: string[], o: CompareCliOptions) => {
      const { outDir, data } = await compareRuns({
        inputs: runs,
        ...(o.baselineEngine !== undefined ? { baselineEngine: o.baselineEngine } : {}),
        ...(o.out !== undefined ? { outDir: o.out } : {}),
        ...(o.store !== undefined ? { storePath: o.store } : {}),
      });
      const notOk = data.jobs.filter((j) => j.status !== 'ok').length;
      process.stdout.write(
        `${data.jobs.length} job(s) from ${data.runs.length} run(s) on ${data.devices.length} device(s), baseline ${data.baseline}${notOk > 0 ? `, ${notOk} not ok (listed under Problems)` : ''}\n` +
          `Report: ${outDir}/ (report.html, report.md, report.csv)\n`,
      );
    });
}
