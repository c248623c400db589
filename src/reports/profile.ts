/** report.md sections of `run --profile`: the top ops per engine side by side, and what makes an engine slower. */
import { slowerOps, type ProfileSummary } from '../metrics/profile.js';
import type { JobResult } from '../model/record.js';
import { fmtMs, fmtNum, mdTable } from './format.js';

/** Op types shown per engine. */
const TOP = 5;

function label(j: JobResult): string {
  return `${j.engine.name} ${j.engine.precision}`;
}

/** "## Per-op profile": per model, each engine's top op types (ms per inference, share), side by side. */
export function profileSections(jobs: readonly JobResult[]): string[] {
  const profiled = jobs.filter((j): j is JobResult & { profile: ProfileSummary } => j.profile !== undefined);
  if (profiled.length === 0) return [];
  const out: string[] = ['## Per-op profile', ''];
  out.push(
    "Each engine's own profiler, run after the timed loop (the latency numbers above never include it): ms per inference and share of the profiled layer time, per op type as the engine names it.",
    '',
  );
  for (const model of [...new Set(profiled.map((j) => j.model.name))]) {
    const mj = profiled.filter((j) => j.model.name === model);
    out.push(`### ${model}`, '');
    const rows: string[][] = [];
    for (let i = 0; i < TOP; i++) {
      const row = [String(i + 1)];
      for (const j of mj) {
        const o = j.profile.ops[i];
        row.push(o ? `${o.opType} ${fmtMs(o.msPerInference)} ms (${fmtNum(o.sharePct, 3)}%)` : '');
      }
      if (row.slice(1).some((c) => c !== '')) rows.push(row);
    }
    out.push(mdTable(['#', ...mj.map(label)], rows), '');
    out.push(
      mdTable(
        ['engine', 'profiler', 'iterations', 'wall ms/inference', 'layer ms/inference', 'profiling overhead'],
        mj.map((j) => [
          label(j),
          j.profile.profiler,
          String(j.profile.iterations),
          fmtMs(j.profile.wallMsPerInference),
          fmtMs(j.profile.layerMsPerInference),
          j.profile.overheadPct === undefined ? '–' : `${j.profile.overheadPct >= 0 ? '+' : ''}${fmtNum(j.profile.overheadPct, 3)}%`,
        ]),
      ),
      '',
    );
  }
  return out;
}

/**
 * "## Ops that make an engine slower than <baseline>": per model, for each profiled engine slower
 * than the baseline (an engine name, or `engine/precision` as `compare` names it) at p50, the op families ({@link opFamily}) with the largest time difference.
 */
export function slowerOpsSection(jobs: readonly JobResult[], baseline: string): string[] {
  const rows: string[][] = [];
  const isBase = (j: JobResult): boolean => j.engine.name === baseline || `${j.engine.name}/${j.engine.precision}` === baseline || j.key.endsWith(`/${baseline}`);
  for (const model of [...new Set(jobs.map((j) => j.model.name))]) {
    const base = jobs.find((j) => j.model.name === model && isBase(j) && j.profile);
    if (!base?.profile) continue;
    const baseP50 = base.latency?.percentiles.p50.value;
    for (const j of jobs) {
      if (j === base || j.model.name !== model || !j.profile) continue;
      const p50 = j.latency?.percentiles.p50.value;
      if (p50 === undefined || baseP50 === undefined || !(p50 > baseP50)) continue;
      const worse = slowerOps(j.profile, base.profile).slice(0, 3);
      rows.push([model, label(j), `${fmtMs(p50)} vs ${fmtMs(baseP50)}`, worse.map((w) => `${w.family} +${fmtMs(w.deltaMs)} ms (${fmtMs(w.aMs)} vs ${fmtMs(w.bMs)})`).join('; ') || '–']);
    }
  }
  if (rows.length === 0) return [];
  return [
    `## Ops that make an engine slower than ${baseline}`,
    '',
    'Op families (conv, matmul, eltwise, ... matched across the engines\' op names, a heuristic) whose profiled time per inference exceeds the baseline\'s the most.',
    '',
    mdTable(['model', 'engine', 'p50 ms', 'slower op families'], rows),
    '',
  ];
}
