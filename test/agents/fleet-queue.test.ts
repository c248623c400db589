/**
 * The fleet queue (docs/fleet.md) against a REAL PostgreSQL server from Debian's packages on
 * loopback (test/results/postgres-server.ts), with real `benchalign agent work` processes,
 * the real CLI and a real engine (onnxruntime on the bundled models):
 * - an agent killed with SIGKILL mid-run: its job is retried on the other agent, the run
 *   exits 0 with every job ok, is in the store exactly once, and `compare` finds it;
 * - an agent frozen mid-job (SIGSTOP) loses it to another, and writes no result once thawed;
 * - the coordinator killed with SIGKILL: `runs wait` finishes the run;
 * - labels route a job only to a matching agent; an agent without the engine never takes it;
 * - the repeats of an agent's jobs interleave;
 * - `runs cancel` stops queued and running jobs; a payload the daemon would refuse is refused;
 * - a scheduled run (pg-boss cron) is started by `runs scheduler` and run by the agents;
 * - the password of the queue URL appears in no output, record or table.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetDb } from '../../src/agents/queue/db.js';
import { enqueueRun, waitRun } from '../../src/agents/queue/runs.js';
import { finishRun } from '../../src/workflows/fleet.js';
import type { RunResults } from '../../src/model/record.js';
import { expandJobs, loadSuite } from '../../src/suite/index.js';
import { ALICE_PASSWORD, postgresForTests } from '../results/postgres-server.js';
import { BIN } from './agent-harness.js';
import { QUICK, cnnModel, tempDir, transformerModel, writeSuite } from './helpers.js';

const { skip, need, server } = await postgresForTests('the fleet queue tests');

const ORT = { name: 'onnxruntime', precision: 'fp32', options: { intraOpThreads: 1, interOpThreads: 1 } };
/** Jobs of about 1.5 s each: long enough to kill things in the middle of a run. */
const SLOW = { ...QUICK, minDurationMs: 1500, maxDurationMs: 1500 };
const HEARTBEAT_MS = '400';

let dir: string;
let dbCount = 0;
const procs: ChildProcess[] = [];

interface Proc {
  proc: ChildProcess;
  out(): string;
  err(): string;
  exited: Promise<number | null>;
}

function start(args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  const proc = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(proc);
  let out = '';
  let err = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return { proc, out: () => out, err: () => err, exited };
}

async function until<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `benchalign agent work` on `queue`, once it is registered. */
async function agent(queue: string, name: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Proc> {
  const p = start(['agent', 'work', '--queue', queue, '--name', name, '--work-dir', join(dir, `work-${name}`), '--heartbeat-ms', HEARTBEAT_MS, ...extra], env);
  await until(`agent ${name} to register`, () => {
    if (p.proc.exitCode !== null) throw new Error(`agent ${name} exited: ${p.err()}`);
    return p.err().includes('working on the queue') || undefined;
  });
  return p;
}

async function newDb(label: string, owner?: string): Promise<{ url: string; name: string }> {
  const name = `fleet_${label}_${++dbCount}`;
  return { url: await need().createDatabase(name, owner), name };
}

async function sql(db: string, text: string): Promise<Array<Record<string, unknown>>> {
  return need().sql(db, text);
}

function runIdOf(stderr: string): string | undefined {
  return /run (\S+): \d+ job\(s\) queued/.exec(stderr)?.[1];
}

function readResults(runDir: string): RunResults {
  return JSON.parse(readFileSync(join(runDir, 'results.json'), 'utf8')) as RunResults;
}

beforeAll(() => {
  dir = tempDir('fleet');
});

afterAll(() => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  server?.stop();
});

