/**
 * A run killed with SIGKILL: its finished jobs are in the results store at once (recorded job
 * by job, the run marked running), and the next run on the host marks it interrupted.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRunFile } from '../../src/results/run-file.js';
import { openStore } from '../../src/results/store/store.js';
import { REPO, cnnModel, tempDir, transformerModel, writeSuite } from '../agents/helpers.js';

const BIN = join(REPO, 'bin/benchalign.js');
const ORT = { name: 'onnxruntime', options: { intraOpThreads: 1 } };

describe('no run lost: a killed run', () => {
  it('keeps its finished jobs in the store and in the run folder; the next run marks it interrupted', async () => {
    const dir = tempDir('killed');
    const db = join(dir, 'store.db');
    const slow = { warmup: { minIterations: 5, maxIterations: 100, maxMs: 200 }, minDurationMs: 20000, maxDurationMs: 20000, targetCiHalfWidthPct: 0.001, timeoutMs: 60000 };
    const suite = writeSuite(dir, { models: [cnnModel({ measurement: { minDurationMs: 300, maxDurationMs: 300 } }), transformerModel()], engines: [ORT], measurement: slow });
    const out = join(dir, 'out');
    const child = spawn(process.execPath, [BIN, 'run', suite, '--out', out, '--store', db, '--tag', 'nightly'], { env: { ...process.env, CI: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('[2/2] transformer × onnxruntime ...') && !child.killed) setTimeout(() => child.kill('SIGKILL'), 500);
    });
    const signal = await new Promise<string | null>((resolve) => child.on('exit', (_c, s) => resolve(s)));
    expect(signal).toBe('SIGKILL');

    const folder = readRunFile(out);
    expect(folder.run.status).toBe('running');
    expect(folder.jobs.map((j) => `${j.model.name}:${j.status}`)).toEqual(['cnn:ok']);
    const store = await openStore(db);
    try {
      const runs = await store.listRuns();
      expect(runs.map((r) => [r.id, r.status, r.tags])).toEqual([[folder.run.id, 'running', ['nightly']]]);
      const stored = await store.getRun(folder.run.id);
      expect(stored?.jobs.map((j) => j.key)).toEqual(folder.jobs.map((j) => j.key));
      expect(stored?.jobs[0]?.latency?.count).toBe(folder.jobs[0]?.latency?.count);
    } finally {
      await store.close();
    }

    const small = writeSuite(dir, { models: [cnnModel()], engines: [ORT] }, 'small.json');
    const next = spawnSync(process.execPath, [BIN, 'run', small, '--accuracy-only', '--out', join(dir, 'next'), '--store', db], { encoding: 'utf8', env: { ...process.env, CI: '1' }, timeout: 120_000 });
    expect(next.status).toBe(0);
    expect(next.stderr).toContain(`run ${folder.run.id} was left running by a process that is gone (killed?); marked interrupted in the results store`);
    const after = await openStore(db);
    try {
      const runs = await after.listRuns();
      expect(runs.find((r) => r.id === folder.run.id)?.status).toBe('interrupted');
      const nextId = (JSON.parse(readFileSync(join(dir, 'next', 'results.json'), 'utf8')) as { run: { id: string } }).run.id;
      expect(runs.find((r) => r.id === nextId)?.status).toBe('complete');
      expect((await after.getRun(nextId))?.jobs).toHaveLength(1);
    } finally {
      await after.close();
    }
  }, 120_000);
});
