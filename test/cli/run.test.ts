import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunResults } from '../../src/model/record.js';
import { REPO, cnnModel, tempDir, transformerModel, writeSuite } from '../agents/helpers.js';

const BIN = join(REPO, 'bin/benchalign.js');
const ORT = { name: 'onnxruntime', options: { intraOpThreads: 1 } };
const NODE_TESTS = join(REPO, 'test/fixtures/generated/onnx_node_tests');

function cli(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, CI: '1', ...env }, timeout: 300_000, maxBuffer: 256 * 2 ** 20 });
}

describe('benchalign run (the real CLI process)', () => {
  it('prints the engine comparison and exits 0 on a good suite', () => {
    const dir = tempDir('cli');
    const suite = writeSuite(dir, { models: [cnnModel()], engines: [ORT] });
    const r = cli(['run', suite, '--out', join(dir, 'out')]);
    expect(r.stderr).toContain('[1/1] cnn × onnxruntime');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('## Engine comparison');
    expect(r.stdout).toMatch(/\| cnn \| onnxruntime 1\.\d+\.\d+ \| fp32 \| ok( \(unstable\))? \|/);
    expect(r.stdout).toContain('1 job(s): 1 ok, 0 failed, 0 errored, 0 skipped');
  });

  it('prints results.json with --json and nothing else on stdout', () => {
    const dir = tempDir('cli-json');
    const suite = writeSuite(dir, { models: [cnnModel()], engines: [ORT] });
    const r = cli(['run', suite, '--out', join(dir, 'out'), '--json', '--accuracy-only']);
    expect(r.status).toBe(0);
    const parsed = JSON.parse(r.stdout) as RunResults;
    expect(parsed.run.mode).toBe('accuracy-only');
    expect(parsed.jobs[0]?.alignment?.[0]?.passed).toBe(true);
    expect(parsed.jobs[0]?.latency).toBeUndefined();
  });

  it('saves the outputs so that `benchalign align` can check them again later', () => {
    const dir = tempDir('cli-save');
    const suite = writeSuite(dir, { models: [transformerModel()], engines: [ORT] });
    const out = join(dir, 'out');
    expect(cli(['run', suite, '--out', out, '--accuracy-only', '--save-outputs', '--quiet']).status).toBe(0);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as RunResults;
    const saved = join(out, results.jobs[0]?.savedOutputs ?? 'missing');
    const ok = cli(['align', saved, join(REPO, 'suites/models/transformer/outputs.pt')]);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/hidden/);
    expect(ok.stdout).toMatch(/pooled/);
    const strict = cli(['align', saved, join(REPO, 'suites/models/transformer/outputs.pt'), '--atol', '0', '--rtol', '0']);
    expect(strict.status).toBe(1);
  });

  it('exits 2 with every problem of a bad suite, each with its path', () => {
    const dir = tempDir('cli-bad');
    const path = join(dir, 'bad.yaml');
    writeFileSync(path, 'name: bad\nmodels:\n  - name: m\n    path: nowhere.onnx\nengines:\n  - name: onnxruntime\n    precision: fp8\n');
    const r = cli(['run', path]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/models\[0\]\.path: .*not found/);
    expect(r.stderr).toMatch(/engines\[0\]\.precision/);
  });

  it('exits 3 when the only engine is not available, and says why', () => {
    const dir = tempDir('cli-missing');
    const suite = writeSuite(dir, { models: [cnnModel()], engines: [{ name: 'no-such-engine' }] });
    const r = cli(['run', suite, '--out', join(dir, 'out')]);
    expect(r.status).toBe(3);
    expect(readFileSync(join(dir, 'out', 'report.md'), 'utf8')).toMatch(/unknown engine "no-such-engine"/);
  });

  it('on SIGINT keeps the finished jobs, marks the run interrupted and writes the reports', async () => {
    const dir = tempDir('cli-sigint');
    const slow = { warmup: { minIterations: 5, maxIterations: 100, maxMs: 200 }, minDurationMs: 4000, maxDurationMs: 4000, targetCiHalfWidthPct: 0.001, timeoutMs: 30000 };
    const suite = writeSuite(dir, { models: [cnnModel({ measurement: { minDurationMs: 300, maxDurationMs: 300 } }), transformerModel()], engines: [ORT], measurement: slow });
    const out = join(dir, 'out');
    const child = spawn(process.execPath, [BIN, 'run', suite, '--out', out], { env: { ...process.env, CI: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('[2/2] transformer × onnxruntime ...') && !child.killed) setTimeout(() => child.kill('SIGINT'), 300);
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(stderr).toContain('interrupted');
    expect(code).toBe(3);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as RunResults;
    expect(results.run.status).toBe('interrupted');
    expect(results.jobs.map((j) => `${j.model.name}:${j.status}`)).toEqual(['cnn:ok']);
    expect(existsSync(join(out, 'junit.xml'))).toBe(true);
  }, 60_000);
});

describe('benchalign run --onnx-tests (the ONNX backend node tests, accuracy only)', () => {
  it.skipIf(!existsSync(NODE_TESTS))('runs every case, aligns most of them and reports unsupported ones as skipped', () => {
    const dir = tempDir('cli-onnx');
    const r = cli(['run', '--onnx-tests', NODE_TESTS, '--engines', 'onnxruntime', '--accuracy-only', '--out', join(dir, 'out'), '--quiet']);
    expect([0, 1]).toContain(r.status);
    expect(r.stdout).toMatch(/^\d+ job\(s\): \d+ ok, \d+ failed, \d+ errored, \d+ skipped$/m);
    const results = JSON.parse(readFileSync(join(dir, 'out', 'results.json'), 'utf8')) as RunResults;
    const count = (s: string) => results.jobs.filter((j) => j.status === s).length;
    expect(results.jobs.length).toBeGreaterThan(1000);
    expect(count('ok')).toBeGreaterThan(1000);
    const add = results.jobs.find((j) => j.model.name === 'test_add');
    expect(add?.status).toBe('ok');
    expect(add?.alignment?.[0]?.maxAbsError).toBe(0);
    const stringCase = results.jobs.find((j) => j.model.name === 'test_ai_onnx_ml_label_encoder_string_int');
    expect(stringCase?.status).toBe('skipped');
    expect(stringCase?.reason).toMatch(/string tensor/);
    for (const j of results.jobs.filter((x) => x.status === 'errored')) expect(j.reason).toBeTruthy();
  }, 300_000);
});
