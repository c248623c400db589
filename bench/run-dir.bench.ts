/**
 * Cost of recording one finished job in the run folder as the run grows: the mean time of
 * RunDirectory.addJob over jobs 1-100 and over jobs 4,901-5,000 (an append to the journal,
 * so about the same), next to rewriting results.json whole after every job (the earlier
 * scheme, quadratic in jobs). Each job is a realistic record (latency summary, 2,000 samples,
 * alignment). Files live in os.tmpdir() and are deleted afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunDirectory, writeFileAtomic } from '../src/reports/run-dir.js';
import type { JobResult, RunResults } from '../src/model/record.js';

const N = 5000;

function job(i: number): JobResult {
  const samples = Array.from({ length: 2000 }, (_, k) => 1e6 + ((i * 7919 + k * 104729) % 100000));
  return {
    key: `m${i}/onnxruntime/fp32`,
    model: { name: `m${i}`, path: `/models/m${i}.onnx`, sha256: 'ab'.repeat(32) },
    engine: { name: 'onnxruntime', precision: 'fp32', options: {} },
    status: 'ok',
    startedAt: '2026-01-01T00:00:00.000Z',
    samplesNs: [samples],
  } as unknown as JobResult;
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'benchalign-bench-rundir-'));
  try {
    const header = (): RunResults => ({ schemaVersion: 1, tool: { name: 'benchalign', version: 'bench' }, suite: { name: 's', path: '/s', sha256: 'x' }, run: { id: 'r', startedAt: '2026-01-01T00:00:00.000Z', status: 'running', argv: [], mode: 'benchmark' }, jobs: [] }) as unknown as RunResults;
    const jobs = Array.from({ length: N }, (_, i) => job(i));
    const out = new RunDirectory(join(dir, 'journal'), header());
    const times: number[] = [];
    for (const j of jobs) {
      const t0 = performance.now();
      out.addJob(j);
      times.push(performance.now() - t0);
    }
    out.finish('complete');
    const mean = (a: number[]) => (a.reduce((s, x) => s + x, 0) / a.length).toFixed(3);
    console.log(`journal (now):        addJob mean ${mean(times.slice(0, 100))} ms over jobs 1-100, ${mean(times.slice(N - 100))} ms over jobs ${N - 99}-${N}`);
    // The earlier scheme, for the ratio: rewrite results.json whole after each job (measured at 100 and at 5,000 jobs).
    const whole = header();
    const rewrite = (k: number): number => {
      whole.jobs = jobs.slice(0, k);
      const t0 = performance.now();
      writeFileAtomic(join(dir, 'whole.json'), `${JSON.stringify(whole, null, 1)}\n`);
      return performance.now() - t0;
    };
    const early = [rewrite(100), rewrite(100), rewrite(100)];
    const late = [rewrite(N), rewrite(N), rewrite(N)];
    console.log(`whole rewrite (before): ${mean(early)} ms per job at 100 jobs, ${mean(late)} ms per job at ${N} jobs`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
