/**
 * The hostile-input corpus through the real CLI: every crafted file (test/fixtures/make_hostile.py,
 * and the bad tensor files of make_tensors.py) gives a typed error on one line, its documented
 * exit code, no stack trace, in bounded time and memory (peak RSS polled from /proc).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, tempDir } from '../agents/helpers.js';

const BIN = join(REPO, 'bin/benchalign.js');
const HOSTILE = join(REPO, 'test/fixtures/generated/hostile');
const TENSORS = join(REPO, 'test/fixtures/generated/tensors');
const MAX_MS = 30_000;
const MAX_RSS_BYTES = 1024 * 2 ** 20;

interface Case {
  name: string;
  args: string[];
  exit: number;
  code: string | null;
  why: string;
  /** Lines of stderr: 1, or a suite error's header plus one per problem. */
  lines?: number;
}

interface Outcome {
  status: number | null;
  stderr: string;
  ms: number;
  peakRss: number;
}

function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

function runCli(args: string[], cwd: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, CI: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let peakRss = 0;
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const poll = setInterval(() => (peakRss = Math.max(peakRss, rssOf(child.pid as number))), 20);
    const kill = setTimeout(() => child.kill('SIGKILL'), MAX_MS);
    child.on('close', (status) => {
      clearInterval(poll);
      clearTimeout(kill);
      resolve({ status, stderr, ms: Date.now() - t0, peakRss });
    });
  });
}

function expectTyped(c: Case, o: Outcome): void {
  const label = `${c.name} (${c.why}): ${o.stderr}`;
  expect(o.status, label).toBe(c.exit);
  const lines = o.stderr.trimEnd().split('\n');
  expect(lines, label).toHaveLength(c.lines ?? 1);
  expect(lines[0], label).toMatch(c.code !== null ? new RegExp(`^benchalign: error \\[${c.code}\\] `) : /^benchalign: error \[E_[A-Z_]+\] /);
  expect(o.stderr, label).not.toMatch(/internal error|\n\s+at /);
  expect(o.ms, label).toBeLessThan(MAX_MS);
  expect(o.peakRss, label).toBeLessThan(MAX_RSS_BYTES);
}

const haveCorpus = existsSync(join(HOSTILE, 'manifest.json'));
if (!haveCorpus) console.warn(`hostile corpus: ${HOSTILE}/manifest.json is missing; run scripts/setup-test-env.sh (make_hostile.py) - skipping`);

describe.skipIf(!haveCorpus)('hostile-input corpus (make_hostile.py)', () => {
  const cases = haveCorpus ? (JSON.parse(readFileSync(join(HOSTILE, 'manifest.json'), 'utf8')) as { cases: Case[] }).cases : [];

  it('every case: typed error on one line, documented exit code, bounded time and memory', { timeout: 300_000 }, async () => {
    const tmp = tempDir('hostile');
    const outcomes: Array<[Case, Outcome]> = [];
    for (let i = 0; i < cases.length; i += 4) {
      const batch = cases.slice(i, i + 4);
      const done = await Promise.all(batch.map((c) => runCli(c.args.map((a) => a.replace('{tmp}', join(tmp, String(cases.indexOf(c))))), HOSTILE)));
      batch.forEach((c, k) => outcomes.push([c, done[k] as Outcome]));
    }
    expect(outcomes.length).toBeGreaterThan(10);
    for (const [c, o] of outcomes) expectTyped(c, o);
  });

  it('an honest small expanded view still reads', async () => {
    const o = await runCli(['inspect', 'tensors/expand_small.pt'], HOSTILE);
    expect(o.stderr).toBe('');
    expect(o.status).toBe(0);
  });
});

const haveTensors = existsSync(join(TENSORS, 'manifest.json'));
describe.skipIf(!haveTensors)('bad tensor files of make_tensors.py through the CLI', () => {
  it('inspect: each is its typed error, exit 2', { timeout: 300_000 }, async () => {
    const errors = (JSON.parse(readFileSync(join(TENSORS, 'manifest.json'), 'utf8')) as { errors: Record<string, string> }).errors;
    const cases: Case[] = Object.entries(errors).map(([file, code]) => ({ name: `inspect ${file}`, args: ['inspect', file], exit: 2, code, why: 'make_tensors.py bad file' }));
    for (let i = 0; i < cases.length; i += 4) {
      const batch = cases.slice(i, i + 4);
      const done = await Promise.all(batch.map((c) => runCli(c.args, TENSORS)));
      batch.forEach((c, k) => expectTyped(c, done[k] as Outcome));
    }
  });
});
