/**
 * The dispatcher against real agent processes on loopback: a `benchalign agent serve` daemon
 * with a token gives the same alignment as a local run; a wrong token is an unreachable agent;
 * kill -9 on an agent mid-job: the job is retried on the other agent (or marked errored when
 * no attempt is left), and every other job is intact.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentDef } from '../../src/model/agents.js';
import type { AgentsConfig } from '../../src/config/agents-file.js';
import type { ProgressReporter } from '../../src/agents/progress.js';
import { runSuite } from '../../src/workflows/run.js';
import { ExitCode } from '../../src/errors.js';
import type { JobResult, RunResults } from '../../src/model/record.js';
import { startDaemonProcess, stopProcess, type AgentProcess } from './agent-harness.js';
import { QUICK, cnnModel, tempDir, transformerModel, writeSuite } from './helpers.js';

const ORT = { name: 'onnxruntime', precision: 'fp32', options: { intraOpThreads: 1, interOpThreads: 1 } };
const TOKEN = 'test-token-0123456789abcdef';

const daemons: AgentProcess[] = [];
let dir: string;
let tokenFile: string;

async function daemon(name: string, labels = ''): Promise<{ def: AgentDef; proc: AgentProcess }> {
  const work = join(dir, `work-${name}`);
  mkdirSync(work, { recursive: true });
  const d = await startDaemonProcess(['--listen', '127.0.0.1:0', '--token-file', tokenFile, '--work-dir', work, ...(labels ? ['--labels', labels] : [])]);
  daemons.push(d);
  return { def: { name, url: d.httpBase, kind: 'http', labels: {}, tokenFile, connectTimeoutMs: 20000 }, proc: d };
}

function config(agents: AgentDef[], extra: Partial<AgentsConfig> = {}): AgentsConfig {
  return { agents, maxAttempts: 3, queueTimeoutMs: 60000, source: 'test', ...extra };
}

function byModel(results: RunResults): Map<string, JobResult> {
  return new Map(results.jobs.map((j) => [j.model.name, j]));
}

/** Alignment without the fields that are timing-dependent (none are): compared whole. */
function alignmentOf(j: JobResult | undefined): unknown {
  return j?.alignment;
}

beforeAll(() => {
  dir = tempDir('dispatch');
  tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
});

afterAll(async () => {
  await Promise.all(daemons.map((d) => stopProcess(d, 'SIGKILL')));
});

describe('a suite through a loopback agent daemon with a token', () => {
  it('gives alignment results identical to a local run, and records the agent without its token', async () => {
    const { def } = await daemon('loop');
    const suite = writeSuite(dir, { models: [cnnModel({ outputs: { logits: { topK: 5 } } }), transformerModel()], engines: [ORT] }, 'identical.json');
    const local = await runSuite({ suitePath: suite, outDir: join(dir, 'local'), quiet: true });
    const remote = await runSuite({ suitePath: suite, outDir: join(dir, 'remote'), quiet: true, agents: config([def]) });
    expect(local.exitCode).toBe(ExitCode.Ok);
    expect(remote.exitCode).toBe(ExitCode.Ok);
    const l = byModel(local.results);
    const r = byModel(remote.results);
    for (const name of ['cnn', 'transformer']) {
      expect(r.get(name)?.status).toBe('ok');
      expect(alignmentOf(r.get(name))).toEqual(alignmentOf(l.get(name)));
      expect(r.get(name)?.alignment?.length).toBeGreaterThan(0);
      // Measured there: samples came back, statistics computed here.
      expect(r.get(name)?.latency?.count).toBeGreaterThanOrEqual(QUICK.minIterations);
      expect(r.get(name)?.samplesNs?.[0]?.length).toBe(r.get(name)?.latency?.count);
      expect(r.get(name)?.agent).toMatchObject({ name: 'loop', url: def.url });
      expect(r.get(name)?.agent?.fingerprintHash).toBe(r.get(name)?.device?.hash);
      expect(l.get(name)?.agent).toBeUndefined();
    }
    expect(remote.results.device?.hash).toBe(r.get('cnn')?.device?.hash);
    const text = readFileSync(join(dir, 'remote', 'results.json'), 'utf8');
    expect(text).not.toContain(TOKEN);
  });

  it('a wrong token makes the agent unreachable (401): jobs errored with the reason, exit 3', async () => {
    const { def } = await daemon('locked');
    const wrong = join(dir, 'wrong-token');
    writeFileSync(wrong, 'not-the-token');
    const suite = writeSuite(dir, { models: [cnnModel()], engines: [ORT] }, 'wrong.json');
    const out = await runSuite({ suitePath: suite, outDir: join(dir, 'wrong'), quiet: true, mode: 'accuracy-only', agents: config([{ ...def, tokenFile: wrong }]) });
    expect(out.exitCode).toBe(ExitCode.Infra);
    const j = out.results.jobs[0];
    expect(j?.status).toBe('errored');
    expect(j?.reason).toMatch(/locked: unreachable: .*401/);
    expect(JSON.stringify(out.results)).not.toContain('not-the-token');
  });
});

