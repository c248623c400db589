import { describe, expect, it } from 'vitest';
import { emptyAlignment } from '../../src/alignment/compare.js';
import type { RunResults } from '../../src/model/record.js';
import { toCsv } from '../../src/reports/csv.js';
import { buildReportData } from '../../src/reports/html/view-model.js';
import { toJunit } from '../../src/reports/junit.js';
import { toMarkdown } from '../../src/reports/markdown.js';
import { precisionText, reasonLine, worstText } from '../../src/reports/summary.js';

const tol = { atol: 1e-5, rtol: 1e-5 };
const failing = {
  ...emptyAlignment('logits', { dtype: 'float32', dims: [1, 10] }, { dtype: 'float32', dims: [1, 10] }, tol),
  count: 10,
  maxAbsError: 0.25,
  meanAbsError: 0.05,
  maxRelError: 0.5,
  rmse: 0.1,
  cosine: 0.99,
  snrDb: 20,
  mismatchCount: 1,
  mismatchPct: 10,
  worst: [{ flatIndex: 3, index: [0, 3], actual: 0.75, reference: 0.5, absError: 0.25 }],
};
failing.reasons.push('1 of 10 elements outside atol + rtol·|ref|');

function run(): RunResults {
  return {
    schemaVersion: 1,
    tool: { name: 'benchalign', version: 't' },
    suite: { name: 's', path: '/s', sha256: 'x' },
    run: { id: 'r', startedAt: '2026-01-01T00:00:00Z', status: 'complete', argv: [], mode: 'accuracy-only' },
    jobs: [
      {
        key: 'cnn/openvino/fp16',
        model: { name: 'cnn', path: '/m', sha256: 'x' },
        engine: { name: 'openvino', precision: 'fp16', effectivePrecision: 'bf16', options: {} },
        status: 'failed',
        reason: '1 output(s) not aligned: logits',
        startedAt: '',
        alignment: [failing],
      },
    ],
  } as unknown as RunResults;
}

describe('reports say what ran and where it failed', () => {
  it('the effective precision is in report.md, results.csv and junit.xml', () => {
    expect(precisionText({ precision: 'fp16', effectivePrecision: 'bf16' })).toBe('fp16 (ran bf16)');
    expect(precisionText({ precision: 'fp32', effectivePrecision: 'fp32' })).toBe('fp32');
    expect(toMarkdown(run())).toMatch(/\| cnn \| openvino \| fp16 \(ran bf16\) \| failed \|/);
    const [head, row] = toCsv(run()).split('\n');
    const cols = (head ?? '').split(',');
    expect((row ?? '').split(',')[cols.indexOf('effective_precision')]).toBe('bf16');
    expect(toJunit(run())).toContain('precision=fp16 (ran bf16)');
  });

  it('the worst element of a failed output is in report.md and junit.xml', () => {
    expect(worstText(failing)).toBe('[0, 3] actual 0.75 reference 0.5 (abs diff 0.25)');
    expect(toMarkdown(run())).toContain('| [0, 3] actual 0.75 reference 0.5 (abs diff 0.25) |');
    expect(toJunit(run())).toContain('worst element [0, 3] actual 0.75 reference 0.5 (abs diff 0.25)');
  });

  it('tuning time (TVM tuneTrials) is its own column in report.md and results.csv, apart from cold start', () => {
    expect(toMarkdown(run())).not.toContain('tuning ms');
    const r = run();
    (r.jobs[0] as { coldStart?: unknown }).coldStart = { loadMs: 100, convertMs: 2000, totalMs: 2100, tuneMs: 528_000, cacheHit: false };
    expect(toMarkdown(r)).toMatch(/\| cold start ms \| conversion ms \| tuning ms \|/);
    expect(toMarkdown(r)).toMatch(/\| cnn \| openvino \| 2,?100(\.0+)? \| 2,?000(\.0+)? \| 528,?000(\.0+)? \|/);
    const [head, row] = toCsv(r).split('\n');
    const cols = (head ?? '').split(',');
    expect((row ?? '').split(',')[cols.indexOf('tune_ms')]).toBe('528000');
    expect((row ?? '').split(',')[cols.indexOf('cold_start_ms')]).toBe('2100');
  });

  it('an errored job\'s one-line reason goes past a line that only introduces what follows', () => {
    expect(reasonLine('pnnx failed (exit 1); its last output:\nloading\n\nRuntimeError: unsupported op\n')).toBe('pnnx failed (exit 1); its last output: RuntimeError: unsupported op');
    expect(reasonLine('worker exited\nstack...')).toBe('worker exited');
    expect(reasonLine(undefined)).toBe('');
  });
});

describe('report.html data', () => {
  it('an output that was not compared carries no figures (no NaN, no null that the page would show as ∞)', () => {
    const r = run();
    const missing = emptyAlignment('gone', { dtype: 'float32', dims: [] }, { dtype: 'float32', dims: [2] }, tol);
    missing.reasons.push('the engine produced no output "gone"');
    (r.jobs[0] as { alignment: unknown[] }).alignment.push(missing);
    const data = buildReportData([{ source: 'x', results: r }], 'openvino/fp16', 't', 'v');
    const outs = data.jobs[0]?.outputs ?? [];
    expect(outs[0]).toMatchObject({ name: 'logits', maxAbs: 0.25, cosine: 0.99 });
    expect(outs[1]?.name).toBe('gone');
    expect(Object.keys(outs[1] ?? {})).not.toContain('cosine');
    expect(JSON.stringify(outs[1])).not.toMatch(/null|NaN/);
  });
});
