/**
 * The dispatcher with local `benchalign agent stdio` processes (real agents, real engines):
 * repeats interleave on an agent and stay on it, artifacts are uploaded once per agent and
 * not again when the agent has them, an engine failure is the job's (not retried), a job no
 * agent can run is errored with why; and the CLI: `run --agents`, `agents probe`.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentDef } from '../../src/model/agents.js';
import type { AgentsConfig } from '../../src/config/agents-file.js';
import { dispatch, type DispatchedJob } from '../../src/agents/dispatcher.js';
import type { ProgressReporter } from '../../src/agents/progress.js';
import { runSuite } from '../../src/workflows/run.js';
import { connectAgent } from '../../src/agents/transports/index.js';
import { ExitCode } from '../../src/errors.js';
import type { AgentProbe } from '../../src/agents/probe.js';
import { expandJobs, loadSuite } from '../../src/suite/index.js';
import { BIN } from './agent-harness.js';
import { QUICK, cnnModel, tempDir, transformerModel, writeSuite } from './helpers.js';

const ORT = { name: 'onnxruntime', precision: 'fp32', options: { intraOpThreads: 1, interOpThreads: 1 } };
let dir: string;
let prevTestEngines: string | undefined;

beforeAll(() => {
  dir = tempDir('dstdio');
  prevTestEngines = process.env.BENCHALIGN_TEST_ENGINES;
  process.env.BENCHALIGN_TEST_ENGINES = '1';
});
afterAll(() => {
  if (prevTestEngines === undefined) delete process.env.BENCHALIGN_TEST_ENGINES;
  else process.env.BENCHALIGN_TEST_ENGINES = prevTestEngines;
});

function stdioDef(name: string, labels = ''): AgentDef {
  const work = join(dir, `work-${name}`);
  mkdirSync(work, { recursive: true });
  return { name, url: 'stdio', kind: 'stdio', labels: {}, command: [process.execPath, BIN, 'agent', 'stdio', '--work-dir', work, ...(labels ? ['--labels', labels] : [])], connectTimeoutMs: 60000 };
}

function config(agents: AgentDef[]): AgentsConfig {
  return { agents, maxAttempts: 2, queueTimeoutMs: 60000, source: 'test' };
}

function recorder(): ProgressReporter & { started: Array<[string, string]> } {
  const started: Array<[string, string]> = [];
  return { started, start: () => undefined, jobStarted: (_i, label, agent) => void started.push([agent ?? '', label]), jobProgress: () => undefined, jobFinished: () => undefined, stop: () => undefined };
}

describe('dispatching on stdio agents', () => {
  it('interleaves repeats across jobs on one agent and keeps each job on its agent', async () => {
    const suite = writeSuite(dir, { models: [cnnModel(), transformerModel()], engines: [ORT] }, 'rep.json');
    const progress = recorder();
    const out = await runSuite({ suitePath: suite, outDir: join(dir, 'rep'), mode: 'accuracy-only', repeats: 2, progress, agents: config([stdioDef('only')]) });
    expect(out.exitCode).toBe(ExitCode.Ok);
    expect(progress.started).toEqual([
      ['only', 'cnn × onnxruntime (repeat 1/2)'],
      ['only', 'transformer × onnxruntime (repeat 1/2)'],
      ['only', 'cnn × onnxruntime (repeat 2/2)'],
      ['only', 'transformer × onnxruntime (repeat 2/2)'],
    ]);
    for (const j of out.results.jobs) {
      expect(j.agent?.name).toBe('only');
      for (const o of j.alignment ?? []) expect(o.passed).toBe(true);
    }
  });

  it('redacts store URLs in the recorded argv on agents, as on the local path (one run path)', async () => {
    const suite = writeSuite(dir, { models: [cnnModel()], engines: [ORT] }, 'argv.json');
    const argv = ['node', 'benchalign', 'run', suite, '--store', 'postgres://ci:s3cret-pw@db.example:5432/bench'];
    const onAgent = await runSuite({ suitePath: suite, outDir: join(dir, 'argv-agent'), mode: 'accuracy-only', quiet: true, argv, agents: config([stdioDef('argv')]) });
    const local = await runSuite({ suitePath: suite, outDir: join(dir, 'argv-local'), mode: 'accuracy-only', quiet: true, argv });
    for (const out of [onAgent, local]) {
      expect(out.exitCode).toBe(ExitCode.Ok);
      const recorded = JSON.stringify(out.results.run.argv);
      expect(recorded).not.toContain('s3cret-pw');
      expect(recorded).toContain('db.example:5432/bench');
    }
    expect(onAgent.results.jobs[0]?.agent?.name).toBe('argv');
    expect(local.results.jobs[0]?.agent).toBeUndefined();
    expect(local.results.run.agents).toBeUndefined();
    expect(local.results.device?.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('uploads each artifact once per agent, and nothing when the agent already has it', async () => {
    const suite = await loadSuite(writeSuite(dir, { models: [cnnModel(), cnnModel({ name: 'cnn2' }), cnnModel({ name: 'cnn3' })], engines: [ORT] }, 'up.json'));
    const jobs = expandJobs(suite);
    const def = stdioDef('cache');
    const run = async (): Promise<{ stats: { bytes: number; uploaded: number; skipped: number }; ends: DispatchedJob[] }> => {
      const client = connectAgent(def);
      const ends: DispatchedJob[] = [];
      try {
        await dispatch({ jobs, repeats: 1, mode: 'accuracy-only', agents: [client], maxAttempts: 1, queueTimeoutMs: 60000, timeoutGraceMs: 30000, progress: recorder(), onJobEnd: async (r) => void ends.push(r) });
        return { stats: { ...client.uploadStats }, ends };
      } finally {
        await client.close();
      }
    };
    const first = await run();
    expect(first.ends.map((e) => e.kind)).toEqual(['done', 'done', 'done']);
    // model.onnx and inputs.pt, shared by the three jobs.
    expect(first.stats.uploaded).toBe(2);
    expect(first.stats.skipped).toBe(0);
    expect(first.stats.bytes).toBeGreaterThan(1000);
    const second = await run();
    expect(second.stats).toEqual({ bytes: 0, uploaded: 0, skipped: 2 });
  });

  it('an engine failure is the job’s own (not retried); a job no agent can run is errored with why', async () => {
    const suite = writeSuite(
      dir,
      {
        models: [cnnModel()],
        engines: [ORT, { name: 'test-fault', precision: 'fp32', label: 'segv', options: { fault: 'segv', faultAt: 'load' } }, { name: 'tensorrt', precision: 'fp16' }],
      },
      'fail.json',
    );
    const out = await runSuite({ suitePath: suite, outDir: join(dir, 'fail'), quiet: true, mode: 'accuracy-only', agents: config([stdioDef('a1', 'pool=x'), stdioDef('a2', 'pool=x')]) });
    const byEngine = new Map(out.results.jobs.map((j) => [j.engine.name, j]));
    expect(byEngine.get('onnxruntime')?.status).toBe('ok');
    const fault = byEngine.get('test-fault');
    expect(fault?.status).toBe('errored');
    expect(fault?.agent?.attempts).toBeUndefined();
    expect(fault?.reason).toMatch(/died during "load": killed by SIGSEGV/);
    expect(fault?.stderrTail ?? '').toMatch(/injecting segv/);
    const trt = byEngine.get('tensorrt');
    expect(trt?.status).toBe('errored');
    expect(trt?.reason).toMatch(/^no runner agent can run this job \(needs labels gpu=nvidia\): a1: lacks gpu=nvidia; a2: lacks gpu=nvidia/);
    expect(trt?.agent).toBeUndefined();
    expect(out.results.jobs).toHaveLength(3);
  });
});

describe('interrupting a run on agents', () => {
  it('Ctrl-C cancels the running job on its agent, keeps the finished one and marks the run interrupted', async () => {
    const suite = writeSuite(dir, { models: [cnnModel(), transformerModel()], engines: [ORT], measurement: { ...QUICK, minDurationMs: 5000, maxDurationMs: 8000 } }, 'abort.json');
    const controller = new AbortController();
    let measuring = '';
    let abortedAt = 0;
    const progress: ProgressReporter = {
      start: () => undefined,
      jobStarted: (_i, label) => void (measuring = label),
      jobProgress: (p) => {
        if (p.phase === 'measure' && measuring.startsWith('transformer') && !controller.signal.aborted) {
          abortedAt = Date.now();
          controller.abort();
        }
      },
      jobFinished: () => undefined,
      stop: () => undefined,
    };
    const out = await runSuite({ suitePath: suite, outDir: join(dir, 'abort'), progress, signal: controller.signal, agents: config([stdioDef('abortee')]) });
    expect(controller.signal.aborted).toBe(true);
    expect(out.exitCode).toBe(ExitCode.Infra);
    expect(out.results.run.status).toBe('interrupted');
    expect(out.results.jobs.map((j) => [j.model.name, j.status, j.agent?.name])).toEqual([['cnn', 'ok', 'abortee']]);
    // The transformer's timing loop (at least 5 s) was cut short on the agent.
    expect(Date.now() - abortedAt).toBeLessThan(4500);
  });
});

describe('agents named by the suite', () => {
  it('runs on the suite’s own list plus its agents file; --agents replaces both; --no-agents runs here', async () => {
    const a = stdioDef('from-list');
    const b = stdioDef('from-file');
    const file = join(dir, 'suite-agents.yaml');
    writeFileSync(file, `agents:\n  - { name: from-file, url: stdio, command: ${JSON.stringify(b.command)}, labels: { role: spare } }\n`);
    const suite = writeSuite(
      dir,
      {
        agents: { list: [{ name: 'from-list', url: 'stdio', command: a.command, labels: { role: 'main' } }], file: 'suite-agents.yaml', labels: { role: 'spare' } },
        models: [cnnModel()],
        engines: [ORT],
      },
      'with-agents.json',
    );
    const out = await runSuite({ suitePath: suite, outDir: join(dir, 'with-agents'), quiet: true, mode: 'accuracy-only' });
    expect(out.results.jobs.map((j) => [j.status, j.agent?.name])).toEqual([['ok', 'from-file']]);
    const only = join(dir, 'only.yaml');
    writeFileSync(only, `agents:\n  - { name: cli-agent, url: stdio, command: ${JSON.stringify(a.command)}, labels: { role: spare } }\n`);
    const viaCli = await runSuite({ suitePath: suite, outDir: join(dir, 'via-cli'), quiet: true, mode: 'accuracy-only', agentsFile: only });
    expect(viaCli.results.jobs.map((j) => [j.status, j.agent?.name])).toEqual([['ok', 'cli-agent']]);
    const here = await runSuite({ suitePath: suite, outDir: join(dir, 'here'), quiet: true, mode: 'accuracy-only', noAgents: true });
    expect(here.results.jobs.map((j) => [j.status, j.agent])).toEqual([['ok', undefined]]);
    expect(here.results.run.agents).toBeUndefined();
  });
});

describe('CLI', () => {
  it('run --agents F and agents probe --json (exit 3 with an unreachable agent)', () => {
    const work = join(dir, 'cli-work');
    mkdirSync(work, { recursive: true });
    const agentsFile = join(dir, 'agents.yaml');
    writeFileSync(
      agentsFile,
      [
        'agents:',
        `  - { name: kid, url: stdio, command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(BIN)}, agent, stdio, --work-dir, ${JSON.stringify(work)}], labels: { rack: r1 } }`,
        '  - { name: gone, url: "http://127.0.0.1:1", tokenEnv: NO_SUCH_TOKEN_VAR_X, connectTimeoutMs: 3000 }',
      ].join('\n'),
    );
    const probe = spawnSync(process.execPath, [BIN, 'agents', 'probe', '--agents', agentsFile, '--json'], { encoding: 'utf8', timeout: 120000 });
    expect(probe.status).toBe(ExitCode.Infra);
    const rows = JSON.parse(probe.stdout) as AgentProbe[];
    expect(rows.map((r) => [r.name, r.reachable])).toEqual([
      ['kid', true],
      ['gone', false],
    ]);
    expect(rows[0]?.labels).toMatchObject({ rack: 'r1', os: 'linux', arch: process.arch });
    expect(rows[0]?.engines?.find((e) => e.name === 'onnxruntime')?.version).toMatch(/^\d+\.\d+/);
    expect(rows[1]?.reason).toMatch(/NO_SUCH_TOKEN_VAR_X is not set/);

    const onlyKid = join(dir, 'kid.yaml');
    writeFileSync(onlyKid, `agents:\n  - { name: kid, url: stdio, command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(BIN)}, agent, stdio, --work-dir, ${JSON.stringify(work)}] }\n`);
    const suite = writeSuite(dir, { models: [cnnModel()], engines: [ORT] }, 'cli.json');
    const run = spawnSync(process.execPath, [BIN, 'run', suite, '--agents', onlyKid, '--accuracy-only', '--no-store', '--json', '--out', join(dir, 'cli-run')], { encoding: 'utf8', timeout: 120000 });
    expect(run.status).toBe(ExitCode.Ok);
    const results = JSON.parse(run.stdout) as { jobs: Array<{ status: string; agent?: { name: string } }> };
    expect(results.jobs.map((j) => [j.status, j.agent?.name])).toEqual([['ok', 'kid']]);
    const bad = spawnSync(process.execPath, [BIN, 'agents', 'probe', '--agents', join(dir, 'nope.yaml')], { encoding: 'utf8' });
    expect(bad.status).toBe(ExitCode.Usage);
    expect(bad.stderr).toMatch(/agents file not found/);
  });
});
