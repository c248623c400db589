/**
 * ONNX Runtime's own profiler for `run --profile`: a second session with session profiling on
 * (the timed session is never touched), its Chrome-trace JSON read back into per-node times.
 * Runs inside the ONNX Runtime worker.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { ProfileParams, ProfileResultMsg } from '../protocol.js';

interface TraceEvent {
  cat?: string;
  name?: string;
  ts?: number;
  dur?: number;
  args?: { op_name?: string; provider?: string };
}

/**
 * Per-node kernel times from ONNX Runtime's profile JSON (`<node>_kernel_time` events,
 * microseconds), skipping the first `skipRuns` runs (by their `model_run` session events).
 */
export function parseOrtProfile(events: unknown, skipRuns = 0): { runs: number; layers: Array<{ name: string; opType: string; timeNs: number; count: number }> } {
  if (!Array.isArray(events)) return { runs: 0, layers: [] };
  const runs = (events as TraceEvent[]).filter((e) => e?.cat === 'Session' && e.name === 'model_run' && typeof e.ts === 'number').sort((a, b) => (a.ts as number) - (b.ts as number));
  const skipped = runs[skipRuns - 1];
  const cutoff = skipped !== undefined ? (skipped.ts as number) + (skipped.dur ?? 0) : -Infinity;
  const byNode = new Map<string, { name: string; opType: string; timeNs: number; count: number }>();
  for (const e of events as TraceEvent[]) {
    if (e?.cat !== 'Node' || typeof e.name !== 'string' || !e.name.endsWith('_kernel_time') || typeof e.dur !== 'number') continue;
    if (typeof e.ts === 'number' && e.ts < cutoff) continue;
    const name = e.name.slice(0, -'_kernel_time'.length);
    const opType = typeof e.args?.op_name === 'string' ? e.args.op_name : '?';
    const cur = byNode.get(name) ?? { name, opType, timeNs: 0, count: 0 };
    cur.timeNs += e.dur * 1000;
    cur.count += 1;
    byNode.set(name, cur);
  }
  return { runs: Math.max(0, runs.length - skipRuns), layers: [...byNode.values()] };
}

export async function profileSession(
  modelPath: string,
  options: ort.InferenceSession.SessionOptions,
  feeds: Record<string, ort.Tensor>,
  p: ProfileParams,
): Promise<ProfileResultMsg> {
  const prefix = join(p.workDir, 'ort-profile');
  const session = await ort.InferenceSession.create(modelPath, { ...options, enableProfiling: true, profileFilePrefix: prefix });
  try {
    await session.run(feeds); // the first run allocates: left out of the totals below
    const iterations = Math.max(1, Math.floor(p.iterations));
    const deadline = process.hrtime.bigint() + BigInt(Math.round(p.maxDurationMs * 1e6));
    let done = 0;
    const t0 = process.hrtime.bigint();
    while (done < iterations) {
      await session.run(feeds);
      done++;
      if (process.hrtime.bigint() >= deadline) break;
    }
    const wallNs = Number(process.hrtime.bigint() - t0);
    session.endProfiling();
    const files = (await readdir(p.workDir)).filter((f) => f.startsWith('ort-profile') && f.endsWith('.json'));
    const file = files[0];
    if (file === undefined) return { profiler: 'onnxruntime session profiling', iterations: done, wallNs, layers: [], notes: ['ONNX Runtime wrote no profile file'] };
    const { layers } = parseOrtProfile(JSON.parse(await readFile(join(p.workDir, file), 'utf8')), 1);
    return { profiler: 'onnxruntime session profiling', iterations: done, wallNs, layers, notes: ['kernel times of ONNX Runtime\'s optimized graph; fused nodes carry ONNX Runtime\'s names'] };
  } finally {
    await session.release();
  }
}
