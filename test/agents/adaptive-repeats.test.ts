/**
 * Adaptive repeats (issue 13): after the planned repeats the run adds repeats while the
 * combined p50 interval is wider than the job's target, up to maxRepeats and within the
 * job's time budget, and records how many ran and why it stopped (`repeatsStop`).
 * The decision against hand-worked / scipy values; the loop with real ONNX Runtime runs.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decideMoreRepeats } from '../../src/metrics/repeat-stopping.js';
import { percentileOfSorted, sortSamples } from '../../src/metrics/percentile.js';
import { runSuite } from '../../src/workflows/run.js';
import type { JobResult } from '../../src/model/record.js';
import { cnnModel, tempDir, writeSuite } from './helpers.js';

// exp(t(0.975, k-1) * sd(log v) / sqrt(k)) - 1, from scipy (scipy.stats.t.ppf):
const HW_10_11_12 = 0.2542453919767518;
const HW_4 = 0.010298555541632393; // [10, 10.1, 9.95, 10.05]

describe('decideMoreRepeats', () => {
  const base = { perRepeatP50: [10, 11, 12], planned: 3, maxRepeats: 5, targetRelHalfWidth: 0.01, spentMs: 3000 };

  it('runs the planned repeats first, whatever the interval', () => {
    expect(decideMoreRepeats({ ...base, perRepeatP50: [10, 10] }).more).toBe(true);
    expect(decideMoreRepeats({ ...base, perRepeatP50: [10] }).more).toBe(true);
  });

  it('stops at the plan when maxRepeats is the plan (adaptive repeats off)', () => {
    const d = decideMoreRepeats({ ...base, maxRepeats: 3 });
    expect(d).toMatchObject({ more: false, stop: { reason: 'planned', planned: 3, max: 3, ran: 3 } });
    // maxRepeats below repeats means repeats
    expect(decideMoreRepeats({ ...base, maxRepeats: 1 })).toMatchObject({ more: false, stop: { reason: 'planned', max: 3 } });
  });

  it('adds a repeat while the combined p50 interval is wider than the target', () => {
    const d = decideMoreRepeats(base);
    expect(d.more).toBe(true);
    expect(d.more && d.halfWidthPct).toBeCloseTo(HW_10_11_12 * 100, 9);
  });

  it('stops on the target once the interval is within it (the boundary included)', () => {
    const d = decideMoreRepeats({ ...base, targetRelHalfWidth: HW_10_11_12 + 1e-12 });
    expect(d).toMatchObject({ more: false, stop: { reason: 'target', ran: 3 } });
    expect(!d.more && d.stop.p50HalfWidthPct).toBeCloseTo(HW_10_11_12 * 100, 9);
    expect(decideMoreRepeats({ ...base, targetRelHalfWidth: HW_10_11_12 - 1e-9 }).more).toBe(true);
    const four = decideMoreRepeats({ ...base, perRepeatP50: [10, 10.1, 9.95, 10.05], targetRelHalfWidth: 0.0103 });
    expect(four).toMatchObject({ more: false, stop: { reason: 'target', ran: 4 } });
    expect(!four.more && four.stop.p50HalfWidthPct).toBeCloseTo(HW_4 * 100, 9);
  });

  it('stops at maxRepeats', () => {
    const d = decideMoreRepeats({ ...base, perRepeatP50: [10, 11, 12, 11, 10], spentMs: 5000 });
    expect(d).toMatchObject({ more: false, stop: { reason: 'max-repeats', ran: 5, max: 5 } });
  });

  it('stops when the budget is spent, or one more repeat of the mean length would pass it', () => {
    expect(decideMoreRepeats({ ...base, budgetMs: 3000 })).toMatchObject({ more: false, stop: { reason: 'time-budget', spentMs: 3000, budgetMs: 3000 } });
    // 3 repeats took 3000 ms: one more (~1000 ms) passes 3900 but fits 4000
    expect(decideMoreRepeats({ ...base, budgetMs: 3900 })).toMatchObject({ more: false, stop: { reason: 'time-budget' } });
    expect(decideMoreRepeats({ ...base, budgetMs: 4000 }).more).toBe(true);
  });

  it('counts repeats without a p50 as run (ran) but not in the interval', () => {
    const d = decideMoreRepeats({ ...base, perRepeatP50: [10, 11, 12], ran: 5 });
    expect(d).toMatchObject({ more: false, stop: { reason: 'max-repeats', ran: 5 } });
  });
});

const ORT = { name: 'onnxruntime', precision: 'fp32', options: { intraOpThreads: 1, interOpThreads: 1 } };

/** The combined p50 interval's relative half-width from the record's own samples, by scipy's t(0.975, k-1) for k = 3..5. */
const T975: Record<number, number> = { 3: 4.302652729749462, 4: 3.1824463052837078, 5: 2.7764451051977934 };
function combinedHalfWidth(j: JobResult): number {
  const logs = (j.samplesNs ?? []).map((s) => Math.log(percentileOfSorted(sortSamples(s), 0.5)));
  const k = logs.length;
  const m = logs.reduce((a, b) => a + b, 0) / k;
  const sd = Math.sqrt(logs.reduce((a, b) => a + (b - m) ** 2, 0) / (k - 1));
  return Math.exp(((T975[k] as number) * sd) / Math.sqrt(k)) - 1;
}