describe('kill -9 on an agent mid-run', () => {
  const models = (): Array<Record<string, unknown>> => [cnnModel(), transformerModel(), cnnModel({ name: 'cnn2' })];
  const slow = { ...QUICK, minDurationMs: 1500, maxDurationMs: 3000 };

  /** A progress reporter that kills `victim` once it is timing a job, and remembers that job. */
  function killer(victim: { def: AgentDef; proc: AgentProcess }): ProgressReporter & { killedJob?: string } {
    const current = new Map<string, string>();
    const r: ProgressReporter & { killedJob?: string } = {
      start: () => undefined,
      jobStarted: (_i, label, agent) => void current.set(agent ?? '', label),
      jobProgress: (p, agent) => {
        if (agent === victim.def.name && p.phase === 'measure' && r.killedJob === undefined) {
          r.killedJob = current.get(agent);
          victim.proc.proc.kill('SIGKILL');
        }
      },
      jobFinished: () => undefined,
      stop: () => undefined,
    };
    return r;
  }

  it('retries the lost job on the other agent; the suite finishes and every other result is kept', async () => {
    const victim = await daemon('victim');
    const survivor = await daemon('survivor');
    const suite = writeSuite(dir, { models: models(), engines: [ORT], measurement: slow }, 'kill.json');
    const progress = killer(victim);
    const out = await runSuite({ suitePath: suite, outDir: join(dir, 'kill'), progress, agents: config([victim.def, survivor.def]) });
    expect(progress.killedJob).toBeDefined();
    expect(out.results.run.status).toBe('complete');
    expect(out.results.jobs).toHaveLength(3);
    expect(out.results.jobs.map((j) => j.status)).toEqual(['ok', 'ok', 'ok']);
    const lost = out.results.jobs.find((j) => progress.killedJob?.startsWith(`${j.model.name} ×`));
    expect(lost?.agent).toMatchObject({ name: 'survivor', attempts: 2 });
    for (const j of out.results.jobs) {
      expect(j.agent?.name).toBe('survivor');
      for (const o of j.alignment ?? []) expect(o.passed).toBe(true);
    }
    expect(out.exitCode).toBe(ExitCode.Ok);
    const onDisk = JSON.parse(readFileSync(join(dir, 'kill', 'results.json'), 'utf8')) as RunResults;
    expect(onDisk.jobs).toHaveLength(3);
    expect(onDisk.run.agents?.map((a) => [a.name, a.lost?.startsWith('lost: connection closed') ?? false])).toEqual([
      ['victim', true],
      ['survivor', false],
    ]);
    expect(onDisk.run.agents?.[1]?.jobsRun).toBe(3);
  });

  it('a stuck agent (SIGSTOP) past the job timeout plus grace: the job is retried elsewhere', async () => {
    const stuck = await daemon('stuck');
    const survivor = await daemon('survivor3');
    const suite = writeSuite(dir, { models: [cnnModel()], engines: [ORT], measurement: { ...slow, timeoutMs: 4000 } }, 'stuck.json');
    let stopped = false;
    const progress: ProgressReporter = {
      start: () => undefined,
      jobStarted: () => undefined,
      jobProgress: (p, agent) => {
        if (agent === 'stuck' && p.phase === 'measure' && !stopped) {
          stopped = true;
          stuck.proc.proc.kill('SIGSTOP');
        }
      },
      jobFinished: () => undefined,
      stop: () => undefined,
    };
    const t0 = Date.now();
    // The first agent listed takes the first job.
    const out = await runSuite({ suitePath: suite, outDir: join(dir, 'stuck'), progress, agents: config([stuck.def, survivor.def], { timeoutGraceMs: 1000 }) });
    stuck.proc.proc.kill('SIGKILL');
    expect(stopped).toBe(true);
    const j = out.results.jobs[0];
    expect(j?.status).toBe('ok');
    expect(j?.agent).toMatchObject({ name: 'survivor3', attempts: 2 });
    expect(Date.now() - t0).toBeGreaterThan(4000);
    expect(out.exitCode).toBe(ExitCode.Ok);
  });

  it('with no attempt left the lost job is errored with the agent’s failure; the others are intact', async () => {
    const victim = await daemon('victim2');
    const survivor = await daemon('survivor2');
    const suite = writeSuite(dir, { models: models(), engines: [ORT], measurement: slow }, 'kill1.json');
    const progress = killer(victim);
    const out = await runSuite({ suitePath: suite, outDir: join(dir, 'kill1'), progress, agents: config([victim.def, survivor.def], { maxAttempts: 1 }) });
    expect(out.results.run.status).toBe('complete');
    const lost = out.results.jobs.find((j) => progress.killedJob?.startsWith(`${j.model.name} ×`));
    expect(lost?.status).toBe('errored');
    expect(lost?.reason).toMatch(/^1 attempt\(s\) on runner agents failed: agent victim2: connection closed/);
    expect(lost?.agent?.name).toBe('victim2');
    const others = out.results.jobs.filter((j) => j !== lost);
    expect(others).toHaveLength(2);
    for (const j of others) {
      expect(j.status).toBe('ok');
      expect(j.agent?.name).toBe('survivor2');
      expect(j.latency?.count).toBeGreaterThan(0);
    }
    expect(out.exitCode).toBe(ExitCode.GateFailed);
  });
});
