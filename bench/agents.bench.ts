/**
 * Runner agents.
 * 1. Dispatch overhead: many short jobs (the bundled CNN, accuracy-only) across three local
 *    stdio agents. Each agent's busy time is the sum of its jobs' times (job.run sent to
 *    answer received, as the coordinator sees it); the ratio agents × wall / Σ job times is
 *    1 when the dispatcher never leaves an agent idle.
 * 2. Artifact upload throughput: a 64 MiB file to a loopback daemon by streamed
 *    PUT /artifacts/<sha256> and to a stdio agent by `artifact.put` chunks (base64 in JSON),
 *    each stored and hash-checked by the agent, against a raw loopback TCP copy of the same
 *    bytes into a file on the same disk. Interleaved rounds, median MB/s (MB = 10^6 bytes).
 */
import { spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import type { AgentDef } from '../src/model/agents.js';
import { hashFileCached } from '../src/agents/artifacts.js';
import type { ProgressReporter } from '../src/agents/progress.js';
import { runSuite } from '../src/workflows/run.js';
import { putArtifact } from '../src/agents/transports/http.js';
import { RpcConnection, uploadByChunks } from '../src/agents/transports/rpc.js';
import { openStdioChannel } from '../src/agents/transports/stdio.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(REPO, 'bin/benchalign.js');
const JOBS = 18;
const AGENTS = 3;
const FILE_BYTES = 64 * 1024 * 1024;
const ROUNDS = 3;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

async function dispatchOverhead(dir: string): Promise<void> {
  const models = Array.from({ length: JOBS }, (_, i) => ({
    name: `cnn${i}`,
    path: join(REPO, 'suites/models/cnn/model.onnx'),
    inputs: { source: 'reference', file: join(REPO, 'suites/models/cnn/inputs.pt') },
    reference: join(REPO, 'suites/models/cnn/outputs.pt'),
    shapes: { input: [1, 3, 32, 32] },
  }));
  const suite = join(dir, 'many.json');
  writeFileSync(suite, JSON.stringify({ name: 'many', models, engines: [{ name: 'onnxruntime', options: { intraOpThreads: 1, interOpThreads: 1 } }] }));
  const agents: AgentDef[] = Array.from({ length: AGENTS }, (_, i) => ({
    name: `s${i}`,
    url: 'stdio',
    kind: 'stdio',
    labels: {},
    command: [process.execPath, BIN, 'agent', 'stdio', '--work-dir', join(dir, `w${i}`)],
    connectTimeoutMs: 60000,
  }));
  const open = new Map<string, number>();
  const busyMs = new Map<string, number>();
  let firstStart = Infinity;
  const jobMs: number[] = [];
  const progress: ProgressReporter = {
    start: () => undefined,
    jobStarted: (_i, _l, agent) => {
      const now = performance.now();
      firstStart = Math.min(firstStart, now);
      open.set(agent ?? '', now);
    },
    jobProgress: () => undefined,
    jobFinished: (_l, _s, agent) => {
      const ms = performance.now() - (open.get(agent ?? '') ?? performance.now());
      jobMs.push(ms);
      busyMs.set(agent ?? '', (busyMs.get(agent ?? '') ?? 0) + ms);
    },
    stop: () => undefined,
  };
  const t0 = performance.now();
  const out = await runSuite({ suitePath: suite, outDir: join(dir, 'run'), mode: 'accuracy-only', progress, agents: { agents, maxAttempts: 1, queueTimeoutMs: 60000, source: 'bench' } });
  const t1 = performance.now();
  const ok = out.results.jobs.filter((j) => j.status === 'ok').length;
  const sum = jobMs.reduce((a, b) => a + b, 0);
  const wallMs = t1 - t0;
  const dispatchWallMs = t1 - firstStart;
  console.log(`${JOBS} accuracy-only CNN jobs on ${AGENTS} stdio agents: ${ok} ok; per agent: ${[...busyMs].map(([a, ms]) => `${a} ${out.results.jobs.filter((j) => j.agent?.name === a).length} jobs ${ms.toFixed(0)} ms`).join(', ')}`);
  console.log(`job time (job.run round trip) median ${median(jobMs).toFixed(1)} ms, sum ${sum.toFixed(0)} ms`);
  console.log(`wall ${wallMs.toFixed(0)} ms including agent start and connect; ${dispatchWallMs.toFixed(0)} ms from the first job`);
  console.log(`overhead ratio agents x wall / sum of job times: ${((AGENTS * dispatchWallMs) / sum).toFixed(3)} from the first job, ${((AGENTS * wallMs) / sum).toFixed(3)} with agent start (1 = no idle agent)`);
}

async function rawCopy(file: string, dest: string): Promise<number> {
  const server = createServer((sock) => {
    void pipeline(sock, createWriteStream(dest));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    sock.on('error', reject);
    const done = new Promise<void>((r) => server.once('connection', (s) => s.once('close', () => r())));
    pipeline(createReadStream(file), sock)
      .then(() => done)
      .then(resolve, reject);
  });
  const ms = performance.now() - t0;
  server.close();
  return ms;
}

async function uploadThroughput(dir: string): Promise<void> {
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, 'bench-token-0123456789\n');
  const daemon = spawn(process.execPath, [BIN, 'agent', 'serve', '--listen', '127.0.0.1:0', '--token-file', tokenFile, '--work-dir', join(dir, 'dw')], { stdio: ['ignore', 'ignore', 'pipe'] });
  const base = await new Promise<string>((resolve, reject) => {
    let err = '';
    const t = setTimeout(() => reject(new Error(`daemon did not start: ${err}`)), 30000);
    daemon.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on (\S+)/.exec(err);
      if (m) {
        clearTimeout(t);
        resolve((m[1] as string).replace(/^ws/, 'http').replace(/\/rpc$/, ''));
      }
    });
  });
  const def: AgentDef = { name: 'bench', url: base, kind: 'http', labels: {}, tokenFile, connectTimeoutMs: 20000 };
  const stdio = await openStdioChannel([process.execPath, BIN, 'agent', 'stdio', '--work-dir', join(dir, 'sw')], 'bench stdio agent');
  const conn = new RpcConnection(stdio, 'bench-stdio');
  const rates = { put: [] as number[], chunks: [] as number[], raw: [] as number[] };
  const mbps = (ms: number): number => FILE_BYTES / 1e6 / (ms / 1000);
  try {
    for (let r = 0; r < ROUNDS; r++) {
      const files = ['put', 'chunks', 'raw'].map((k) => {
        const f = join(dir, `blob-${k}-${r}`);
        const buf = Buffer.alloc(FILE_BYTES);
        randomFillSync(buf);
        writeFileSync(f, buf);
        return f;
      });
      const [fPut, fChunks, fRaw] = files as [string, string, string];
      const shaPut = await hashFileCached(fPut);
      const shaChunks = await hashFileCached(fChunks);
      const order = r % 2 === 0 ? ['raw', 'put', 'chunks'] : ['chunks', 'put', 'raw'];
      for (const k of order) {
        const t0 = performance.now();
        if (k === 'put') await putArtifact(def, 'bench-token-0123456789', shaPut, fPut, FILE_BYTES);
        else if (k === 'chunks') await uploadByChunks(conn, shaChunks, fChunks, FILE_BYTES);
        else {
          rates.raw.push(mbps(await rawCopy(fRaw, join(dir, `copy-${r}`))));
          continue;
        }
        rates[k as 'put' | 'chunks'].push(mbps(performance.now() - t0));
      }
      for (const f of files) rmSync(f);
      rmSync(join(dir, `copy-${r}`), { force: true });
    }
  } finally {
    await conn.close();
    daemon.kill('SIGTERM');
  }
  const raw = median(rates.raw);
  console.log(`${FILE_BYTES / 2 ** 20} MiB random file, ${ROUNDS} interleaved rounds, median MB/s (10^6 B/s):`);
  console.log(`raw loopback TCP copy to a file: ${raw.toFixed(0)} MB/s (${rates.raw.map((x) => x.toFixed(0)).join(', ')})`);
  console.log(`daemon PUT /artifacts (streamed, stored, sha256 checked): ${median(rates.put).toFixed(0)} MB/s (${rates.put.map((x) => x.toFixed(0)).join(', ')}); ratio to raw ${(median(rates.put) / raw).toFixed(3)}`);
  console.log(`stdio artifact.put chunks (4 MiB, base64 JSON): ${median(rates.chunks).toFixed(0)} MB/s (${rates.chunks.map((x) => x.toFixed(0)).join(', ')}); ratio to raw ${(median(rates.chunks) / raw).toFixed(3)}`);
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'benchalign-agents-bench-'));
  mkdirSync(join(dir, 'dw'));
  try {
    await dispatchOverhead(dir);
    await uploadThroughput(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await run();