describe('adaptive repeats in a real run (ONNX Runtime, bundled cnn, 3 planned repeats)', () => {
  const dir = tempDir('adaptive');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('adds repeats up to maxRepeats for a tight target, stops at the plan for a loose one, and on the budget', async () => {
    const suite = writeSuite(dir, {
      models: [
        cnnModel({ name: 'tight', measurement: { targetCiHalfWidthPct: 0.001, maxRepeats: 5 } }),
        cnnModel({ name: 'loose', measurement: { targetCiHalfWidthPct: 30, maxRepeats: 5 } }),
        cnnModel({ name: 'budget', measurement: { targetCiHalfWidthPct: 0.001, maxRepeats: 5, repeatsBudgetMs: 1 } }),
      ],
      engines: [ORT],
    });
    // Progress counts the added repeats in its total: no step is ever past the end.
    let total = 0;
    const steps: number[] = [];
    const progress = {
      start: (n: number) => { total = n; },
      addSteps: (n: number) => { total += n; },
      jobStarted: (index: number) => { steps.push(index); expect(index).toBeLessThan(total); },
      jobProgress: () => {},
      jobFinished: () => {},
      stop: () => {},
    };
    const out = await runSuite({ suitePath: suite, outDir: join(dir, 'run'), repeats: 3, quiet: true, progress });
    const byName = new Map(out.results.jobs.map((j) => [j.model.name, j]));
    const tight = byName.get('tight') as JobResult;
    const loose = byName.get('loose') as JobResult;
    const budget = byName.get('budget') as JobResult;
    for (const j of [tight, loose, budget]) expect(j.status, j.reason).toBe('ok');

    expect(tight.repeatsStop).toMatchObject({ reason: 'max-repeats', planned: 3, max: 5, ran: 5, targetHalfWidthPct: 0.001 });
    expect(tight.samplesNs).toHaveLength(5);
    expect(tight.stoppingPerRepeat).toHaveLength(5);
    expect(tight.latency?.repeats).toBe(5);
    expect(tight.repeatsStop?.p50HalfWidthPct).toBeCloseTo(combinedHalfWidth(tight) * 100, 6);

    expect(loose.repeatsStop).toMatchObject({ reason: 'target', planned: 3, ran: 3 });
    expect(loose.samplesNs).toHaveLength(3);
    expect(loose.repeatsStop?.p50HalfWidthPct).toBeLessThanOrEqual(30);
    expect(loose.repeatsStop?.p50HalfWidthPct).toBeCloseTo(combinedHalfWidth(loose) * 100, 6);

    expect(budget.repeatsStop).toMatchObject({ reason: 'time-budget', ran: 3, budgetMs: 1 });
    expect(budget.repeatsStop?.spentMs).toBeGreaterThan(100);
    // 5 + 3 + 3 repeats ran: the total grew from 9 planned to 11, and every step was announced.
    expect(total).toBe(11);
    expect(steps).toHaveLength(11);
  }, 240_000);
});
