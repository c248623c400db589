/** `benchalign history`: a job's metric over the recorded runs, with a sparkline and change points. */
import type { Command } from 'commander';
import { BenchalignError, ExitCode } from '../../errors.js';
import { detectChangePoints } from '../../metrics/changepoint.js';
import { sparkline } from '../../reports/sparkline.js';
import { DEFAULT_STORE_PATH, openStore, type HistoryPoint } from '../../results/store/store.js';

const METRICS = ['p50', 'p90', 'p95', 'p99', 'p999', 'mean'] as const;
type Metric = (typeof METRICS)[number];

interface HistoryOpts {
  store: string;
  model?: string;
  engine?: string;
  device?: string;
  metric: string;
  limit?: number;
  json?: boolean;
}

function valueOf(p: HistoryPoint, metric: Metric): { value: number; low?: number; high?: number } | undefined {
  if (!p.latency || (p.status !== 'ok' && p.status !== 'failed')) return undefined;
  if (metric === 'mean') return { value: p.latency.meanMs };
  const e = p.latency.percentiles[metric];
  return { value: e.value, low: e.low, high: e.high };
}

export function registerHistory(program: Command): void {
  program
    .command('history')
    .description('Show the trend of a latency metric over the recorded runs, with a sparkline and change points (docs/regress.md)')
    .option('--store <path>', 'results store: a SQLite file or a postgres://user@host:port/db URL', DEFAULT_STORE_PATH)
    .option('--model <name>', 'only this model')
    .option('--engine <name>', 'only this engine')
    .option('--device <hash>', 'only this device (a prefix of the fingerprint hash)')
    .option('--metric <m>', `one of ${METRICS.join(', ')}`, 'p50')
    .option('--limit <n>', 'only the last n runs of each job', (v) => Number(v))
    .option('--json', 'print the series and change points as JSON')
    .action(async (opts: HistoryOpts) => {
      if (!(METRICS as readonly string[]).includes(opts.metric)) throw new BenchalignError('E_USAGE', `--metric ${opts.metric}`, { expected: METRICS.join(', ') });
      const metric = opts.metric as Metric;
      const store = await openStore(opts.store, { mustExist: true });
      try {
        const points = await store.jobHistory({
          ...(opts.model !== undefined ? { model: opts.model } : {}),
          ...(opts.engine !== undefined ? { engine: opts.engine } : {}),
          ...(opts.device !== undefined ? { deviceHash: opts.device } : {}),
        });
        const groups = new Map<string, HistoryPoint[]>();
        for (const p of points) {
          const g = `${p.key}\u0000${p.deviceHash ?? ''}`;
          groups.set(g, [...(groups.get(g) ?? []), p]);
        }
        if (groups.size === 0) {
          process.stderr.write('benchalign history: no recorded job matches\n');
          process.exitCode = ExitCode.NothingMeasured;
          return;
        }
        const out: unknown[] = [];
        const md: string[] = [];
        for (const all of groups.values()) {
          const series = opts.limit !== undefined && opts.limit > 0 ? all.slice(-opts.limit) : all;
          const first = series[0] as HistoryPoint;
          const vals = series.map((p) => valueOf(p, metric));
          const present = vals.map((v, i) => ({ v, i })).filter((x): x is { v: { value: number }; i: number } => x.v !== undefined);
          const cps = detectChangePoints(present.map((x) => x.v.value)).map((c) => ({ ...c, runId: (series[(present[c.index] as { i: number }).i] as HistoryPoint).runId }));
          const cpRuns = new Set(cps.map((c) => c.runId));
          if (opts.json) {
            out.push({ key: first.key, model: first.model, engine: first.engine, deviceHash: first.deviceHash, metric, points: series.map((p, i) => ({ runId: p.runId, startedAt: p.startedAt, tags: p.tags, gitCommit: p.gitCommit, ...(vals[i] ?? {}) })), changePoints: cps });
            continue;
          }
          md.push(`### ${first.key} on device ${(first.deviceHash ?? 'unknown').slice(0, 12)}: ${metric} ms`, '');
          md.push(`\`${sparkline(vals.map((v) => v?.value))}\`  (${series.length} runs, oldest first)`, '');
          md.push('| run | started | tags | commit | value ms | 95% CI | |', '|---|---|---|---|---:|---|---|');
          series.forEach((p, i) => {
            const v = vals[i];
            const ci = v?.low !== undefined && v.high !== undefined ? `[${v.low.toFixed(4)}, ${v.high.toFixed(4)}]` : '';
            md.push(`| ${p.runId} | ${p.startedAt} | ${p.tags.join(', ')} | ${(p.gitCommit ?? '').slice(0, 9)} | ${v ? v.value.toFixed(4) : p.status} | ${ci} | ${cpRuns.has(p.runId) ? '◀ change' : ''} |`);
          });
          md.push('');
          if (cps.length === 0) md.push('No change point (rule: docs/regress.md).', '');
          for (const c of cps) md.push(`- change at ${c.runId}: ${c.before.toFixed(4)} → ${c.after.toFixed(4)} ms (${c.shift >= 0 ? '+' : ''}${(c.shift * 100).toFixed(2)}%, ${c.score.toFixed(1)} standard errors)`);
          if (cps.length > 0) md.push('');
        }
        process.stdout.write(opts.json ? `${JSON.stringify(out, null, 1)}\n` : `${md.join('\n')}\n`);
      } finally {
        await store.close();
      }
    });
}
