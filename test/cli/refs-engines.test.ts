/**
 * `benchalign refs --engines executorch,litert`: the suite refs writes records the PyTorch
 * form's inputs (names, dtypes, dims) and output names, which is what the engines that start
 * from PyTorch need to convert it; the suite then runs and aligns on them (real PyTorch,
 * ExecuTorch and LiteRT in the venv; no ONNX model involved).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunResults } from '../../src/model/record.js';
import { REPO, tempDir } from '../agents/helpers.js';
import { engineAvailability } from '../runners/engine-suite.js';

const BIN = join(REPO, 'bin/benchalign.js');
const TINY = join(REPO, 'test/fixtures/pytorch/tiny_net.py');
const ready = (await engineAvailability('pytorch')).available && (await engineAvailability('executorch')).available && (await engineAvailability('litert')).available;

function cli(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 600_000, cwd: REPO, env: { ...process.env, ...env } });
}

describe.skipIf(!ready)('benchalign refs --engines executorch,litert', () => {
  const dir = tempDir('refs-engines');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a suite whose PyTorch form (with its inputs and outputs) ExecuTorch and LiteRT convert, and both align', () => {
    const out = join(dir, 'tiny');
    const r = cli(['refs', `${TINY}:build`, '--inputs', 'scale:1x4:float32:0.5,2', '--inputs', 'image:1x3x8x8', '--seed', '3', '--output-names', 'logits,features', '--engines', 'executorch,litert', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const suite = readFileSync(join(out, 'suite.yaml'), 'utf8');
    expect(suite).toMatch(/name: executorch/);
    expect(suite).toMatch(/name: litert/);
    const run = cli(['run', join(out, 'suite.yaml'), '--accuracy-only', '--json', '--no-store', '--out', join(dir, 'run')], { BENCHALIGN_CACHE_DIR: join(dir, 'cache') });
    expect(run.status, run.stderr).toBe(0);
    const results = JSON.parse(run.stdout) as RunResults;
    expect(results.jobs.map((j) => [j.engine.name, j.status, j.reason, j.alignment?.map((a) => [a.name, a.passed])])).toEqual([
      ['pytorch', 'ok', undefined, [['logits', true], ['features', true]]],
      ['executorch', 'ok', undefined, [['logits', true], ['features', true]]],
      ['litert', 'ok', undefined, [['logits', true], ['features', true]]],
    ]);
  }, 900_000);
});
