/** report.md: the engine comparison, models × engines. */
import type { RunResults } from '../model/record.js';
import { fmtBytes, fmtEstimateMs, fmtMs, fmtNum, fmtPct, mdTable } from './format.js';
import { profileSections } from './profile.js';
import { displayStatus, outputFigure, precisionText, worstText, singleStreamThroughput, summarizeAlignment, unstableWhy } from './summary.js';

export function toMarkdown(results: RunResults): string {
  const out: string[] = [];
  const { run, suite } = results;
  out.push(`# benchalign: ${suite.name}`);
  out.push('');
  out.push(
    `Run \`${run.id}\` · ${run.mode} · started ${run.startedAt}${run.endedAt ? ` · ended ${run.endedAt}` : ''} · status **${run.status}**`,
  );
  if (run.status === 'interrupted') out.push('', '> The run was interrupted: only the jobs below were finished.');
  out.push('');

  const rows = results.jobs.map((j) => {
    const a = summarizeAlignment(j);
    const lat = j.latency;
    return [
      j.model.name,
      `${j.engine.name}${j.engine.version ? ` ${j.engine.version}` : ''}`,
      precisionText(j.engine),
      displayStatus(j),
      fmtEstimateMs(lat?.percentiles.p50),
      fmtEstimateMs(lat?.percentiles.p99),
      lat ? String(lat.count) : '–',
      fmtNum(singleStreamThroughput(j), 4),
      fmtBytes(j.resources?.peakRssBytes),
      fmtPct(j.resources?.cpuPctMean, 0),
      a.verdict === '–' ? '–' : `${a.verdict}${a.failed ? ` (${a.failed}/${a.outputs})` : ''}`,
      fmtNum(a.maxAbsError),
      a.minCosine === undefined ? '–' : a.minCosine.toFixed(6),
    ];
  });
  out.push('## Engine comparison');
  out.push('');
  out.push(
    mdTable(
      ['model', 'engine', 'precision', 'status', 'p50 ms [95% CI]', 'p99 ms [95% CI]', 'samples', 'inf/s', 'peak RSS', 'CPU', 'alignment', 'max abs err', 'min cosine'],
      rows,
    ),
  );
  out.push('');

  const withAlign = results.jobs.filter((j) => (j.alignment ?? []).length > 0);
  if (withAlign.length > 0) {
    out.push('## Alignment per output');
    out.push('');
    const arows: string[][] = [];
    for (const j of withAlign) {
      for (const o of j.alignment ?? []) {
        const mapping = o.mapping
          ? [o.mapping.name.actual !== o.mapping.name.reference ? `${o.mapping.name.actual}→${o.mapping.name.reference} (${o.mapping.name.by})` : '', ...o.mapping.layout]
              .filter(Boolean)
              .join('; ')
          : '';
        arows.push([
          j.model.name,
          j.engine.name,
          o.name,
          o.passed ? 'pass' : 'FAIL',
          fmtNum(outputFigure(o, o.maxAbsError)),
          fmtNum(outputFigure(o, o.maxRelError)),
          outputFigure(o, o.cosine)?.toFixed(6) ?? '–',
          outputFigure(o, o.snrDb) === undefined ? '–' : Number.isFinite(o.snrDb) ? o.snrDb.toFixed(1) : '∞',
          `${o.mismatchCount} (${fmtPct(o.mismatchPct, 2)})`,
          o.topk ? `${(o.topk.top1Agreement * 100).toFixed(1)}%` : '–',
          `atol ${fmtNum(o.tolerance.atol)} rtol ${fmtNum(o.tolerance.rtol)}`,
          mapping || '–',
          o.reasons.join('; ') || '–',
          o.passed ? '–' : (worstText(o) ?? '–'),
        ]);
      }
    }
    out.push(mdTable(['model', 'engine', 'output', 'verdict', 'max abs', 'max rel', 'cosine', 'SNR dB', 'mismatches', 'top-1', 'tolerance', 'mapping', 'reasons', 'worst element'], arows));
    out.push('');
  }

  const phases = results.jobs.filter((j) => j.coldStart || j.firstInferenceMs !== undefined);
  if (phases.length > 0) {
    // Tuning (TVM's tuneTrials) is apart from cold start: a column only when some job tuned.
    const tuned = phases.some((j) => j.coldStart?.tuneMs !== undefined);
    out.push('## Phases');
    out.push('');
    out.push(
      mdTable(
        ['model', 'engine', 'cold start ms', 'conversion ms', ...(tuned ? ['tuning ms'] : []), 'first inference ms', 'warm-up discarded', 'stopping', 'p50 CI ±%'],
        phases.map((j) => [
          j.model.name,
          j.engine.name,
          fmtMs(j.coldStart?.totalMs),
          fmtMs(j.coldStart?.convertMs),
          ...(tuned ? [fmtMs(j.coldStart?.tuneMs)] : []),
          fmtMs(j.firstInferenceMs),
          j.warmup ? String(j.warmup.discarded) : '–',
          j.stopping ? `${j.stopping.reason}${j.stopping.stable ? '' : ' (unstable)'}` : '–',
          j.stopping ? j.stopping.p50HalfWidthPct.toFixed(2) : '–',
        ]),
      ),
    );
    out.push('');
  }

  const repeated = results.jobs.filter((j) => j.latency?.betweenRepeats);
  if (repeated.length > 0) {
    out.push('## Run-to-run variation');
    out.push('');
    out.push(
      "Each job ran in several fresh worker processes. p50 is the geometric mean of the processes' own p50s; its CI (a t interval over the processes) includes the spread between them, the within-process CI is what a single process would have claimed, and the next-run interval is where the next run's p50 should fall (from the store's history of the job, or from these processes widened for run-to-run drift). See docs/methodology.md.",
    );
    out.push('');
    out.push(
      mdTable(
        ['model', 'engine', 'repeats', 'p50 per repeat ms', 'p50 combined CI', 'p50 within-process CI', 'p50 next run'],
        repeated.map((j) => {
          const b = j.latency?.betweenRepeats;
          const p50 = j.latency?.percentiles.p50;
          const rel = (e: { value: number; low: number; high: number } | undefined): string =>
            e ? `${fmtEstimateMs(e)} (±${(((e.high - e.low) / 2 / e.value) * 100).toFixed(2)}%)` : '–';
          const nr = j.latency?.nextRun?.p50;
          const next = nr ? `${fmtMs(nr.low)} – ${fmtMs(nr.high)} (${nr.basis}${nr.basis === 'history' ? `, ${nr.runs} runs` : ''})` : '–';
          return [j.model.name, j.engine.name, String(j.latency?.repeats ?? 1), (b?.p50PerRepeatMs ?? []).map((x) => fmtMs(x)).join(', '), rel(p50), rel(b?.withinOnlyP50), next];
        }),
      ),
    );
    out.push('');
  }

  const throughputJobs = results.jobs.filter((j) => (j.throughput ?? []).length > 1);
  if (throughputJobs.length > 0) {
    out.push('## Throughput');
    out.push('');
    const trows: string[][] = [];
    for (const j of throughputJobs) {
      for (const p of j.throughput ?? []) {
        trows.push([j.model.name, j.engine.name, String(p.batchSize), String(p.concurrency), fmtNum(p.itemsPerSec, 4), fmtMs(p.p50Ms)]);
      }
    }
    out.push(mdTable(['model', 'engine', 'batch', 'concurrency', 'items/s', 'p50 ms'], trows));
    out.push('');
  }

  out.push(...profileSections(results.jobs));

  const notOk = results.jobs.filter((j) => j.status !== 'ok' || j.unstable || (j.notes ?? []).length > 0);
  if (notOk.length > 0) {
    out.push('## Problems');
    out.push('');
    for (const j of notOk) {
      const why =
        j.status !== 'ok' ? (j.reason ?? 'no reason recorded') : j.unstable ? unstableWhy(j) : '';
      const notes = (j.notes ?? []).join('; ');
      out.push(`- **${j.model.name} / ${j.engine.name}** (${displayStatus(j)}): ${[why, notes].filter(Boolean).join('; ')}`);
      if (j.stderrTail) {
        out.push('', '  ```', ...j.stderrTail.trimEnd().split('\n').slice(-15).map((l) => `  ${l}`), '  ```');
      }
    }
    out.push('');
  }

  const d = results.device;
  if (d) {
    out.push('## Device');
    out.push('');
    out.push(`${d.cpuModel} · ${d.cpuCores} cores · ${d.arch} · ${fmtBytes(d.memoryBytes)} · ${d.os} · kernel ${d.kernel}${d.governor ? ` · governor ${d.governor}` : ''}`);
    if (d.gpus.length > 0) out.push('', `GPUs: ${d.gpus.map((g) => `${g.model}${g.driver ? ` (driver ${g.driver})` : ''}`).join(', ')}`);
    const ev = Object.entries(d.engineVersions);
    if (ev.length > 0) out.push('', `Engines: ${ev.map(([k, v]) => `${k} ${v}`).join(', ')}`);
    out.push('', `Fingerprint: \`${d.hash.slice(0, 16)}\``);
    out.push('');
  }
  return out.join('\n');
}
