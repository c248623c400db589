import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyHistoryNextRun } from '../../src/results/next-run.js';
import { openStore } from '../../src/results/store/store.js';
import { syntheticRun } from './store-contract.js';

const dir = mkdtempSync(join(tmpdir(), 'benchalign-nextrun-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('next-run intervals from the store history (real SQLite store)', () => {
  it('repeats basis until 3 earlier runs of the job on the device exist, then a t prediction interval over the run values', async () => {
    const store = await openStore(join(dir, 'h.db'));
    try {
      const scales = [1, 1.01, 0.99, 1.02, 1.0];
      // same job on another device, and very different: must not enter the history
      await store.recordRun(syntheticRun('other-dev', '2026-01-01T00:00:00Z', 3, 'dev-bbbb'));
      const p50s: number[] = [];
      for (let i = 0; i < scales.length; i++) {
        const run = syntheticRun(`r${i}`, `2026-01-0${i + 2}T00:00:00Z`, scales[i]);
        p50s.push(run.jobs[0]!.latency!.percentiles.p50.value);
        await applyHistoryNextRun(store, run);
        const nr = run.jobs[0]!.latency!.nextRun!;
        if (i < 3) {
          expect(nr.p50.basis, `run ${i}`).toBe('repeats');
        } else {
          expect(nr.p50.basis).toBe('history');
          expect(nr.p50.runs).toBe(i + 1);
          // hand-worked: mean and sd of the logs of the run p50s, t(n-1) 97.5% quantile from scipy
          const logs = p50s.map(Math.log);
          const n = logs.length;
          const m = logs.reduce((a, b) => a + b, 0) / n;
          const sd = Math.sqrt(logs.reduce((a, x) => a + (x - m) ** 2, 0) / (n - 1));
          const t = n === 4 ? 3.1824463052837078 : 2.7764451051977934;
          const hw = t * sd * Math.sqrt(1 + 1 / n);
          expect(nr.p50.low).toBeCloseTo(Math.exp(m - hw), 9);
          expect(nr.p50.high).toBeCloseTo(Math.exp(m + hw), 9);
          expect(nr.p99.basis).toBe('history');
        }
        // the errored job has no latency: untouched
        expect(run.jobs[1]!.latency).toBeUndefined();
        await store.recordRun(run);
      }
    } finally {
      await store.close();
    }
  });
});
