/** How an engine worker's output reconciliation shows up in a job's alignment mapping. */
import { describe, expect, it } from 'vitest';
import { withEngineReconciliation } from '../../src/execution/job-result.js';
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
