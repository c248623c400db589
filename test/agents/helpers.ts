import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO = resolve(import.meta.dirname, '../..');
export const MODELS = join(REPO, 'suites/models');

/** Fast measurement settings for tests (a real timing loop, kept short). */
export const QUICK = {
  warmup: { minIterations: 5, maxIterations: 200, maxMs: 500 },
  minDurationMs: 200,
  maxDurationMs: 1000,
  minIterations: 20,
  targetCiHalfWidthPct: 2,
  concurrency: [1],
  timeoutMs: 20000,
};

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `benchalign-${prefix}-`));
}

/** The bundled CNN as a suite model entry (absolute paths). */
export function cnnModel(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'cnn',
    path: join(MODELS, 'cnn/model.onnx'),
    inputs: { source: 'reference', file: join(MODELS, 'cnn/inputs.pt') },
    reference: join(MODELS, 'cnn/outputs.pt'),
    shapes: { input: [1, 3, 32, 32] },
    ...extra,
  };
}

export function transformerModel(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'transformer',
    path: join(MODELS, 'transformer/model.onnx'),
    inputs: { source: 'reference', file: join(MODELS, 'transformer/inputs.npz') },
    reference: join(MODELS, 'transformer/outputs.npz'),
    ...extra,
  };
}

/** Writes a suite file (JSON) into `dir` and returns its path. */
export function writeSuite(dir: string, suite: Record<string, unknown>, name = 'suite.json'): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify({ name: 'test', measurement: QUICK, ...suite }, null, 2));
  return path;
}

/** Pids of the live (not zombie) children of `pid`, from /proc. */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === pid && fields[0] !== 'Z') out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}
