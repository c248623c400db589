/**
 * Large suites: model files are opened a bounded number at a time (a suite of thousands of
 * models loads under a low open-file limit), and Ctrl-C ends a run that is still loading at
 * once. Load time itself is measured by bench/suite-load.bench.ts, not here.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mapLimit } from '../../src/suite/concurrency.js';
import { REPO, tempDir } from '../agents/helpers.js';

const BIN = join(REPO, 'bin/benchalign.js');

function bigSuite(dir: string, n: number, withFiles: boolean): string {
  if (withFiles) mkdirSync(join(dir, 'm'));
  const lines = ['name: big', 'engines: [{ name: onnxruntime }]', 'models:'];
  for (let i = 0; i < n; i++) {
    if (withFiles) writeFileSync(join(dir, 'm', `${i}.onnx`), `not really a model ${i}`);
    lines.push(`  - { name: m${i}, path: m/${i}.onnx, outputs: { y: { atol: 1e-4 } } }`);
  }
  const file = join(dir, 'suite.yaml');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

describe('mapLimit', () => {
  it('never has more than `limit` calls in flight, and keeps the order of results', async () => {
    let inFlight = 0;
    let most = 0;
    const out = await mapLimit(Array.from({ length: 100 }, (_, i) => i), 7, async (x) => {
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, (x * 7) % 5));
      inFlight--;
      return x * 2;
    });
    expect(most).toBe(7);
    expect(out).toEqual(Array.from({ length: 100 }, (_, i) => i * 2));
  });

  it('stops with E_INFRA once the signal is aborted', async () => {
    const c = new AbortController();
    const p = mapLimit([1, 2, 3, 4], 1, async (x) => {
      if (x === 2) c.abort();
      return x;
    }, c.signal);
    await expect(p).rejects.toMatchObject({ code: 'E_INFRA' });
  });
});

describe('suites of thousands of models', () => {
  it('3000 model files load under an open-file limit of 256 (no EMFILE)', () => {
    const dir = tempDir('scale');
    const suite = bigSuite(dir, 3000, true);
    const script = `import { loadSuite } from ${JSON.stringify(join(REPO, 'dist/src/suite/load.js'))}; const s = await loadSuite(${JSON.stringify(suite)}); console.log(s.models.length);`;
    const r = spawnSync('bash', ['-c', `ulimit -n 256 && exec "${process.execPath}" --input-type=module -e '${script}'`], { encoding: 'utf8', timeout: 120_000 });
    expect(r.stderr).not.toMatch(/EMFILE/);
    expect(r.stdout.trim()).toBe('3000');
    expect(r.status).toBe(0);
  });

  it('Ctrl-C while a large suite is still being parsed ends the process at once', async () => {
    const dir = tempDir('scale-sigint');
    const suite = bigSuite(dir, 50_000, false);
    const child = spawn(process.execPath, [BIN, 'run', suite, '--no-store', '--out', join(dir, 'out')], { stdio: ['ignore', 'ignore', 'pipe'] });
    await new Promise((r) => setTimeout(r, 1500));
    const t0 = Date.now();
    child.kill('SIGINT');
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(signal === 'SIGINT' || code !== 0).toBe(true);
  }, 60_000);
});
