/**
 * The `command` engine with a small real program (test/fixtures/programs/onnx_reference_engine.py:
 * ONNX's reference evaluator behind the program contract), on the bundled models through the
 * whole pipeline, aligned against their PyTorch references; and the --allow-programs gate.
 */
import { describe, expect, it } from 'vitest';
import { outputFileName, parseCommandOptions, parseTimes } from '../../src/runners/command/options.js';
import { pythonPath } from '../../src/runners/python/env.js';
import { cnnModel, transformerModel } from '../agents/helpers.js';
import { runEngineOnBundled, expectBundledAligned } from './engine-suite.js';
import { REPO } from './helpers.js';
import { existsSync } from 'node:fs';

const PROGRAM = `${REPO}test/fixtures/programs/onnx_reference_engine.py`;
const program = (mode = 'ok') => [pythonPath(), PROGRAM, '--mode', mode];
const hasPython = existsSync(pythonPath());
if (!hasPython) console.log(`skipped: the command engine's test program needs the Python venv (${pythonPath()} is missing)`);

describe('command engine options and times (pure)', () => {
  it('program as a path or argv array; every bad option named at once', () => {
    expect(parseCommandOptions({ program: '/bin/x' })).toEqual({ program: ['/bin/x'], timeoutMs: 600_000 });
    expect(() => parseCommandOptions({ program: [], timeoutMs: 0, shell: 'sh' })).toThrow(/options\.program: expected .*options\.timeoutMs: expected an integer >= 1.*options\.shell: unknown option/);
  });

  it('times: one positive number of ms per line, as many as iterations; anything else names the file and line', () => {
    expect(parseTimes('0.5\n1.25\n', 't.txt', 2)).toEqual([500_000, 1_250_000]);
    expect(() => parseTimes('0.5\nfast\n', 't.txt', 2)).toThrow(/t\.txt line 2: "fast" is not a positive number of milliseconds/);
    expect(() => parseTimes('0.5\n', 't.txt', 2)).toThrow(/t\.txt has 1 times for 2 iterations/);
    expect(() => parseTimes('-1\n', 't.txt', 1)).toThrow(/line 1/);
    expect(outputFileName('a/b:c.d-e')).toBe('a_b_c.d-e.npy');
  });
});

describe.skipIf(!hasPython)('command engine running a real program', () => {
  it('without --allow-programs the job is refused and names the flag; nothing runs (an inherited BENCHALIGN_ALLOW_PROGRAMS counts for nothing)', async () => {
    const results = await runEngineOnBundled('command', { options: { program: program() }, models: [cnnModel()], env: { BENCHALIGN_ALLOW_PROGRAMS: '1' } });
    expect(results.jobs[0]?.status).toBe('errored');
    expect(results.jobs[0]?.reason).toMatch(/programs are not allowed here.*--allow-programs/);
    expect(results.jobs[0]?.latency).toBeUndefined();
  });

  it('with --allow-programs: both bundled models align, latency is the per-iteration times the program wrote', async () => {
    const results = await runEngineOnBundled('command', { options: { program: program() }, models: [cnnModel({ outputs: { logits: { topK: 5 } } }), transformerModel()], allowPrograms: true });
    expectBundledAligned(results);
    for (const job of results.jobs) {
      expect(job.engine.appliedOptions).toMatchObject({ program: program(), contract: '1.0' });
      expect(job.latency?.count).toBeGreaterThan(0);
      expect(job.latency?.percentiles.p50.value).toBeGreaterThan(0);
    }
    expect(results.jobs[1]?.alignment?.map((a) => a.name).sort()).toEqual(['hidden', 'pooled']);
  }, 300_000);

  it('a program that fails, or writes times it cannot parse, errors its job with the program\'s own message; the run goes on', async () => {
    const fail = await runEngineOnBundled('command', { options: { program: program('fail') }, models: [cnnModel()], allowPrograms: true });
    expect(fail.jobs[0]?.status).toBe('errored');
    expect(fail.jobs[0]?.reason).toMatch(/exited with code 3.*unsupported operator Frobnicate/s);
    const bad = await runEngineOnBundled('command', { options: { program: program('bad-times') }, models: [cnnModel()], allowPrograms: true });
    expect(bad.jobs[0]?.status).toBe('errored');
    expect(bad.jobs[0]?.reason).toMatch(/times\.txt line 1: "fast" is not a positive number of milliseconds/);
  }, 300_000);
});
