/**
 * Issue 17's "done when" on models the team has not seen (test/fixtures/make_unseen.py: a
 * depthwise + squeeze-excite CNN, a transformer encoder layer, an embedding + GRU on int64 ids,
 * a detection head with two outputs, a CNN with a dynamic batch run at 4, a residual
 * BN/hardswish CNN): each new engine (LiteRT, ExecuTorch, OpenCV-DNN, TVM) runs the six for real,
 * accuracy-only, one thread, through runSuite, and aligns at least four of them against the
 * PyTorch references; every job that does not align says why, in a reason that names the
 * cause rather than ending in a bare Python traceback.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runSuite } from '../../src/workflows/run.js';
import type { RunResults } from '../../src/model/record.js';
import { REPO, tempDir } from '../agents/helpers.js';
import { engineAvailability } from './engine-suite.js';

const ENGINES = ['litert', 'executorch', 'opencv', 'tvm'] as const;
const MODELS = ['dwse', 'transformer', 'gru', 'detect', 'dynbatch', 'resnet'];
const VENV_PY = join(REPO, '.venv/bin/python');

const avail = Object.fromEntries(await Promise.all(ENGINES.map(async (e) => [e, (await engineAvailability(e)).available] as const)));
const anyAvailable = Object.values(avail).some(Boolean);

/** The generated fixtures (scripts/setup-test-env.sh), else generated here into a temp folder. */
function fixtureSuite(work: string): string {
  const generated = join(REPO, 'test/fixtures/generated/unseen/suite.yaml');
  if (existsSync(generated)) return generated;
  const out = join(work, 'unseen');
  execFileSync(VENV_PY, [join(REPO, 'test/fixtures/make_unseen.py'), out], { stdio: 'pipe' });
  return join(out, 'suite.yaml');
}

/** One line per job: model, status, and why when it did not align. */
function table(results: RunResults): string[] {
  return results.jobs.map((j) => {
    const bad = (j.alignment ?? []).filter((a) => !a.passed).map((a) => `${a.name}: ${a.reasons.join('; ')}`);
    return `${j.model.name} ${j.status}${j.reason !== undefined ? `: ${j.reason}` : ''}${bad.length > 0 ? ` [${bad.join(' | ')}]` : ''}`;
  });
}

if (!anyAvailable) console.log('skipped: none of litert, executorch, opencv, tvm is available here (run `benchalign engines setup`)');

describe.skipIf(!anyAvailable)('the new engines on six models the team has not seen (issue 17)', () => {
  const work = tempDir('unseen');
  const cache = join(work, 'cache');
  const savedCache = process.env.BENCHALIGN_CACHE_DIR;
  process.env.BENCHALIGN_CACHE_DIR = cache;
  afterAll(() => {
    if (savedCache === undefined) delete process.env.BENCHALIGN_CACHE_DIR;
    else process.env.BENCHALIGN_CACHE_DIR = savedCache;
    rmSync(work, { recursive: true, force: true });
  });
  const suite = existsSync(VENV_PY) ? fixtureSuite(work) : '';

  // The engines run side by side (each its own worker): the conversions dominate, and on a
  // 2-core machine they overlap with each other's process start-up and imports.
  describe.concurrent('each engine aligns at least 4 of 6; every job that does not says why', () => {
    for (const engine of ENGINES) {
      it.skipIf(!avail[engine])(engine, async () => {
        const { results } = await runSuite({ suitePath: suite, engines: [engine], mode: 'accuracy-only', outDir: join(work, `run-${engine}`), quiet: true, noAgents: true });
        const lines = table(results);
        console.log(`${engine}:\n  ${lines.join('\n  ')}`);
        expect(results.jobs.map((j) => j.model.name)).toEqual(MODELS);
        const aligned = results.jobs.filter((j) => j.status === 'ok' && (j.alignment ?? []).length > 0 && j.alignment!.every((a) => a.passed));
        expect(aligned.length, lines.join('\n')).toBeGreaterThanOrEqual(4);
        for (const j of results.jobs.filter((x) => !aligned.includes(x))) {
          const why = j.reason ?? (j.alignment ?? []).flatMap((a) => a.reasons).join('; ');
          expect(why.trim(), `${j.model.name}: no reason`).not.toBe('');
          // the cause comes first, not the tail of a traceback (a traceback line, or a bare exception line)
          const first = why.trim().split('\n')[0]!;
          expect(first, `${j.model.name}: a bare traceback`).not.toMatch(/^(Traceback \(most recent call last\)|File ".*", line \d+|\w+(Error|Exception)(: |$))/);
          expect(first.length, `${j.model.name}: first line`).toBeGreaterThan(20);
        }
        if (engine === 'tvm') {
          // TVM's own message first, naming the op, with one expected clause
          const gru = results.jobs.find((j) => j.model.name === 'gru')!;
          expect(gru.reason).toMatch(/^TVM cannot convert op GRU: OpNotImplemented: The following operators are not supported for frontend ONNX: GRU; /);
          expect(gru.reason?.match(/\(expected /g)).toHaveLength(1);
          // the dynamic batch is built static at the suite's batch, and the job says so
          const dyn = results.jobs.find((j) => j.model.name === 'dynbatch')!;
          expect(dyn.engine.notes).toContainEqual(expect.stringMatching(/^static shapes: input x has dynamic dims \["batch", 3, 16, 16\] in the model; TVM built it for \[4, 3, 16, 16\]/));
        }
      }, 600_000);
    }
  });
});
