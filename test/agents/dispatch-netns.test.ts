/**
 * Three agent daemons, each in its own network namespace (created here with `ip netns` and
 * veth pairs), reached over those links with a token: one suite runs across them in
 * parallel, and a label selector sends a job to the one agent that has the label.
 * Skips (with its reason) only when not root or without `ip`; as root it must run.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentDef } from '../../src/model/agents.js';
import { probeAgents } from '../../src/agents/probe.js';
import { runSuite } from '../../src/workflows/run.js';
import { ExitCode } from '../../src/errors.js';
import { BIN } from './agent-harness.js';
import { QUICK, cnnModel, tempDir, transformerModel, writeSuite } from './helpers.js';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const hasIp = spawnSync('ip', ['-V']).status === 0;
const skipReason = !isRoot ? 'not root (network namespaces need CAP_SYS_ADMIN)' : !hasIp ? 'the ip command (iproute2) is missing' : undefined;
if (skipReason !== undefined) console.log(`skipped: network-namespace agents: ${skipReason}`);

const ORT = { name: 'onnxruntime', precision: 'fp32', options: { intraOpThreads: 1, interOpThreads: 1 } };
const ZONES = ['a', 'b', 'c'];
const tag = `ba${process.pid % 100000}`;
const subnet = `10.${200 + (process.pid % 50)}`;

function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
}

interface NsAgent {
  ns: string;
  proc: ChildProcess;
  def: AgentDef;
}

const agents: NsAgent[] = [];
const namespaces: string[] = [];

function startInNamespace(ns: string, addr: string, zone: string, tokenFile: string, work: string): Promise<NsAgent> {
  const proc = spawn('ip', ['netns', 'exec', ns, process.execPath, BIN, 'agent', 'serve', '--listen', `${addr}:7070`, '--token-file', tokenFile, '--work-dir', work, '--labels', `zone=${zone}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`agent in ${ns} did not start in 30 s: ${err}`)), 30_000);
    proc.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      if (/listening on/.test(err)) {
        clearTimeout(timer);
        resolve({ ns, proc, def: { name: `ns-${zone}`, url: `http://${addr}:7070`, kind: 'http', labels: {}, tokenFile, connectTimeoutMs: 20000 } });
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`agent in ${ns} exited with ${code}: ${err}`));
    });
  });
}

describe.skipIf(skipReason !== undefined)('agents in three network namespaces', () => {
  let dir: string;

  beforeAll(async () => {
    dir = tempDir('netns');
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'netns-token-5f0e1d2c3b4a\n', { mode: 0o600 });
    for (const [i, zone] of ZONES.entries()) {
      const ns = `${tag}n${i}`;
      const host = `${tag}h${i}`;
      const peer = `${tag}p${i}`;
      ip('netns', 'add', ns);
      namespaces.push(ns);
      ip('link', 'add', host, 'type', 'veth', 'peer', 'name', peer);
      ip('link', 'set', peer, 'netns', ns);
      ip('addr', 'add', `${subnet}.${i}.1/24`, 'dev', host);
      ip('link', 'set', host, 'up');
      ip('-n', ns, 'addr', 'add', `${subnet}.${i}.2/24`, 'dev', peer);
      ip('-n', ns, 'link', 'set', peer, 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      const work = join(dir, `work-${zone}`);
      mkdirSync(work);
      agents.push(await startInNamespace(ns, `${subnet}.${i}.2`, zone, tokenFile, work));
    }
  }, 120_000);

  afterAll(async () => {
    for (const a of agents) {
      if (a.proc.exitCode === null && a.proc.signalCode === null) {
        const exited = new Promise((r) => a.proc.once('exit', r));
        a.proc.kill('SIGKILL');
        await exited;
      }
    }
    for (const ns of namespaces) spawnSync('ip', ['netns', 'del', ns]);
    for (const [i] of ZONES.entries()) spawnSync('ip', ['link', 'del', `${tag}h${i}`]);
  });

  it('each agent answers over its own veth link, with the labels it reports', async () => {
    const rows = await probeAgents({ agents: agents.map((a) => a.def), maxAttempts: 3, queueTimeoutMs: 60000, source: 'test' });
    expect(rows.map((r) => [r.name, r.reachable, r.labels.zone])).toEqual(ZONES.map((z) => [`ns-${z}`, true, z]));
    for (const r of rows) expect(r.engines?.find((e) => e.name === 'onnxruntime')?.available).toBe(true);
  });

  it('runs one suite in parallel across the three, and a zone=c job only on ns-c', async () => {
    const suite = writeSuite(dir, {
      models: [cnnModel(), transformerModel(), cnnModel({ name: 'cnn-c', agents: { labels: { zone: 'c' } } }), transformerModel({ name: 'tf2' })],
      engines: [ORT],
      measurement: { ...QUICK, minDurationMs: 800 },
    });
    const out = await runSuite({ suitePath: suite, outDir: join(dir, 'run'), quiet: true, agents: { agents: agents.map((a) => a.def), maxAttempts: 2, queueTimeoutMs: 60000, source: 'test' } });
    expect(out.exitCode).toBe(ExitCode.Ok);
    expect(out.results.jobs.map((j) => j.status)).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(out.results.jobs.find((j) => j.model.name === 'cnn-c')?.agent?.name).toBe('ns-c');
    const used = new Set(out.results.jobs.map((j) => j.agent?.name));
    expect(used.size).toBe(3);
    // The first job of each agent ran at the same time as the others'.
    const firsts = [...used].map((name) => out.results.jobs.filter((j) => j.agent?.name === name).sort((a, b) => a.startedAt.localeCompare(b.startedAt))[0]!);
    const latestStart = Math.max(...firsts.map((j) => Date.parse(j.startedAt)));
    const earliestEnd = Math.min(...firsts.map((j) => Date.parse(j.endedAt)));
    expect(latestStart).toBeLessThan(earliestEnd);
    for (const j of out.results.jobs) for (const o of j.alignment ?? []) expect(o.passed).toBe(true);
    // More jobs than agents: no agent ran two at once.
    for (const name of used) {
      const mine = out.results.jobs.filter((j) => j.agent?.name === name).sort((a, b) => a.startedAt.localeCompare(b.startedAt));
      for (let k = 1; k < mine.length; k++) expect(Date.parse(mine[k]!.startedAt)).toBeGreaterThanOrEqual(Date.parse(mine[k - 1]!.endedAt) - 5);
    }
  });
});
