/**
 * Time to result of adaptive repeats against trtexec's fixed 3 s (docs/methodology.md,
 * "Adaptive repeats"), `npm run bench -- adaptive`. A bundled model of suites/smoke.yaml on
 * ONNX Runtime (concurrency 1, no store), run by `runSuite` in three ways, alternating, N times:
 *
 * - `trtexec 3 s x1`: one process timed for a fixed 3 s (minDurationMs = maxDurationMs = 3000),
 *   as `trtexec --duration=3` does; its interval is the within-process binomial CI.
 * - `fixed 3 s x3`: three processes of a fixed 3 s each: an interval that sees process noise.
 * - `adaptive`: 3 planned repeats with the smoke settings (a repeat stops on its own CI against
 *   the spread between repeats), then one more at a time until the combined p50 interval is
 *   within ±BENCH_ADAPTIVE_TARGET % (default 1) or BENCH_ADAPTIVE_MAX repeats (default 8).
 * - `adaptive, 3 s cap`: the same with each repeat capped at trtexec's 3 s (maxDurationMs 3000).
 *
 * Prints per run: wall time of the run, steady-state time of all its processes, repeats, why it
 * stopped, and the p50 interval's half-width; then medians. BENCH_ADAPTIVE_RUNS (default 3),
 * BENCH_ADAPTIVE_MODEL (cnn or transformer; default cnn).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { relHalfWidthLog } from '../src/metrics/intervals.js';
import { runSuite } from '../src/workflows/run.js';

const SMOKE = fileURLToPath(new URL('../suites/smoke.yaml', import.meta.url));

const med = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? (s[(n - 1) / 2] as number) : ((s[n / 2 - 1] as number) + (s[n / 2] as number)) / 2;
};

function suiteFor(dir: string, model: string, name: string, measurement: Record<string, unknown>): string {
  const raw = parse(readFileSync(SMOKE, 'utf8')) as { models: Array<Record<string, unknown>>; measurement: Record<string, unknown> };
  const base = dirname(SMOKE);
  const abs = (p: unknown): unknown => (typeof p === 'string' ? resolve(base, p) : p);
  raw.models = raw.models
    .filter((m) => m['name'] === model)
    .map((m) => {
      const inputs = m['inputs'] as Record<string, unknown> | undefined;
      return { ...m, path: abs(m['path']), reference: abs(m['reference']), ...(inputs ? { inputs: { ...inputs, ...(inputs['file'] ? { file: abs(inputs['file']) } : {}) } } : {}) };
    });
  if (raw.models.length === 0) throw new Error(`no model ${model} in ${SMOKE}`);
  raw.measurement = { ...raw.measurement, concurrency: [1], ...measurement };
  const path = join(dir, `${name}.yaml`);
  writeFileSync(path, stringify({ ...raw, name }));
  return path;
}

interface Row {
  wallS: number;
  steadyS: number;
  repeats: number;
  stop: string;
  hwPct: number;
}

export async function run(): Promise<void> {
  const runs = Number(process.env['BENCH_ADAPTIVE_RUNS'] ?? 3);
  const model = process.env['BENCH_ADAPTIVE_MODEL'] ?? 'cnn';
  const target = Number(process.env['BENCH_ADAPTIVE_TARGET'] ?? 1);
  const max = Number(process.env['BENCH_ADAPTIVE_MAX'] ?? 8);
  const dir = mkdtempSync(join(tmpdir(), 'benchalign-adaptive-'));
  const fixed3s = { minDurationMs: 3000, maxDurationMs: 3000, targetCiHalfWidthPct: 1e-6, targetCiHalfWidthPctP99: 1e-6 };
  const ways: Array<{ name: string; suite: string; repeats: number }> = [
    { name: 'trtexec 3 s x1', suite: suiteFor(dir, model, 'trtexec', fixed3s), repeats: 1 },
    { name: 'fixed 3 s x3', suite: suiteFor(dir, model, 'fixed', fixed3s), repeats: 3 },
    { name: `adaptive (3..${max}, ±${target}%)`, suite: suiteFor(dir, model, 'adaptive', { targetCiHalfWidthPct: target, maxRepeats: max }), repeats: 3 },
    { name: `adaptive, 3 s cap`, suite: suiteFor(dir, model, 'capped', { targetCiHalfWidthPct: target, maxRepeats: max, maxDurationMs: 3000 }), repeats: 3 },
  ];
  const rows = new Map<string, Row[]>(ways.map((w) => [w.name, []]));
  console.log(`${model} on ONNX Runtime (1 intra-op thread), ${runs} runs of each, alternating`);
  for (let i = 0; i < runs; i++) {
    for (const w of ways) {
      const t0 = Date.now();
      const r = await runSuite({ suitePath: w.suite, repeats: w.repeats, outDir: join(dir, `way${ways.indexOf(w)}-${i}`), quiet: true });
      const wallS = (Date.now() - t0) / 1000;
      const j = r.results.jobs[0];
      const p50 = j?.latency?.percentiles.p50;
      const windows = j?.steadyWindowsMs ?? (j?.steadyWindowMs ? [j.steadyWindowMs] : []);
      const row: Row = {
        wallS,
        steadyS: windows.reduce((a, x) => a + (x.endMs - x.startMs), 0) / 1000,
        repeats: j?.samplesNs?.length ?? 0,
        stop: j?.repeatsStop?.reason ?? 'fixed',
        hwPct: p50 ? relHalfWidthLog(p50) * 100 : NaN,
      };
      rows.get(w.name)?.push(row);
      console.log(
        `${w.name.padEnd(24)} run ${i + 1}: ${row.wallS.toFixed(1)} s wall, ${row.steadyS.toFixed(1)} s steady, ${row.repeats} repeat(s), stop ${row.stop}, p50 ${p50?.value.toFixed(4)} ms ±${row.hwPct.toFixed(2)}% (${j?.latency?.ciMethod})`,
      );
    }
  }
  for (const w of ways) {
    const rs = rows.get(w.name) ?? [];
    console.log(
      `median ${w.name.padEnd(24)}: ${med(rs.map((r) => r.wallS)).toFixed(1)} s wall, ${med(rs.map((r) => r.steadyS)).toFixed(1)} s steady, ${med(rs.map((r) => r.repeats))} repeat(s), p50 interval ±${med(rs.map((r) => r.hwPct)).toFixed(2)}%`,
    );
  }
  rmSync(dir, { recursive: true, force: true });
}
