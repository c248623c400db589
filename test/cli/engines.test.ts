/** `benchalign engines list|setup` through the real CLI process. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pythonPath } from '../../src/runners/python/env.js';
import type { EngineListing } from '../../src/runners/registry.js';
import { REPO } from '../agents/helpers.js';

const BIN = join(REPO, 'bin/benchalign.js');

function cli(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 300_000 });
}

describe('benchalign engines', () => {
  it('list --json: every registered engine, with a version or the reason it is unavailable', () => {
    const r = cli(['engines', 'list', '--json']);
    expect(r.status).toBe(0);
    // The engines are probed side by side: eleven workers alive at once, one harness exit hook.
    expect(r.stderr).not.toMatch(/MaxListenersExceededWarning/);
    const list = JSON.parse(r.stdout) as EngineListing[];
    const names = list.map((e) => e.name);
    expect(names).toContain('onnxruntime');
    expect(names).toContain('openvino');
    expect(names).not.toContain('test-fault');
    for (const e of list) {
      if (e.availability.available) expect(e.availability.version).toMatch(/^\d+\.\d+/);
      else expect(e.availability.reason.length).toBeGreaterThan(10);
    }
  });

  it('list: without the Python venv the Python engines say how to set it up; ONNX Runtime stays available', () => {
    const r = cli(['engines', 'list'], { BENCHALIGN_VENV: '/nonexistent/venv' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^onnxruntime\s+available\s+1\.\d+\.\d+\s+devices: cpu$/m);
    expect(r.stdout).toMatch(/^openvino\s+unavailable\s+no Python engine environment: \/nonexistent\/venv\/bin\/python does not exist \(run: benchalign engines setup\)$/m);
  });

  it.skipIf(!existsSync(pythonPath()))('setup is idempotent: on the venv the test command made, it changes nothing', () => {
    const r = cli(['engines', 'setup']);
    expect(r.stderr).not.toContain('installing');
    expect(r.stdout).toMatch(/^up to date: .*openvino.* in /);
    expect(r.status).toBe(0);
  });

  it('setup refuses an unknown engine with a usage error (exit 2)', () => {
    const r = cli(['engines', 'setup', '--engines', 'ncnn,bogus']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown Python engine(s) bogus');
  });
});
