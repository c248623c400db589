/** `benchalign history`: a job's metric over the recorded runs, with a sparkline and change points. */
import type { Command } from 'commander';
import { ExitCode } from '../../errors.js';
import { historyJson, historyMarkdown } from '../../reports/history.js';
import { DEFAULT_STORE_PATH } from '../../results/store/store.js';
import { HISTORY_METRICS, history, type HistoryRequest } from '../../workflows/history.js';

type HistoryOpts = HistoryRequest & { json?: boolean };

export function registerHistory(program: Command): void {
  program
    .command('history')
    .description('Show the trend of a latency metric over the recorded runs, with a sparkline and change points (docs/regress.md)')
    .option('--store <path>', 'results store: a SQLite file or a postgres://user@host:port/db URL', DEFAULT_STORE_PATH)
    .option('--model <name>', 'only this model')
    .option('--engine <name>', 'only this engine')
    .option('--device <hash>', 'only this device (a prefix of the fingerprint hash)')
    .option('--metric <m>', `one of ${HISTORY_METRICS.join(', ')}`, 'p50')
    .option('--limit <n>', 'only the last n runs of each job', (v) => Number(v))
    .option('--json', 'print the series and change points as JSON')
    .action(async (opts: HistoryOpts) => {
      const series = await history({
        store: opts.store,
        metric: opts.metric,
        ...(opts.model !== undefined ? { model: opts.model } : {}),
        ...(opts.engine !== undefined ? { engine: opts.engine } : {}),
        ...(opts.device !== undefined ? { device: opts.device } : {}),
        ...(opts.limit !== undefined ? { limit: opts.limit } : {}),
      });
      if (series.length === 0) {
        process.stderr.write('benchalign history: no recorded job matches\n');
        process.exitCode = ExitCode.NothingMeasured;
        return;
      }
      process.stdout.write(opts.json ? `${JSON.stringify(historyJson(series), null, 1)}\n` : `${historyMarkdown(series)}\n`);
    });
}
