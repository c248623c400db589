/**
 * suites/engines.yaml, the engine comparison suite: it lists every engine that installs on a
 * CPU machine (every registered engine but TensorRT, which needs an NVIDIA GPU), and each of
 * them runs both bundled models for real and aligns against the PyTorch references (accuracy
 * only here; the latency run is `benchalign run suites/engines.yaml`).
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSuite } from '../../src/workflows/run.js';
import { engineNames } from '../../src/runners/registry.js';
import { loadSuite } from '../../src/suite/load.js';
import { REPO, tempDir } from '../agents/helpers.js';
import { engineAvailability, misaligned } from '../runners/engine-suite.js';

const SUITE = join(REPO, 'suites/engines.yaml');
const GPU_ONLY = ['tensorrt'];

describe('suites/engines.yaml', () => {
  it('lists every engine installable on a CPU machine', async () => {
    const suite = await loadSuite(SUITE);
    const listed = suite.engines.map((e) => e.name).sort();
    expect(listed).toEqual(engineNames().filter((n) => !GPU_ONLY.includes(n)).sort());
    expect(suite.models.map((m) => m.name)).toEqual(['cnn', 'transformer']);
  });

  it('runs both bundled models on every available engine, aligned; an unavailable engine is a skipped job with its reason', async () => {
    const suite = await loadSuite(SUITE);
    const available = new Map<string, boolean>();
    for (const e of suite.engines) available.set(e.name, (await engineAvailability(e.name)).available);
    const dir = tempDir('engines-suite');
    try {
      const { results } = await runSuite({ suitePath: SUITE, outDir: join(dir, 'run'), quiet: true, mode: 'accuracy-only', repeats: 1 });
      expect(results.jobs).toHaveLength(suite.engines.length * 2);
      for (const job of results.jobs) {
        if (available.get(job.engine.name)) expect(job.status, `${job.key}: ${job.reason ?? ''}`).toBe('ok');
        else expect(job.status, job.key).toBe('skipped');
      }
      expect(misaligned(results)).toEqual([]);
      const md = readFileSync(join(dir, 'run/report.md'), 'utf8');
      for (const e of suite.engines) if (available.get(e.name)) expect(md).toContain(e.name);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 600_000);
});