describe('fleet queue usage errors (exit 2, before any connection)', () => {
  it('--detach without --queue, a queue that is not a postgres URL (shown without its password), --save-outputs with --queue', () => {
    const suite = writeSuite(dir, { name: 'usage', measurement: QUICK, models: [cnnModel()], engines: [ORT] }, 'usage.json');
    const detach = spawnSync(process.execPath, [BIN, 'run', suite, '--detach', '--no-store'], { encoding: 'utf8' });
    expect(detach.status).toBe(2);
    expect(detach.stderr).toMatch(/--detach needs --queue/);
    const notPg = spawnSync(process.execPath, [BIN, 'agent', 'work', '--queue', 'mysql://u:hunter22@h/db'], { encoding: 'utf8' });
    expect(notPg.status).toBe(2);
    expect(notPg.stderr).toMatch(/--queue mysql:\/\/u@h\/db.*postgres:\/\//s);
    expect(notPg.stderr).not.toContain('hunter22');
    const save = spawnSync(process.execPath, [BIN, 'run', suite, '--queue', 'postgres://u@127.0.0.1:1/db', '--save-outputs', '--no-store'], { encoding: 'utf8' });
    expect(save.status).toBe(2);
    expect(save.stderr).toMatch(/--save-outputs does not work with --queue/);
  }, 60_000);
});

describe.skipIf(skip)('fleet queue on PostgreSQL (a real server on loopback, real agents)', () => {
  it('an agent killed with SIGKILL mid-run: its job runs on the other agent, the run exits 0 with every job ok, once in the store, and compare finds it', async () => {
    const q = await newDb('kill');
    const store = await newDb('killstore');
    const models = [0, 1, 2].flatMap((i) => [cnnModel({ name: `cnn${i}` }), transformerModel({ name: `transformer${i}` })]);
    const suite = writeSuite(dir, { name: 'fleetkill', measurement: SLOW, models, engines: [ORT] }, 'kill.json');
    const a = await agent(q.url, 'victim');
    const b = await agent(q.url, 'survivor');
    const outDir = join(dir, 'run-kill');
    const run = start(['run', suite, '--queue', q.url, '--store', store.url, '--out', outDir, '--quiet']);
    // the victim is in the middle of a job
    await until('the victim to run a job', async () => {
      const rows = await sql(q.name, "SELECT 1 FROM fleet_jobs j JOIN fleet_agents a ON a.agent_id = j.agent_id WHERE a.name = 'victim' AND j.state = 'running'");
      return rows.length > 0 || undefined;
    });
    a.proc.kill('SIGKILL');
    expect(await run.exited).toBe(0);
    void b;
    const r = readResults(outDir);
    expect(r.run.status).toBe('complete');
    expect(r.jobs).toHaveLength(6);
    expect(new Set(r.jobs.map((j) => j.key)).size).toBe(6);
    expect(r.jobs.every((j) => j.status === 'ok')).toBe(true);
    // the killed agent's job: run again on the survivor, with the reason kept
    const retried = r.jobs.filter((j) => (j.agent?.attempts ?? 1) > 1);
    expect(retried.length).toBeGreaterThanOrEqual(1);
    for (const j of retried) {
      expect(j.agent?.name).toBe('survivor');
      expect(j.notes?.join('\n')).toMatch(/agent victim stopped heartbeating/);
    }
    expect(r.run.agents?.find((x) => x.name === 'victim')?.lost).toMatch(/lost/);
    // every job has one result, written by the attempt that owned it
    const rows = await sql(q.name, "SELECT job_key, state, attempt, result->'agent'->>'name' AS agent FROM fleet_jobs");
    expect(rows).toHaveLength(6);
    expect(rows.every((x) => x.state === 'done')).toBe(true);
    const runs = await sql(store.name, `SELECT count(*)::int AS n FROM runs WHERE run_id = '${r.run.id}'`);
    expect(runs[0]?.n).toBe(1);
    const jobsInStore = await sql(store.name, `SELECT count(*)::int AS n FROM jobs j JOIN runs r ON r.pk = j.run_pk WHERE r.run_id = '${r.run.id}'`);
    expect(jobsInStore[0]?.n).toBe(6);
    const cmp = spawnSync(process.execPath, [BIN, 'compare', r.run.id, '--store', store.url, '--out', join(dir, 'cmp-kill')], { encoding: 'utf8' });
    expect(cmp.status, cmp.stderr).toBe(0);
    expect(readFileSync(join(dir, 'cmp-kill', 'report.md'), 'utf8')).toContain('cnn0');
  }, 240_000);

  it('an agent frozen mid-job (SIGSTOP: no heartbeats) loses the job to another; thawed, it writes no result: one result per job', async () => {
    const q = await newDb('freeze');
    const suite = writeSuite(dir, { name: 'fleetfreeze', measurement: { ...QUICK, minDurationMs: 3000, maxDurationMs: 3000 }, models: [cnnModel()], engines: [ORT] }, 'freeze.json');
    const sleeper = await agent(q.url, 'sleeper');
    const run = start(['run', suite, '--queue', q.url, '--detach', '--no-store']);
    expect(await run.exited, run.err()).toBe(0);
    const runId = run.out().trim();
    await until('the sleeper to run the job', async () => ((await sql(q.name, "SELECT 1 FROM fleet_jobs WHERE state = 'running'")).length > 0 ? true : undefined));
    sleeper.proc.kill('SIGSTOP');
    try {
      const awake = await agent(q.url, 'awake');
      await until('the job to be done by the other agent', async () => ((await sql(q.name, "SELECT 1 FROM fleet_jobs WHERE state = 'done'")).length > 0 ? true : undefined));
      awake.proc.kill('SIGTERM');
      await awake.exited;
    } finally {
      sleeper.proc.kill('SIGCONT');
    }
    await until('the thawed agent to drop its result', () => (/result dropped|no result written/.test(sleeper.err()) ? true : undefined), 30_000);
    const rows = await sql(q.name, "SELECT state, attempt, result->'agent'->>'name' AS agent, failures FROM fleet_jobs");
    expect(rows).toEqual([{ state: 'done', attempt: 2, agent: 'awake', failures: ['agent sleeper stopped heartbeating (lost)'] }]);
    const outDir = join(dir, 'run-freeze');
    const wait = start(['runs', 'wait', runId, '--queue', q.url, '--no-store', '--out', outDir, '--quiet']);
    expect(await wait.exited, wait.err()).toBe(0);
    expect(readResults(outDir).jobs.map((j) => [j.status, j.agent?.name, j.agent?.attempts])).toEqual([['ok', 'awake', 2]]);
    sleeper.proc.kill('SIGTERM');
    await sleeper.exited;
  }, 120_000);

  describe('a pool of two agents (labels board=alpha and none), on a queue owned by a role with a password (in the URL, in PGPASSWORD)', () => {
    let q: { url: string; name: string };
    let withPassword: string;
    let alpha: Proc;
    let plain: Proc;

    beforeAll(async () => {
      q = await newDb('pool', 'alice');
      withPassword = q.url.replace('postgres@', `alice:${ALICE_PASSWORD}@`);
      alpha = await agent(withPassword, 'alpha', ['--labels', 'board=alpha']);
      // the other agent has its password from PGPASSWORD, not the URL
      plain = await agent(q.url.replace('postgres@', 'alice@'), 'plain', [], { PGPASSWORD: ALICE_PASSWORD });
    }, 120_000);

    afterAll(async () => {
      alpha.proc.kill('SIGTERM');
      plain.proc.kill('SIGTERM');
      await Promise.all([alpha.exited, plain.exited]);
    });

    it('the coordinator killed with SIGKILL: the agents finish the run and `runs wait` records it', async () => {
      const store = await newDb('waitstore');
      const models = [0, 1].flatMap((i) => [cnnModel({ name: `cnn${i}` }), transformerModel({ name: `transformer${i}` })]);
      const suite = writeSuite(dir, { name: 'fleetcoord', measurement: SLOW, models, engines: [ORT] }, 'coord.json');
      const run = start(['run', suite, '--queue', withPassword, '--store', store.url, '--out', join(dir, 'run-coord-lost')]);
      const runId = await until('the run id', () => runIdOf(run.err()));
      await until('a job to finish', async () => ((await sql(q.name, "SELECT 1 FROM fleet_jobs WHERE state = 'done'")).length > 0 ? true : undefined));
      run.proc.kill('SIGKILL');
      await run.exited;
      const outDir = join(dir, 'run-coord');
      const wait = start(['runs', 'wait', runId, '--queue', withPassword, '--store', store.url, '--out', outDir]);
      expect(await wait.exited, wait.err()).toBe(0);
      const r = readResults(outDir);
      expect(r.run.id).toBe(runId);
      expect(r.jobs.map((j) => j.status)).toEqual(['ok', 'ok', 'ok', 'ok']);
      expect((await sql(store.name, `SELECT count(*)::int AS n FROM runs WHERE run_id = '${runId}'`))[0]?.n).toBe(1);
      // the password is nowhere: outputs, records, the queue's tables
      for (const text of [run.err(), wait.err(), wait.out(), alpha.err(), plain.err(), readFileSync(join(outDir, 'results.json'), 'utf8')]) expect(text).not.toContain(ALICE_PASSWORD);
      const tables = await sql(q.name, 'SELECT (SELECT string_agg(spec::text, \'\') FROM fleet_runs) || (SELECT string_agg(payload::text || coalesce(result::text, \'\'), \'\') FROM fleet_jobs) AS t');
      expect(String(tables[0]?.t)).not.toContain(ALICE_PASSWORD);
      expect(r.run.argv.join(' ')).toContain('postgres://alice@');
    }, 240_000);

    it('labels route a job only to a matching agent (detached run, then `runs status` and `runs wait`)', async () => {
      const models = [0, 1, 2].flatMap((i) => [cnnModel({ name: `alpha${i}`, agents: { labels: { board: 'alpha' } } }), cnnModel({ name: `any${i}` })]);
      const suite = writeSuite(dir, { name: 'fleetlabels', measurement: QUICK, models, engines: [ORT] }, 'labels.json');
      const run = start(['run', suite, '--queue', withPassword, '--detach', '--no-store']);
      expect(await run.exited, run.err()).toBe(0);
      const runId = run.out().trim();
      expect(runId).toMatch(/fleetlabels/);
      const outDir = join(dir, 'run-labels');
      const wait = start(['runs', 'wait', runId, '--queue', withPassword, '--no-store', '--out', outDir, '--quiet']);
      expect(await wait.exited, wait.err()).toBe(0);
      const r = readResults(outDir);
      expect(r.jobs).toHaveLength(6);
      for (const j of r.jobs.filter((x) => x.model.name.startsWith('alpha'))) expect(j.agent?.name, j.key).toBe('alpha');
      const status = spawnSync(process.execPath, [BIN, 'runs', 'status', runId, '--queue', withPassword, '--json'], { encoding: 'utf8' });
      expect(status.status, status.stderr).toBe(0);
      const s = JSON.parse(status.stdout) as { state: string; settled: boolean; counts: Record<string, number> };
      expect(s.settled).toBe(true);
      expect(s.state).toBe('finished');
      expect(s.counts.done).toBe(6);
    }, 240_000);

    it('the repeats of an agent\'s jobs interleave (each repeat a fresh worker), and the record combines them', async () => {
      const models = [0, 1, 2].map((i) => cnnModel({ name: `rep${i}`, agents: { labels: { board: 'alpha' } } }));
      const suite = writeSuite(dir, { name: 'fleetrepeats', measurement: QUICK, models, engines: [ORT] }, 'repeats.json');
      const before = alpha.err().length;
      const outDir = join(dir, 'run-repeats');
      const run = start(['run', suite, '--queue', withPassword, '--repeats', '2', '--no-store', '--out', outDir, '--quiet']);
      expect(await run.exited, run.err()).toBe(0);
      const order = [...alpha.err().slice(before).matchAll(/job fleet-\S+-1-(\d) \((rep\d)\/onnxruntime\/fp32\) started/g)].map((m) => `${m[2]}#${m[1]}`);
      expect(order).toEqual(['rep0#0', 'rep1#0', 'rep2#0', 'rep0#1', 'rep1#1', 'rep2#1']);
      const r = readResults(outDir);
      for (const j of r.jobs) {
        expect(j.status).toBe('ok');
        expect(j.agent?.name).toBe('alpha');
        expect(j.samplesNs).toHaveLength(2);
      }
    }, 120_000);

    it('`runs cancel` stops the running job on its agent and takes the queued ones off the queue', async () => {
      const models = [0, 1, 2, 3].map((i) => cnnModel({ name: `long${i}`, agents: { labels: { board: 'alpha' } } }));
      const suite = writeSuite(dir, { name: 'fleetcancel', measurement: { ...QUICK, minDurationMs: 8000, maxDurationMs: 8000 }, models, engines: [ORT] }, 'cancel.json');
      const run = start(['run', suite, '--queue', withPassword, '--detach', '--no-store']);
      expect(await run.exited, run.err()).toBe(0);
      const runId = run.out().trim();
      await until('a job to run', async () => ((await sql(q.name, `SELECT 1 FROM fleet_jobs WHERE run_id = '${runId}' AND state = 'running'`)).length > 0 ? true : undefined));
      const t0 = Date.now();
      const cancel = spawnSync(process.execPath, [BIN, 'runs', 'cancel', runId, '--queue', withPassword], { encoding: 'utf8' });
      expect(cancel.status, cancel.stderr).toBe(0);
      expect(cancel.stdout).toContain('4 job(s) stopped');
      await until('the agent to stop the job', () => (alpha.err().includes('the run was cancelled; stopping it') ? true : undefined), 20_000);
      await until('the agent to drop the result', () => (/fleetcancel\S* stopped: the run was cancelled; no result written/.test(alpha.err()) ? true : undefined), 20_000);
      expect(Date.now() - t0).toBeLessThan(8000);
      const outDir = join(dir, 'run-cancel');
      const wait = start(['runs', 'wait', runId, '--queue', withPassword, '--no-store', '--out', outDir, '--quiet']);
      expect(await wait.exited).toBe(3);
      const r = readResults(outDir);
      expect(r.run.status).toBe('interrupted');
      expect(r.jobs.filter((j) => /cancelled while running/.test(j.reason ?? ''))).toHaveLength(1);
      expect(r.jobs.filter((j) => /cancelled before it started/.test(j.reason ?? ''))).toHaveLength(3);
      const boss = await sql(q.name, `SELECT count(*)::int AS n FROM pgboss.job WHERE data->>'runId' = '${runId}' AND state IN ('created', 'retry', 'active')`);
      expect(boss[0]?.n).toBe(0);
    }, 120_000);

    it('a scheduled run (pg-boss cron): `runs scheduler` starts it at the tick and the agents run it; bad schedules are refused', async () => {
      const suite = writeSuite(dir, { name: 'fleetcron', measurement: QUICK, models: [cnnModel()], engines: [ORT] }, 'cron.json');
      const refused = spawnSync(process.execPath, [BIN, 'runs', 'schedule', 'bad', '--cron', '* * * * *', '--queue', withPassword, '--', suite, '--detach'], { encoding: 'utf8' });
      expect(refused.status).toBe(2);
      expect(refused.stderr).toMatch(/--detach is not accepted in a scheduled run/);
      const badCron = spawnSync(process.execPath, [BIN, 'runs', 'schedule', 'bad', '--cron', 'every night', '--queue', withPassword, '--', suite], { encoding: 'utf8' });
      expect(badCron.status).toBe(2);
      const outDir = join(dir, 'run-cron');
      const add = spawnSync(process.execPath, [BIN, 'runs', 'schedule', 'minutely', '--cron', '* * * * *', '--queue', withPassword, '--', suite, '--no-store', '--out', outDir, '--quiet'], { encoding: 'utf8' });
      expect(add.status, add.stderr).toBe(0);
      const list = spawnSync(process.execPath, [BIN, 'runs', 'schedules', '--queue', withPassword], { encoding: 'utf8' });
      expect(list.stdout).toMatch(/^minutely\t\* \* \* \* \* \(UTC\)\tbenchalign run .*cron\.json --no-store/m);
      const scheduler = start(['runs', 'scheduler', '--queue', withPassword]);
      try {
        // the next minute's tick, plus pg-boss's cron monitor and the scheduler's poll
        await until('the scheduled run to finish', () => (/minutely: exit 0/.test(scheduler.err()) ? true : undefined), 100_000);
        const r = readResults(outDir);
        expect(r.suite.name).toBe('fleetcron');
        expect(r.jobs.map((j) => j.status)).toEqual(['ok']);
        expect(r.jobs[0]?.agent?.url).toMatch(/^queue:/);
      } finally {
        spawnSync(process.execPath, [BIN, 'runs', 'unschedule', 'minutely', '--queue', withPassword]);
        scheduler.proc.kill('SIGTERM');
        await scheduler.exited;
      }
      const after = spawnSync(process.execPath, [BIN, 'runs', 'schedules', '--queue', withPassword], { encoding: 'utf8' });
      expect(after.stdout).not.toContain('minutely');
    }, 180_000);

    it('a payload the daemon would refuse is refused by the pull agent too (an engine option naming a file)', async () => {
      const suitePath = writeSuite(dir, { name: 'fleetbad', measurement: QUICK, models: [cnnModel()], engines: [ORT] }, 'bad.json');
      const jobs = expandJobs(await loadSuite(suitePath));
      const job = jobs[0];
      if (!job) throw new Error('no job');
      job.engine.options = { ...job.engine.options, pluginLibraryPath: '/tmp/evil.so' };
      const db = await FleetDb.open(withPassword);
      try {
        await enqueueRun(db, { runId: 'forged-1', suite: { name: 'fleetbad', path: suitePath, sha256: 'x' }, jobs: [job], repeats: 1, mode: 'accuracy-only', argv: [], startedAt: new Date(), maxAttempts: 2 });
        const s = await waitRun(db, 'forged-1', { pollMs: 200, timeoutMs: 60_000 });
        expect(s.settled).toBe(true);
        const done = await finishRun(db, 'forged-1', { outDir: join(dir, 'run-bad') });
        const j = done.results.jobs[0];
        expect(j?.status).toBe('errored');
        expect(j?.reason).toMatch(/refused the job: .*pluginLibraryPath: names a program, library or file/);
        expect(done.exitCode).toBe(4); // nothing measured, as a local run
      } finally {
        await db.close();
      }
    }, 120_000);
  });

  it('an agent without the job\'s engine never takes it', async () => {
    const q = await newDb('engine');
    const ov = await agent(q.url, 'openvino-only', ['--engines', 'openvino']);
    const suite = writeSuite(dir, { name: 'fleetengine', measurement: QUICK, models: [cnnModel()], engines: [ORT] }, 'engine.json');
    const run = start(['run', suite, '--queue', q.url, '--detach', '--no-store']);
    expect(await run.exited, run.err()).toBe(0);
    expect(run.err()).toMatch(/no live agent on the queue can take 1 job/);
    const runId = run.out().trim();
    // several of the agent's polls and heartbeats later, the job is still queued and untouched
    await new Promise((r) => setTimeout(r, 3000));
    const rows = await sql(q.name, `SELECT state, attempt, agent_id FROM fleet_jobs WHERE run_id = '${runId}'`);
    expect(rows).toEqual([{ state: 'queued', attempt: 0, agent_id: null }]);
    expect(ov.err()).not.toMatch(/started/);
    const cancel = spawnSync(process.execPath, [BIN, 'runs', 'cancel', runId, '--queue', q.url], { encoding: 'utf8' });
    expect(cancel.status, cancel.stderr).toBe(0);
    ov.proc.kill('SIGTERM');
    expect(await ov.exited).toBe(0);
  }, 120_000);

  it('an artifact altered in the database is refused by the agent (sha256 checked), and the job errors saying so', async () => {
    const q = await newDb('tamper');
    const suitePath = writeSuite(dir, { name: 'fleettamper', measurement: QUICK, models: [cnnModel()], engines: [ORT] }, 'tamper.json');
    const jobs = expandJobs(await loadSuite(suitePath));
    const db = await FleetDb.open(q.url);
    try {
      await enqueueRun(db, { runId: 'tampered-1', suite: { name: 'fleettamper', path: suitePath, sha256: 'x' }, jobs, repeats: 1, mode: 'accuracy-only', argv: [], startedAt: new Date(), maxAttempts: 1 });
      const sha = jobs[0]?.model.sha256 as string;
      // one byte changed, same size
      await sql(q.name, `UPDATE fleet_artifacts SET data = set_byte(data, 100, (get_byte(data, 100) + 1) % 256) WHERE sha256 = '${sha}'`);
      const a = await agent(q.url, 'checker', ['--engines', 'onnxruntime']);
      const s = await waitRun(db, 'tampered-1', { pollMs: 200, timeoutMs: 60_000 });
      expect(s.settled).toBe(true);
      const done = await finishRun(db, 'tampered-1', { outDir: join(dir, 'run-tamper') });
      expect(done.results.jobs[0]?.status).toBe('errored');
      expect(done.results.jobs[0]?.reason).toContain(`artifact ${sha} in the queue database does not match its sha256`);
      a.proc.kill('SIGTERM');
      await a.exited;
    } finally {
      await db.close();
    }
  }, 120_000);
});
