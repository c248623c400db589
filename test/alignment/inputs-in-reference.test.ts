import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { emptyAlignment } from '../../src/alignment/compare.js';
import type { RunResults } from '../../src/model/record.js';
import { toMarkdown } from '../../src/reports/markdown.js';
import { toCsv } from '../../src/reports/csv.js';
import { summarizeAlignment } from '../../src/reports/summary.js';
import { readTensors } from '../../src/tensors/read.js';
import { writeSafetensors } from '../../src/tensors/safetensors.js';
import { MODELS, REPO, cnnModel, tempDir, writeSuite } from '../agents/helpers.js';

const BIN = join(REPO, 'bin/benchalign.js');

function cli(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, CI: '1' }, timeout: 300_000 });
}

/** The bundled CNN's inputs and reference outputs in one file, as `torch.save({"input": x, "logits": y})` would hold them. */
async function combinedReference(dir: string): Promise<string> {
  const inputs = (await readTensors(join(MODELS, 'cnn/inputs.pt'))).tensors;
  const outputs = (await readTensors(join(MODELS, 'cnn/outputs.pt'))).tensors;
  expect([...inputs.keys()]).toEqual(['input']);
  const file = join(dir, 'io.safetensors');
  await writeSafetensors(file, new Map([...inputs, ...outputs]));
  return file;
}

describe('a reference file that also holds the model inputs', () => {
  it('run leaves the input tensors out of the comparison and says so', async () => {
    const dir = tempDir('io-ref');
    const ref = await combinedReference(dir);
    const suite = writeSuite(dir, { models: [cnnModel({ reference: ref, inputs: { source: 'reference', file: ref } })], engines: [{ name: 'onnxruntime', options: { intraOpThreads: 1 } }] });
    const r = cli(['run', suite, '--out', join(dir, 'out'), '--accuracy-only', '--no-store', '--quiet']);
    const results = JSON.parse(readFileSync(join(dir, 'out', 'results.json'), 'utf8')) as RunResults;
    const job = results.jobs[0];
    expect(job?.alignment?.map((o) => o.name)).toEqual(['logits']);
    expect(job?.alignment?.[0]?.passed).toBe(true);
    expect(job?.notes).toContain('reference tensor(s) input left out of the comparison: they are model inputs, not outputs');
    expect(r.status).toBe(0);
  });

  it('align --ignore leaves a name out; without it the missing tensor fails and the hint names --ignore', async () => {
    const dir = tempDir('io-align');
    const ref = await combinedReference(dir);
    const without = cli(['align', join(MODELS, 'cnn/outputs.pt'), ref]);
    expect(without.status).toBe(1);
    expect(without.stdout).toMatch(/missing: no actual tensor for reference "input".*--ignore input/);
    const ok = cli(['align', join(MODELS, 'cnn/outputs.pt'), ref, '--ignore', 'input']);
    expect(ok.stdout).toContain('left out (--ignore): input');
    expect(ok.stdout).toContain('PASS: 1/1 outputs aligned');
    expect(ok.status).toBe(0);
    const typo = cli(['align', join(MODELS, 'cnn/outputs.pt'), ref, '--ignore', 'inptu']);
    expect(typo.status).toBe(2);
    expect(typo.stderr).toMatch(/--ignore inptu: no tensor of that name in either file \(expected one of input, logits\)/);
  });
});

describe('summaries never show NaN for a figure', () => {
  const tol = { atol: 1e-5, rtol: 1e-5 };
  const missing = emptyAlignment('gone', { dtype: 'float32', dims: [] }, { dtype: 'float32', dims: [2] }, tol);
  missing.reasons.push('the engine produced no output "gone"');
  const real = { ...emptyAlignment('logits', { dtype: 'float32', dims: [2] }, { dtype: 'float32', dims: [2] }, tol), passed: false, count: 2, maxAbsError: 0.5, meanAbsError: 0.25, maxRelError: 0.5, rmse: 0.35, cosine: 0.9, snrDb: 12 };
  const results: RunResults = {
    schemaVersion: 1,
    tool: { name: 'benchalign', version: 't' },
    suite: { name: 's', path: '/s', sha256: 'x' },
    run: { id: 'r', startedAt: '2026-01-01T00:00:00Z', status: 'complete', argv: [], mode: 'accuracy-only' },
    jobs: [{ key: 'm/e/fp32', model: { name: 'm', path: '/m', sha256: 'x' }, engine: { name: 'e', precision: 'fp32' }, status: 'failed', startedAt: '', alignment: [missing, real] } as unknown as RunResults['jobs'][number]],
  } as RunResults;

  it('the job summary takes the compared outputs only (in memory and after JSON, where NaN is null)', () => {
    for (const r of [results, JSON.parse(JSON.stringify(results)) as RunResults]) {
      const s = summarizeAlignment(r.jobs[0] as RunResults['jobs'][number]);
      expect(s).toMatchObject({ verdict: 'FAIL', outputs: 2, failed: 2, maxAbsError: 0.5, minCosine: 0.9, minSnrDb: 12 });
    }
  });

  it('report.md and results.csv show – / empty, not NaN, for the output that was not compared', () => {
    const md = toMarkdown(results);
    expect(md).not.toMatch(/NaN/);
    expect(md).toMatch(/\| m \| e \| gone \| FAIL \| – \| – \| – \| – \|/);
    expect(toCsv(results)).not.toMatch(/NaN/);
  });
});
