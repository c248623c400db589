import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { alignFiles } from '../../src/alignment/align-files.js';
import { alignReportToJson, formatAlignReport } from '../../src/reports/align.js';
import { parseOutputOverride } from '../../src/cli/commands/align.js';
import { BenchalignError } from '../../src/errors.js';
import { FIXTURES } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = `${FIXTURES}cli/`;

function align(...args: string[]): { rc: number | null; out: string; err: string } {
  const p = spawnSync(process.execPath, [`${ROOT}bin/benchalign.js`, 'align', ...args], { encoding: 'utf8' });
  return { rc: p.status, out: p.stdout, err: p.stderr };
}

describe('benchalign align (end to end, real .npy files)', () => {
  beforeAll(() => {
    if (!existsSync(`${ROOT}dist/src/cli/main.js`)) spawnSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'inherit' });
  });

  it('exits 0 when the outputs match', () => {
    const r = align(`${CLI}close.npy`, `${CLI}ref.npy`);
    expect(r.rc, r.err).toBe(0);
    expect(r.out).toContain('PASS: 1/1 outputs aligned');
  });

  it('exits 1 on a mismatch, with reasons, histogram and worst elements', () => {
    const r = align(`${CLI}far.npy`, `${CLI}ref.npy`);
    expect(r.rc).toBe(1);
    expect(r.out).toContain('60 of 60 elements');
    expect(r.out).toContain('|a - r| histogram');
    expect(r.out).toMatch(/worst elements:\n {4}\[0, \d, \d, \d\]/);
    expect(r.out).toContain('would pass: atol >=');
  });

  it('passes the same mismatch once the tolerance is overridden, globally or per output', () => {
    expect(align(`${CLI}far.npy`, `${CLI}ref.npy`, '--atol', '0.011').rc).toBe(0);
    expect(align(`${CLI}far.npy`, `${CLI}ref.npy`, '--output', 'ref:atol=0.011,rtol=0').rc).toBe(0);
    expect(align(`${CLI}far.npy`, `${CLI}ref.npy`, '--output', 'other:atol=1').rc).toBe(1);
  });

  it('reconciles a batch-less NHWC output only when asked, and records it', () => {
    expect(align(`${CLI}nhwc_nobatch.npy`, `${CLI}ref.npy`).rc).toBe(1);
    const r = align(`${CLI}nhwc_nobatch.npy`, `${CLI}ref.npy`, '--layout', 'auto', '--json');
    expect(r.rc, r.err).toBe(0);
    const j = JSON.parse(r.out) as { passed: boolean; outputs: { mapping: { layout: string[] } }[] };
    expect(j.passed).toBe(true);
    expect(j.outputs[0]?.mapping.layout.join(';')).toMatch(/added leading batch.*NHWC->NCHW/);
  });

  it('exits 1 on a shape mismatch, naming both shapes', () => {
    const r = align(`${CLI}wrong_shape.npy`, `${CLI}ref.npy`);
    expect(r.rc).toBe(1);
    expect(r.out).toContain('[2, 2]');
    expect(r.out).toContain('[1, 3, 4, 5]');
  });

  it('exits 2 on bad input files and bad flags', () => {
    const g = align(`${CLI}garbage.npy`, `${CLI}ref.npy`);
    expect(g.rc).toBe(2);
    expect(g.err).toContain('garbage.npy');
    expect(align(`${CLI}nope.npy`, `${CLI}ref.npy`).rc).toBe(2);
    expect(align(`${CLI}close.npy`, `${CLI}ref.npy`, '--precision', 'fp8').rc).toBe(2);
    expect(align(`${CLI}close.npy`, `${CLI}ref.npy`, '--atol', 'abc').rc).toBe(2);
    expect(align(`${CLI}close.npy`, `${CLI}ref.npy`, '--map', 'x=ref').rc).toBe(2);
  });
});

describe('alignFiles and the reporters', () => {
  it('reports a missing reference tensor with the available names', async () => {
    const r = await alignFiles(`${CLI}close.npy`, `${CLI}ref.npy`, { matchBy: 'name', map: {} });
    expect(r.passed).toBe(true);
    const text = formatAlignReport({ ...r, outputs: [], missing: ['ref'], passed: false });
    expect(text).toContain('no actual tensor for reference "ref" (actual has: close');
    expect(text).toContain('FAIL: 0/1 outputs aligned, 1 missing');
  });

  it('writes non-finite numbers as strings in JSON', async () => {
    const r = await alignFiles(`${CLI}ref.npy`, `${CLI}ref.npy`);
    const j = JSON.parse(alignReportToJson(r)) as { outputs: { snrDb: unknown; maxAbsError: unknown }[] };
    expect(j.outputs[0]?.snrDb).toBe('Infinity');
    expect(j.outputs[0]?.maxAbsError).toBe(0);
  });

  it('parses --output specs and refuses bad ones', () => {
    expect(parseOutputOverride('a:b:atol=0.5,cosine=0.9,topk=5')).toEqual(['a:b', { atol: 0.5, cosineMin: 0.9, topK: 5 }]);
    expect(() => parseOutputOverride('noname')).toThrow(BenchalignError);
    expect(() => parseOutputOverride('x:speed=3')).toThrow(BenchalignError);
  });
});
