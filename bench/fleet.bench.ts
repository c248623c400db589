/**
 * The fleet queue (docs/fleet.md), on a real PostgreSQL server from Debian's packages started
 * on loopback for the benchmark (test/results/postgres-server.ts), with real
 * `benchalign agent work` processes and real jobs (the bundled CNN on onnxruntime, a short
 * benchmark loop each).
 * 1. 200 jobs through 3 agents: the queue's overhead is each agent's time between taking its
 *    first job and ending its last one that is not spent executing jobs (fetching from pg-boss,
 *    claiming, fetching and checking artifacts, loading the reference, writing the result,
 *    completing), summed over the agents, against the sum of the job times (target <= 5%).
 * 2. The same jobs run locally (`benchalign run`, no agents) and through the queue with one
 *    agent, interleaved rounds after a warm-up round of each: the wall-clock ratio queue / local, coordinator included, and
 *    the ratio of the sums of job times (each job's record, start to end).
 * On a machine with fewer cores than agents + PostgreSQL + coordinator, part 1's "queue"
 * time includes waiting for a CPU between jobs; part 2 has one agent.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSuite } from '../src/workflows/run.js';
import { startPostgres, type PgServer } from '../test/results/postgres-server.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(REPO, 'bin/benchalign.js');
const JOBS = 200;
const AGENTS = 3;
const LOCAL_JOBS = 30;
const ROUNDS = 3;

function suiteFile(dir: string, name: string, jobs: number): string {
  const models = Array.from({ length: jobs }, (_, i) => ({
    name: `cnn${i}`,
    path: join(REPO, 'suites/models/cnn/model.onnx'),
    inputs: { source: 'reference', file: join(REPO, 'suites/models/cnn/inputs.pt') },
    reference: join(REPO, 'suites/models/cnn/outputs.pt'),
    shapes: { input: [1, 3, 32, 32] },
  }));
  const measurement = { warmup: { minIterations: 5, maxIterations: 100, maxMs: 200 }, minDurationMs: 300, maxDurationMs: 300, minIterations: 20, concurrency: [1], timeoutMs: 30000 };
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify({ name, measurement, models, engines: [{ name: 'onnxruntime', options: { intraOpThreads: 1, interOpThreads: 1 } }] }));
  return path;
}

async function startAgent(queue: string, name: string, dir: string): Promise<ChildProcess> {
  const p = spawn(process.execPath, [BIN, 'agent', 'work', '--queue', queue, '--name', name, '--work-dir', join(dir, `w-${name}`), '--engines', 'onnxruntime'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  await new Promise<void>((resolve, reject) => {
    p.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('working on the queue')) resolve();
    });
    p.once('exit', (code) => reject(new Error(`agent ${name} exited ${code}: ${err}`)));
  });
  return p;
}

async function stopAgents(agents: ChildProcess[]): Promise<void> {
  await Promise.all(
    agents.map(
      (a) =>
        new Promise<void>((r) => {
          a.once('exit', () => r());
          a.kill('SIGTERM');
        }),
    ),
  );
}

async function overhead(pg: PgServer, dir: string): Promise<void> {
  const queue = await pg.createDatabase('bench_fleet');
  const agents = await Promise.all(Array.from({ length: AGENTS }, (_, i) => startAgent(queue, `b${i}`, dir)));
  try {
    const t0 = performance.now();
    const out = await runSuite({ suitePath: suiteFile(dir, 'fleet200', JOBS), queue, quiet: true, outDir: join(dir, 'run200') });
    const wallMs = performance.now() - t0;
    const ok = out.results.jobs.filter((j) => j.status === 'ok').length;
    const rows = await pg.sql(
      'bench_fleet',
      `SELECT result->'agent'->>'name' AS agent, count(*)::int AS jobs, sum(exec_ms) AS exec_ms,
              extract(epoch FROM max(ended_at) - min(taken_at)) * 1000 AS span_ms
         FROM fleet_jobs GROUP BY 1 ORDER BY 1`,
    );
    let exec = 0;
    let gaps = 0;
    for (const r of rows) {
      exec += Number(r.exec_ms);
      gaps += Number(r.span_ms) - Number(r.exec_ms);
      console.log(`  agent ${String(r.agent)}: ${String(r.jobs)} jobs, ${(Number(r.exec_ms) / 1000).toFixed(1)} s executing, ${((Number(r.span_ms) - Number(r.exec_ms)) / 1000).toFixed(2)} s in the queue`);
    }
    console.log(`${JOBS} jobs (${ok} ok) through ${AGENTS} agents in ${(wallMs / 1000).toFixed(1)} s: Σ job times ${(exec / 1000).toFixed(1)} s, queue overhead ${(gaps / 1000).toFixed(2)} s = ${((100 * gaps) / exec).toFixed(2)}% (target <= 5%), ${(gaps / JOBS).toFixed(1)} ms per job`);
  } finally {
    await stopAgents(agents);
  }
}

async function versusLocal(pg: PgServer, dir: string): Promise<void> {
  const queue = await pg.createDatabase('bench_fleet_local');
  const suite = suiteFile(dir, 'fleetlocal', LOCAL_JOBS);
  const [agent] = await Promise.all([startAgent(queue, 'solo', dir)]);
  const local: number[] = [];
  const queued: number[] = [];
  const localJobs: number[] = [];
  const queuedJobs: number[] = [];
  /** Σ of the jobs' own times (startedAt to endedAt in their records), ms. */
  const jobTimes = (r: Awaited<ReturnType<typeof runSuite>>): number => r.results.jobs.reduce((s, j) => s + (Date.parse(j.endedAt) - Date.parse(j.startedAt)), 0);
  try {
    // one round first, not counted: both paths warm (the agent's first worker, the database's caches)
    await runSuite({ suitePath: suite, quiet: true, noAgents: true, outDir: join(dir, 'local-warm') });
    await runSuite({ suitePath: suite, queue, quiet: true, outDir: join(dir, 'queued-warm') });
    for (let r = 0; r < ROUNDS; r++) {
      let t0 = performance.now();
      const l = await runSuite({ suitePath: suite, quiet: true, noAgents: true, outDir: join(dir, `local${r}`) });
      local.push(performance.now() - t0);
      localJobs.push(jobTimes(l));
      t0 = performance.now();
      const q = await runSuite({ suitePath: suite, queue, quiet: true, outDir: join(dir, `queued${r}`) });
      queued.push(performance.now() - t0);
      queuedJobs.push(jobTimes(q));
    }
  } finally {
    await stopAgents([agent as ChildProcess]);
  }
  const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
  const s = (xs: number[]): string => xs.map((x) => (x / 1000).toFixed(1)).join(', ');
  console.log(`${LOCAL_JOBS} jobs × ${ROUNDS} rounds, interleaved: wall local ${s(local)} s, queue with 1 agent ${s(queued)} s (coordinator's connect, enqueue and finish included): queue / local = ${(sum(queued) / sum(local)).toFixed(3)}`);
  console.log(`  Σ job times: local ${s(localJobs)} s, queue ${s(queuedJobs)} s: queue / local = ${(sum(queuedJobs) / sum(localJobs)).toFixed(3)}`);
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'benchalign-fleet-bench-'));
  const pg = await startPostgres();
  const prev = process.stderr.write.bind(process.stderr);
  // the coordinator's progress lines go to stderr; keep the benchmark's output readable
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => (/^(benchalign: run |run | {2}\S+: )/.test(String(chunk)) ? true : prev(chunk, ...(rest as [])))) as typeof process.stderr.write;
  try {
    await overhead(pg, dir);
    await versusLocal(pg, dir);
  } finally {
    process.stderr.write = prev;
    pg.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
