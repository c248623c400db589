/**
 * scripts/gpu-check.sh, the GPU check (docs/gpu.md). The real check needs an NVIDIA GPU and a
 * CUDA PyTorch; on a machine without them that test skips with its reason, and the script's
 * own logic is checked by its CPU dry run (`--device cpu`: the same build, engine, timing and
 * alignment code, no CUDA, no sampler) and by its refusal to pretend (exit 3 without nvidia-smi).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pythonPath } from '../../src/runners/python/env.js';
import { zooListJson } from '../../src/zoo/list.js';
import { REPO, tempDir } from '../agents/helpers.js';

const SCRIPT = join(REPO, 'scripts/gpu-check.sh');
const hasSmi = spawnSync('sh', ['-c', 'command -v nvidia-smi'], { encoding: 'utf8' }).status === 0;
const hasVenv = existsSync(pythonPath());
if (!hasSmi) console.log('skipped: the real GPU check needs an NVIDIA GPU (no nvidia-smi on this machine): run OUT=<dir> bash scripts/gpu-check.sh on one');

function gpuCheck(out: string, args: string[]) {
  return spawnSync('bash', [SCRIPT, ...args], { encoding: 'utf8', timeout: 600_000, cwd: REPO, env: { ...process.env, OUT: out } });
}

interface GpuResults {
  environment: Record<string, unknown>;
  tolerances: Record<string, { atol: number; rtol: number; cosineMin: number }>;
  models: Record<string, { status: string; parameters?: number; runs: Array<{ precision: string; aligned: boolean; latencyMs?: { p50: number; n: number }; alignment?: Record<string, { passed: boolean; maxAbsError: number }> }> }>;
}

describe('scripts/gpu-check.sh', () => {
  it('its catalog copy (scripts/gpu-check-zoo.json) is `benchalign zoo list --json` (regenerate it when the catalog changes)', () => {
    expect(JSON.parse(readFileSync(join(REPO, 'scripts/gpu-check-zoo.json'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(zooListJson())));
  });

  it('parses (bash -n)', () => {
    const r = spawnSync('bash', ['-n', SCRIPT], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  });

  it.skipIf(hasSmi)('without an NVIDIA driver: exit 3, saying so, and no results.json', () => {
    const out = tempDir('gpu-none');
    try {
      const r = gpuCheck(out, []);
      expect(r.status).toBe(3);
      expect(r.stderr).toMatch(/nvidia-smi not found/);
      expect(existsSync(join(out, 'results.json'))).toBe(false);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it.skipIf(!hasVenv)('dry run on the CPU (--device cpu): builds the model, runs the PyTorch engine, aligns with the references, writes results.json', () => {
    const out = tempDir('gpu-dry');
    try {
      const r = gpuCheck(out, ['--device', 'cpu', '--models', 'lstm', '--precisions', 'fp32', '--iterations', '5']);
      expect(r.status, r.stdout + r.stderr).toBe(0);
      const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as GpuResults;
      expect(res.environment.device).toBe('cpu');
      expect(res.tolerances.fp32).toMatchObject({ atol: 1e-3, rtol: 1e-3 });
      const lstm = res.models.lstm;
      expect(lstm?.status).toBe('ok');
      expect(lstm?.parameters).toBe(232_714);
      expect(lstm?.runs[0]?.latencyMs?.n).toBe(5);
      expect(Object.keys(lstm?.runs[0]?.alignment ?? {})).toEqual(['sequence', 'logits']);
      expect(readFileSync(join(out, 'gpu-check.log'), 'utf8')).toMatch(/dry run on the CPU/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 600_000);

  it.skipIf(!hasSmi)('on an NVIDIA GPU: every default model aligns on CUDA, with nvidia-smi samples', () => {
    const out = tempDir('gpu-real');
    try {
      const r = gpuCheck(out, ['--iterations', '50']);
      expect(r.status, r.stdout + r.stderr).toBe(0);
      const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as GpuResults;
      for (const [name, m] of Object.entries(res.models)) expect(m.status, name).toBe('ok');
      expect(readFileSync(join(out, 'nvidia-smi.csv'), 'utf8').split('\n').length).toBeGreaterThan(2);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 600_000);
});
