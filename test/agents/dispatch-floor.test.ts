/**
 * The stopping target floor (issue 13) on the one run path: the dispatcher asks for each
 * repeat's floor and hands it to the agent's runRepeat, and a run on this machine (the local
 * agent) or on a stdio runner agent (the floor travels in `job.run`) stops its third repeat no
 * tighter than the spread between its first two.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dispatch } from '../../src/agents/dispatcher.js';
import type { ProgressReporter } from '../../src/agents/progress.js';
import type { InfoResult } from '../../src/agents/protocol.js';
import type { AgentClient, RepeatRequest } from '../../src/agents/transports/types.js';
import type { RepeatOutcome, TargetFloor } from '../../src/execution/execute-job.js';
import { repeatTargetFloor } from '../../src/metrics/intervals.js';
import { percentileOfSorted, sortSamples } from '../../src/metrics/percentile.js';
import type { Job } from '../../src/model/job.js';
import { runSuite } from '../../src/workflows/run.js';
import type { JobResult } from '../../src/model/record.js';
import { BIN } from './agent-harness.js';
import { cnnModel, tempDir, writeSuite } from './helpers.js';

const quiet: ProgressReporter = { start: () => undefined, jobStarted: () => undefined, jobProgress: () => undefined, jobFinished: () => undefined, stop: () => undefined };

function fakeClient(requests: Array<TargetFloor | undefined>): AgentClient {
  const info = { agentVersion: 'test', protocolVersion: 2, fingerprint: { hash: 'h' }, engines: [], labels: {}, busy: false, queued: 0 } as unknown as InfoResult;
  return {
    def: { name: 'fake', url: 'local', kind: 'local', labels: {}, connectTimeoutMs: 0 },
    info: () => Promise.resolve(info),
    runRepeat: (_job: Job, request: RepeatRequest) => {
      requests.push(request.targetFloor);
      return Promise.resolve({ allSamplesNs: [1, 2, 3], warmupDiscarded: 0 } as unknown as RepeatOutcome);
    },
    uploadStats: { bytes: 0, uploaded: 0, skipped: 0 },
    close: () => Promise.resolve(),
  };
}

describe('the dispatcher hands each repeat its target floor', () => {
  it('asks targetFloor with the repeats done so far and passes its answer to runRepeat', async () => {
    const requests: Array<TargetFloor | undefined> = [];
    const seen: number[] = [];
    const job = { key: 'j', model: { name: 'm' }, engine: { name: 'e' }, measurement: { timeoutMs: 1000 } } as unknown as Job;
    await dispatch({
      jobs: [job],
      repeats: 3,
      mode: 'benchmark',
      agents: [fakeClient(requests)],
      maxAttempts: 1,
      queueTimeoutMs: 1000,
      timeoutGraceMs: 1000,
      progress: quiet,
      matchLabels: false,
      targetFloor: (_job, outcomes, agent) => {
        expect(agent.def.name).toBe('fake');
        seen.push(outcomes.length);
        return Promise.resolve(outcomes.length === 0 ? undefined : { p50: outcomes.length / 100 });
      },
      onJobEnd: () => Promise.resolve(),
    });
    expect(seen).toEqual([0, 1, 2]);
    expect(requests).toEqual([undefined, { p50: 0.01 }, { p50: 0.02 }]);
  });
});

const ORT = { name: 'onnxruntime', precision: 'fp32', options: { intraOpThreads: 1, interOpThreads: 1 } };

/** Suite target 2% for the first two repeats (no store), max(2%, their p50 spread) for the third. */
function expectFloors(job: JobResult | undefined): void {
  expect(job?.status).toBe('ok');
  const perRepeat = job?.stoppingPerRepeat ?? [];
  expect(perRepeat).toHaveLength(3);
  expect(perRepeat[0]?.targetP50HalfWidthPct).toBeCloseTo(2, 9);
  expect(perRepeat[1]?.targetP50HalfWidthPct).toBeCloseTo(2, 9);
  const p50s = (job?.samplesNs ?? []).slice(0, 2).map((s) => percentileOfSorted(sortSamples(s), 0.5));
  const floor = repeatTargetFloor(p50s) as number;
  expect(perRepeat[2]?.targetP50HalfWidthPct).toBeCloseTo(Math.max(2, floor * 100), 6);
}

describe('the stopping floor on both kinds of agent', () => {
  const dir = tempDir('floor');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a run on this machine (the local agent)', async () => {
    const suite = writeSuite(dir, { models: [cnnModel()], engines: [ORT] });
    const out = await runSuite({ suitePath: suite, outDir: join(dir, 'run'), repeats: 3, quiet: true });
    expectFloors(out.results.jobs[0]);
  }, 120_000);

  it('a run on a stdio runner agent', async () => {
    const suite = writeSuite(dir, { models: [cnnModel()], engines: [ORT] }, 'agent.json');
    const work = join(dir, 'work');
    mkdirSync(work, { recursive: true });
    const def = { name: 'stdio', url: 'stdio', kind: 'stdio' as const, labels: {}, command: [process.execPath, BIN, 'agent', 'stdio', '--work-dir', work], connectTimeoutMs: 60000 };
    const out = await runSuite({ suitePath: suite, outDir: join(dir, 'agent'), repeats: 3, quiet: true, agents: { agents: [def], maxAttempts: 1, queueTimeoutMs: 60000, source: 'test' } });
    expect(out.results.jobs[0]?.agent?.name).toBe('stdio');
    expectFloors(out.results.jobs[0]);
  }, 180_000);
});
