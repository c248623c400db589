import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyHistoryNextRun, historyTargetFloors } from '../../src/results/next-run.js';
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

describe('stopping target floors from the last stored run', () => {
  it('the log sd of the last run\'s per-repeat p50s and p99s, same key and device only', async () => {
    const path = join(dir, 'floors.db');
    const store = await openStore(path);
    try {
      // an older run with a much wider spread: must not be the one used
      const older = syntheticRun('a', '2026-02-01T00:00:00Z', 1);
      older.jobs[0]!.latency!.betweenRepeats!.p50PerRepeatMs = [1, 2, 3];
      await store.recordRun(older);
      await store.recordRun(syntheticRun('b', '2026-02-02T00:00:00Z', 1.1));
    } finally {
      await store.close();
    }
    const last = syntheticRun('b', '2026-02-02T00:00:00Z', 1.1).jobs[0]!.latency!.betweenRepeats!;
    const sdLog = (xs: number[]): number => {
      const l = xs.map(Math.log);
      const m = l.reduce((a, b) => a + b, 0) / l.length;
      return Math.sqrt(l.reduce((a, x) => a + (x - m) ** 2, 0) / (l.length - 1));
    };
    const floors = await historyTargetFloors(path, ['cnn/onnxruntime/fp32', 'cnn/broken/fp32', 'nope'], 'dev-aaaa');
    expect(floors.get('cnn/onnxruntime/fp32')?.p50).toBeCloseTo(sdLog(last.p50PerRepeatMs), 12);
    expect(floors.get('cnn/onnxruntime/fp32')?.p99).toBeCloseTo(sdLog(last.p99PerRepeatMs), 12);
    expect(floors.has('cnn/broken/fp32')).toBe(false);
    expect(floors.has('nope')).toBe(false);
    expect((await historyTargetFloors(path, ['cnn/onnxruntime/fp32'], 'dev-other')).size).toBe(0);
    expect((await historyTargetFloors(join(dir, 'missing/x/y.db'), ['cnn/onnxruntime/fp32'], undefined)).size).toBe(0);
  });
});
