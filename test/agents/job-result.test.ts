/** How an engine worker's output reconciliation shows up in a job's alignment mapping. */
import { describe, expect, it } from 'vitest';
import { nextRepeatTargetFloor, withEngineReconciliation } from '../../src/execution/job-result.js';
import type { RepeatOutcome } from '../../src/execution/execute-job.js';
import { emptyAlignment } from '../../src/alignment/compare.js';
import type { OutputAlignment } from '../../src/model/alignment.js';

function out(name: string, mapping?: OutputAlignment['mapping']): OutputAlignment {
  const a = emptyAlignment(name, { dtype: 'float32', dims: [1, 10] }, { dtype: 'float32', dims: [1, 10] }, { atol: 1e-4, rtol: 1e-4 });
  return mapping ? { ...a, mapping } : a;
}

describe('withEngineReconciliation', () => {
  it('names the engine blob and puts the worker layout steps before the harness ones', () => {
    const [logits, pooled, hidden] = withEngineReconciliation(
      [out('logits'), out('pooled', { name: { reference: 'pooled', actual: 'pooled', by: 'name' }, layout: ['NHWC->NCHW'] }), out('hidden')],
      { logits: { engineName: 'out0', layout: ['added batch dim'] }, pooled: { layout: ['NC4HW4->NCHW'] } },
    );
    expect(logits?.mapping).toEqual({ name: { reference: 'logits', actual: 'out0', by: 'engine' }, layout: ['added batch dim'] });
    expect(pooled?.mapping).toEqual({ name: { reference: 'pooled', actual: 'pooled', by: 'name' }, layout: ['NC4HW4->NCHW', 'NHWC->NCHW'] });
    expect(hidden?.mapping).toBeUndefined();
  });

  it('leaves the alignment alone without reconciliation', () => {
    const list = [out('a')];
    expect(withEngineReconciliation(list, undefined)).toBe(list);
    expect(withEngineReconciliation(list, { a: { layout: [] } })[0]).toBe(list[0]);
  });
});

describe('nextRepeatTargetFloor', () => {
  const rep = (ms: number[], discarded = 0): RepeatOutcome => ({ allSamplesNs: ms.map((x) => x * 1e6), warmupDiscarded: discarded }) as unknown as RepeatOutcome;
  it('is the log sd of the finished repeats\' steady p50s (hand-worked), after the warm-up they discarded', () => {
    expect(nextRepeatTargetFloor([])).toEqual({});
    expect(nextRepeatTargetFloor([rep([1, 1, 1])])).toEqual({});
    // p50s 1 and 1.1 ms (the 9 ms warm-up sample discarded): sd of (0, ln 1.1) = ln(1.1) / sqrt 2
    const f = nextRepeatTargetFloor([rep([1, 1, 1]), rep([9, 1.1, 1.1, 1.1], 1)]);
    expect(f.p50).toBeCloseTo(Math.log(1.1) / Math.SQRT2, 12);
    expect(f.p99).toBeCloseTo(Math.log(1.1) / Math.SQRT2, 12);
  });
});
