import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunDirectory } from '../../src/reports/run-dir.js';
import { readRunFile } from '../../src/results/run-file.js';
import { REPO, tempDir } from '../agents/helpers.js';
import { syntheticRun } from '../results/store-contract.js';

function emptyRun(id: string) {
  const r = syntheticRun(id, '2026-01-01T00:00:00.000Z', 1, 'dev-aaaa', 3);
  const jobs = r.jobs;
  r.jobs = [];
  r.run.status = 'running';
  delete r.run.endedAt;
  return { header: r, jobs };
}

describe('run folder: finished jobs go to an append-only journal', () => {
  it('a job is one appended line: results.json is not rewritten per job, and is whole once the run ends', () => {
    const dir = tempDir('rundir');
    const { header, jobs } = emptyRun('j1');
    const out = new RunDirectory(dir, header);
    const before = readFileSync(join(dir, 'results.json'), 'utf8');
    for (const j of jobs) out.addJob(j);
    expect(readFileSync(join(dir, 'results.json'), 'utf8')).toBe(before);
    const lines = readFileSync(join(dir, 'results.jobs.jsonl'), 'utf8').trimEnd().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { key: string }).key)).toEqual(jobs.map((j) => j.key));
    // while it runs, a reader sees every finished job
    expect(readRunFile(dir).jobs.map((j) => j.key)).toEqual(jobs.map((j) => j.key));
    out.finish('complete');
    expect(existsSync(join(dir, 'results.jobs.jsonl'))).toBe(false);
    const done = readRunFile(dir);
    expect(done.run.status).toBe('complete');
    expect(done.jobs.map((j) => j.key)).toEqual(jobs.map((j) => j.key));
  });

  it('a run killed with SIGKILL keeps its finished jobs; a line cut short by the kill is left out', () => {
    const dir = tempDir('rundir-kill');
    const { header, jobs } = emptyRun('k1');
    const script = `
      import { RunDirectory } from ${JSON.stringify(join(REPO, 'dist/src/reports/run-dir.js'))};
      const { header, jobs } = JSON.parse(process.argv[1]);
      const out = new RunDirectory(${JSON.stringify(dir)}, header);
      out.addJob(jobs[0]);
      out.addJob(jobs[1]);
      process.kill(process.pid, 'SIGKILL');`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, JSON.stringify({ header, jobs })], { encoding: 'utf8' });
    expect(r.signal).toBe('SIGKILL');
    appendFileSync(join(dir, 'results.jobs.jsonl'), JSON.stringify(jobs[2]).slice(0, 40));
    const got = readRunFile(dir);
    expect(got.run.status).toBe('running');
    expect(got.jobs.map((j) => j.key)).toEqual(jobs.slice(0, 2).map((j) => j.key));
  });
});
