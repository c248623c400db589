/**
 * `benchalign agent serve` as a real process on loopback: auth, artifact safety, size limits,
 * a real ONNX Runtime job whose outputs equal a local run's bit for bit, the device lease,
 * cancel, TLS and graceful shutdown.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildJobResult } from '../../src/execution/job-result.js';
import { RpcCode, decodeOutcome, type InfoResult, type JobRunResult } from '../../src/agents/protocol.js';
import { getRunner } from '../../src/runners/registry.js';
import { expandJobs, loadSuite } from '../../src/suite/index.js';
import { type Job } from '../../src/model/job.js';
import { readTensors } from '../../src/tensors/read.js';
import { executeRepeat, type RepeatOutcome } from '../../src/execution/execute-job.js';
import { RpcFailure, connectWs, httpRequest, startDaemonProcess, stopProcess, wireJobFor, type AgentProcess, type TestClient } from './agent-harness.js';
import { QUICK, childPids, cnnModel, tempDir, writeSuite } from './helpers.js';

const TOKEN = 'test-token-0123456789abcdef';
const ORT = { name: 'onnxruntime', precision: 'fp32', options: { intraOpThreads: 1, interOpThreads: 1 } };

async function cnnJob(measurement: Record<string, unknown> = {}): Promise<Job> {
  const dir = tempDir('agentd-suite');
  const suite = await loadSuite(writeSuite(dir, { models: [cnnModel()], engines: [ORT], measurement: { ...QUICK, ...measurement } }));
  const job = expandJobs(suite)[0];
  if (!job) throw new Error('no job');
  return job;
}

async function rpcError(p: Promise<unknown>): Promise<RpcFailure> {
  try {
    await p;
  } catch (e) {
    if (e instanceof RpcFailure) return e;
    throw e;
  }
  throw new Error('expected a JSON-RPC error');
}


function alive(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

function sha(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

async function* slowBody(total: number, chunk = 64 * 1024): AsyncIterable<Buffer> {
  for (let sent = 0; sent < total; sent += chunk) yield randomBytes(Math.min(chunk, total - sent));
}

describe('agent daemon on loopback with a token', () => {
  let agent: AgentProcess & { url: string; httpBase: string };
  let workDir: string;
  const clients: TestClient[] = [];
  const connect = async (): Promise<TestClient> => {
    const c = await connectWs(agent.url, { token: TOKEN });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    workDir = join(tempDir('agentd'), 'work');
    const tokenFile = join(tempDir('agentd-token'), 'token');
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    agent = await startDaemonProcess(['--listen', '127.0.0.1:0', '--token-file', tokenFile, '--work-dir', workDir, '--labels', 'board=test,site=ci', '--max-artifact-bytes', '8M']);
  });
  afterAll(async () => {
    for (const c of clients) c.closeTransport();
    if (agent) await stopProcess(agent);
  });

  it('answers /healthz without auth, and 401 to an upgrade or PUT without or with a wrong token, logging no token', async () => {
    const h = await httpRequest(agent.httpBase, 'GET', '/healthz');
    expect(h).toEqual({ status: 200, body: 'ok\n' });
    await expect(connectWs(agent.url)).rejects.toThrow('HTTP 401');
    await expect(connectWs(agent.url, { token: 'wrong-token-value-123456' })).rejects.toThrow('HTTP 401');
    await expect(connectWs(agent.url, { token: `${TOKEN}x` })).rejects.toThrow('HTTP 401');
    const body = Buffer.from('hello');
    const path = `/artifacts/${sha(body)}`;
    expect((await httpRequest(agent.httpBase, 'PUT', path, { body })).status).toBe(401);
    expect((await httpRequest(agent.httpBase, 'PUT', path, { body, headers: { authorization: 'Bearer wrong-token-value-123456' } })).status).toBe(401);
    expect((await httpRequest(agent.httpBase, 'PUT', path, { body, headers: { authorization: TOKEN } })).status).toBe(401);
    expect(existsSync(join(workDir, 'artifacts', sha(body)))).toBe(false);
    const c = await connect();
    const info = await c.call<InfoResult>('info');
    expect(info.labels).toMatchObject({ board: 'test', site: 'ci', arch: process.arch, os: 'linux' });
    expect(info.engines.find((e) => e.name === 'onnxruntime')).toMatchObject({ available: true });
    expect(info.fingerprint.cpuCores).toBeGreaterThan(0);
    const log = agent.stderr();
    expect(log).toMatch(/auth failure from 127\.0\.0\.1:\d+ on GET \/rpc \(no Authorization header\)/);
    expect(log).toMatch(/auth failure from 127\.0\.0\.1:\d+ on PUT \/artifacts \(wrong token\)/);
    expect(log).not.toContain('wrong-token-value');
    expect(log).not.toContain(TOKEN);
  });

  it('refuses artifact names that try traversal, over HTTP and over RPC', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const body = Buffer.from('not a model');
    const h = sha(body);
    const bad = [
      '/artifacts/../../etc/passwd',
      '/artifacts/..%2f..%2fetc%2fpasswd',
      '/artifacts/%2e%2e/%2e%2e/x',
      '/artifacts%2f..%2fx',
      `/artifacts/${h.toUpperCase()}`,
      `/artifacts/${h.slice(1)}`,
      `/artifacts/${h}0`,
      `/artifacts/${h}/../${h}`,
      `/artifacts/./${h}`,
      `/artifacts/${h}?x=1`,
      '/artifacts/',
    ];
    for (const p of bad) {
      const r = await httpRequest(agent.httpBase, 'PUT', p, { body, headers: auth });
      // '/artifacts%2f..' is not the /artifacts/ route at all (routes are exact): 404
      expect([p, r.status]).toEqual([p, p.startsWith('/artifacts/') ? 400 : 404]);
    }
    const c = await connect();
    for (const name of ['../../etc/passwd', '..', `${h}/../x`, h.toUpperCase(), `%2e%2e%2f${h.slice(9)}`, `/${h.slice(1)}`, h.slice(2)]) {
      const e1 = await rpcError(c.call('artifact.put', { sha256: name, size: body.length, offset: 0, data: body.toString('base64'), final: true }));
      expect(e1.code).toBe(RpcCode.ArtifactRefused);
      const e2 = await rpcError(c.call('artifact.has', { sha256: name }));
      expect(e2.code).toBe(RpcCode.ArtifactRefused);
    }
    // a job's tree paths and refs are checked too: no path, no traversal
    const job = await cnnJob();
    const params = await wireJobFor(c, job, 'trav-1', { mode: 'accuracy-only' });
    const withBadTree = { ...params, files: [...params.files, { path: '../../escape.onnx', sha256: params.files[0]?.sha256 }] };
    expect((await rpcError(c.call('job.run', withBadTree))).code).toBe(RpcCode.ArtifactRefused);
    const withPath = { ...params, jobId: 'trav-2', job: { ...params.job, model: { ...params.job.model, path: job.model.path } } };
    const e3 = await rpcError(c.call('job.run', withPath));
    expect(e3.code).toBe(RpcCode.InvalidParams);
    expect(e3.message).toMatch(/not an artifact:<sha256> ref/);
    const unknown = { ...params, jobId: 'trav-3', job: { ...params.job, model: { ...params.job.model, path: `artifact:${'ab'.repeat(32)}` } } };
    expect((await rpcError(c.call('job.run', unknown))).code).toBe(RpcCode.ArtifactMissing);
    // engine options that name a program or file, unknown model fields and PyTorch code forms are refused
    const trt = { ...params, jobId: 'trav-8', job: { ...params.job, engine: { ...params.job.engine, options: { intraOpThreads: 1, trtexecPath: '/bin/sh' } } } };
    expect((await rpcError(c.call('job.run', trt))).message).toMatch(/options\.trtexecPath: names a program/);
    const extraField = { ...params, jobId: 'trav-9', job: { ...params.job, model: { ...params.job.model, dataDir: '/etc' } } };
    expect((await rpcError(c.call('job.run', extraField))).message).toMatch(/job\.model\.dataDir: not accepted/);
    const torch = { ...params, jobId: 'trav-10', job: { ...params.job, model: { ...params.job.model, pytorch: { kind: 'factory', path: params.job.model.path, factory: 'make' } } } };
    expect((await rpcError(c.call('job.run', torch))).message).toMatch(/pytorch: .* runs code when loaded; this agent refuses it/);
    // an unknown inputs/reference source cannot smuggle a path in (e.g. dataSets: ['/etc'])
    const smuggle = { ...params, jobId: 'trav-4', job: { ...params.job, model: { ...params.job.model, inputs: { source: 'other', dataSets: ['/etc'] } } } };
    expect((await rpcError(c.call('job.run', smuggle))).message).toMatch(/inputs\.source: expected/);
    const smuggle2 = { ...params, jobId: 'trav-5', job: { ...params.job, model: { ...params.job.model, inputs: { source: 'onnx-test-data', dataSets: ['/etc'] } } } };
    expect((await rpcError(c.call('job.run', smuggle2))).code).toBe(RpcCode.ArtifactRefused);
    const smuggle3 = { ...params, jobId: 'trav-6', job: { ...params.job, model: { ...params.job.model, reference: { source: 'onnx-test-data', dataSets: ['tree:../../etc'] } } } };
    expect((await rpcError(c.call('job.run', smuggle3))).code).toBe(RpcCode.ArtifactRefused);
    const smuggle4 = { ...params, jobId: 'trav-7', job: { ...params.job, model: { ...params.job.model, reference: { source: 'dir', path: '/etc/passwd' } } } };
    expect((await rpcError(c.call('job.run', smuggle4))).message).toMatch(/reference\.source: expected/);
    expect(readdirSync(join(workDir, 'artifacts')).every((n) => /^[0-9a-f]{64}$/.test(n))).toBe(true);
  });

  it('refuses an oversize upload, declared or streamed, and keeps nothing of it', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const limit = 8 * 1024 * 1024;
    const fake = 'cd'.repeat(32);
    const declared = await httpRequest(agent.httpBase, 'PUT', `/artifacts/${fake}`, { headers: { ...auth, 'content-length': String(limit + 1) }, body: Buffer.alloc(0) }).catch((e: Error) => ({ status: -1, body: e.message }));
    expect(declared.status).toBe(413);
    const streamed = await httpRequest(agent.httpBase, 'PUT', `/artifacts/${fake}`, { headers: { ...auth, 'transfer-encoding': 'chunked' }, body: slowBody(limit + 256 * 1024) }).catch((e: Error) => ({ status: -1, body: e.message }));
    expect([413, -1]).toContain(streamed.status);
    const c = await connect();
    const e1 = await rpcError(c.call('artifact.put', { sha256: fake, size: limit + 1, offset: 0, data: '', final: false }));
    expect(e1.code).toBe(RpcCode.ArtifactRefused);
    expect(e1.message).toMatch(/limit/);
    // declares 1 KiB, then sends more
    await c.call('artifact.put', { sha256: fake, size: 1024, offset: 0, data: Buffer.alloc(1000).toString('base64'), final: false });
    const e2 = await rpcError(c.call('artifact.put', { sha256: fake, size: 1024, offset: 1000, data: Buffer.alloc(100).toString('base64'), final: false }));
    expect(e2.code).toBe(RpcCode.ArtifactRefused);
    expect(await c.call('artifact.has', { sha256: fake })).toEqual({ present: false });
    expect(readdirSync(join(workDir, 'tmp'))).toEqual([]);
    expect(existsSync(join(workDir, 'artifacts', fake))).toBe(false);
  });

  it('stores artifacts idempotently and only when the hash matches', async () => {
    const c = await connect();
    const bytes = randomBytes(300_000);
    const h = sha(bytes);
    expect(await c.call('artifact.has', { sha256: h })).toEqual({ present: false });
    const wrong = randomBytes(300_000);
    const bad = await rpcError(c.call('artifact.put', { sha256: h, size: wrong.length, offset: 0, data: wrong.toString('base64'), final: true }));
    expect(bad.code).toBe(RpcCode.ArtifactRefused);
    expect(bad.message).toMatch(/hash/);
    expect(await c.call('artifact.has', { sha256: h })).toEqual({ present: false });
    expect(await c.upload(bytes, 100_000, 3)).toBe(h); // three chunks in flight: handled in order
    expect(await c.call('artifact.has', { sha256: h })).toEqual({ present: true, size: bytes.length });
    expect(await c.call('artifact.put', { sha256: h, size: bytes.length, offset: 0, data: '', final: false })).toEqual({ received: bytes.length, stored: true });
    expect(readFileSync(join(workDir, 'artifacts', h)).equals(bytes)).toBe(true);
    // streamed PUT: wrong content refused, right content stored, again idempotent
    const auth = { authorization: `Bearer ${TOKEN}` };
    const other = randomBytes(200_000);
    const h2 = sha(other);
    expect((await httpRequest(agent.httpBase, 'PUT', `/artifacts/${h2}`, { headers: auth, body: randomBytes(200_000) })).status).toBe(422);
    expect(await c.call('artifact.has', { sha256: h2 })).toEqual({ present: false });
    const ok = await httpRequest(agent.httpBase, 'PUT', `/artifacts/${h2}`, { headers: auth, body: other });
    expect(ok.status).toBe(201);
    expect(JSON.parse(ok.body)).toEqual({ received: other.length, stored: true });
    expect((await httpRequest(agent.httpBase, 'PUT', `/artifacts/${h2}`, { headers: auth, body: other })).status).toBe(201);
    expect(await c.call('artifact.has', { sha256: h2 })).toEqual({ present: true, size: other.length });
    expect((await httpRequest(agent.httpBase, 'HEAD', `/artifacts/${h2}`, { headers: auth })).status).toBe(200);
    expect((await httpRequest(agent.httpBase, 'HEAD', `/artifacts/${'0'.repeat(64)}`, { headers: auth })).status).toBe(404);
    expect((await httpRequest(agent.httpBase, 'HEAD', `/artifacts/${h2}`)).status).toBe(401);
    expect(readdirSync(join(workDir, 'tmp'))).toEqual([]);
  });

  it('lets two clients upload one artifact at once, and drops a disconnected client\'s partial upload', async () => {
    const a = await connect();
    const b = await connect();
    const bytes = randomBytes(200_000);
    const h = sha(bytes);
    const put = (c: TestClient, offset: number, len: number, final: boolean): Promise<unknown> =>
      c.call('artifact.put', { sha256: h, size: bytes.length, offset, data: bytes.subarray(offset, offset + len).toString('base64'), final });
    await put(a, 0, 100_000, false);
    await put(b, 0, 100_000, false);
    expect(await put(a, 100_000, 100_000, true)).toEqual({ received: bytes.length, stored: true });
    expect(await put(b, 100_000, 100_000, true)).toEqual({ received: bytes.length, stored: true });
    expect(readFileSync(join(workDir, 'artifacts', h)).equals(bytes)).toBe(true);
    const other = randomBytes(100_000);
    const c = await connectWs(agent.url, { token: TOKEN });
    await c.call('artifact.put', { sha256: sha(other), size: other.length, offset: 0, data: other.subarray(0, 50_000).toString('base64'), final: false });
    expect(readdirSync(join(workDir, 'tmp')).length).toBe(1);
    c.closeTransport();
    const deadline = Date.now() + 5000;
    while (readdirSync(join(workDir, 'tmp')).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(readdirSync(join(workDir, 'tmp'))).toEqual([]);
  });

  it('runs the bundled CNN on ONNX Runtime: outputs equal a local run bit for bit, alignment identical', async () => {
    const job = await cnnJob();
    const c = await connect();
    const params = await wireJobFor(c, job, 'cnn-1');
    const res = await c.call<JobRunResult>('job.run', params);
    const remote = decodeOutcome(res.outcome);
    const phases = c.notifications.filter((n) => n.method === 'job.progress' && (n.params as { jobId: string }).jobId === 'cnn-1').map((n) => (n.params as { progress: { phase: string } }).progress.phase);
    expect(phases).toEqual(expect.arrayContaining(['prepare', 'load', 'infer', 'measure', 'done']));
    expect(remote.allSamplesNs.length).toBeGreaterThanOrEqual(QUICK.minIterations);
    expect(remote.activation.pid).toBeGreaterThan(0);

    const runner = getRunner('onnxruntime');
    let local: RepeatOutcome;
    try {
      local = await executeRepeat(job, runner, { mode: 'accuracy-only' });
    } finally {
      await (runner as { dispose?: () => Promise<void> }).dispose?.();
    }
    expect([...remote.outputs.keys()]).toEqual([...local.outputs.keys()]);
    for (const [name, t] of local.outputs) {
      const r = remote.outputs.get(name);
      expect(r?.dtype).toBe(t.dtype);
      expect(r?.dims).toEqual(t.dims);
      const a = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      const b = Buffer.from(r?.data.buffer as ArrayBuffer, r?.data.byteOffset, r?.data.byteLength);
      expect(b.equals(a)).toBe(true);
    }
    const ref = job.model.reference?.source === 'file' ? (await readTensors(job.model.reference.path)).tensors : undefined;
    expect(ref).toBeDefined();
    const started = new Date().toISOString();
    const rRemote = buildJobResult(job, [remote], started, { reference: ref as NonNullable<typeof ref> });
    const rLocal = buildJobResult(job, [local], started, { reference: ref as NonNullable<typeof ref> });
    expect(rRemote.alignment?.length).toBeGreaterThan(0);
    expect(rRemote.alignment).toEqual(rLocal.alignment);
    expect(rRemote.status).toBe('ok');
    // the job folder is gone, the artifacts stay
    expect(readdirSync(join(workDir, 'jobs'))).toEqual([]);
  });

  it('leases the device: a second client waits in FIFO order, or gets -32001 with wait:false', async () => {
    const job = await cnnJob({ minDurationMs: 1500, maxDurationMs: 2000, targetCiHalfWidthPct: 0.001 });
    const a = await connect();
    const b = await connect();
    const pa = await wireJobFor(a, job, 'lease-a');
    const pb = await wireJobFor(b, job, 'lease-b', { mode: 'accuracy-only' });
    const order: string[] = [];
    const runA = a.call<JobRunResult>('job.run', pa).then((r) => {
      order.push('a');
      return r;
    });
    while (!a.notifications.some((n) => (n.params as { jobId?: string }).jobId === 'lease-a')) await new Promise((r) => setTimeout(r, 20));
    const busy = await rpcError(b.call('job.run', { ...pb, jobId: 'lease-b0', wait: false }));
    expect(busy.code).toBe(RpcCode.Busy);
    const runB = b.call<JobRunResult>('job.run', pb).then((r) => {
      order.push('b');
      return r;
    });
    await new Promise((r) => setTimeout(r, 100));
    const info = await b.call<InfoResult>('info');
    expect(info.busy).toBe(true);
    expect(info.queued).toBe(1);
    expect(b.notifications.some((n) => (n.params as { jobId?: string }).jobId === 'lease-b')).toBe(false);
    const [ra, rb] = await Promise.all([runA, runB]);
    expect(order).toEqual(['a', 'b']);
    expect(ra.outcome.allSamplesNs.length).toBeGreaterThan(0);
    expect(rb.outcome.outputs.length).toBeGreaterThan(0);
    const firstB = b.notifications.find((n) => (n.params as { jobId?: string }).jobId === 'lease-b');
    const lastA = a.notifications.filter((n) => (n.params as { jobId?: string }).jobId === 'lease-a').at(-1);
    expect(firstB && lastA && firstB.atMs >= lastA.atMs).toBe(true);
    const after = await a.call<InfoResult>('info');
    expect(after).toMatchObject({ busy: false, queued: 0 });
  });

  it('cancels a running job promptly (its worker ends) and a queued one', async () => {
    const job = await cnnJob({ minDurationMs: 30_000, maxDurationMs: 60_000, targetCiHalfWidthPct: 0.0001 });
    const a = await connect();
    const b = await connect();
    const pa = await wireJobFor(a, job, 'cancel-a');
    const pb = await wireJobFor(b, job, 'cancel-b');
    const runA = rpcError(a.call('job.run', pa));
    while (!a.notifications.some((n) => (n.params as { jobId?: string; progress?: { phase: string } }).jobId === 'cancel-a' && (n.params as { progress: { phase: string } }).progress.phase === 'measure')) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const runB = rpcError(b.call('job.run', pb));
    await new Promise((r) => setTimeout(r, 100));
    expect(await b.call('job.cancel', { jobId: 'cancel-b' })).toEqual({ cancelled: true });
    const eb = await runB;
    expect(eb.code).toBe(RpcCode.JobFailed);
    const workers = childPids(agent.proc.pid as number);
    expect(workers.length).toBeGreaterThan(0);
    const t0 = performance.now();
    expect(await b.call('job.cancel', { jobId: 'cancel-a' })).toEqual({ cancelled: true });
    const ea = await runA;
    const tookMs = performance.now() - t0;
    for (const w of workers) expect(alive(w)).toBe(false);
    expect(ea.code).toBe(RpcCode.JobFailed);
    expect(ea.message).toMatch(/cancelled/);
    expect(ea.data).toMatchObject({ status: 'errored', code: 'E_INFRA' });
    expect(tookMs).toBeLessThan(15_000);
    expect(await a.call('job.cancel', { jobId: 'cancel-a' })).toEqual({ cancelled: false });
    expect(await a.call<InfoResult>('info')).toMatchObject({ busy: false, queued: 0 });
    // the agent still runs jobs afterwards
    const again = await a.call<JobRunResult>('job.run', { ...(await wireJobFor(a, await cnnJob(), 'cancel-after')), mode: 'accuracy-only' });
    expect(again.outcome.outputs.length).toBeGreaterThan(0);
  });
});

describe('agent daemon security and lifecycle', () => {
  it('refuses a non-loopback listen address without a token', async () => {
    for (const listen of ['0.0.0.0:0', '[::]:0']) {
      const a = await startDaemonProcess(['--listen', listen, '--work-dir', join(tempDir('agentd-nl'), 'w')], { BENCHALIGN_AGENT_TOKEN: '' }).catch((e: Error) => e);
      expect(a).toBeInstanceOf(Error);
      expect((a as Error).message).toMatch(/agent exited with 2/);
      expect((a as Error).message).toMatch(/refusing to listen on .* without a token/);
    }
  });

  it('serves over TLS with a self-signed certificate (wss:// and https://), token still required', async () => {
    const dir = tempDir('agentd-tls');
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    } catch (e) {
      console.log(`skipped: openssl could not make a self-signed certificate: ${(e as Error).message}`);
      return;
    }
    const ca = readFileSync(cert);
    const a = await startDaemonProcess(['--listen', '127.0.0.1:0', '--work-dir', join(dir, 'w'), '--tls-cert', cert, '--tls-key', key], { BENCHALIGN_AGENT_TOKEN: TOKEN });
    try {
      expect(a.url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/rpc$/);
      expect(await httpRequest(a.httpBase, 'GET', '/healthz', { ca })).toEqual({ status: 200, body: 'ok\n' });
      await expect(connectWs(a.url, { ca, token: 'nope-nope-nope-nope' })).rejects.toThrow('HTTP 401');
      await expect(connectWs(a.url, { token: TOKEN })).rejects.toThrow(/self.signed|certificate/i);
      const c = await connectWs(a.url, { ca, token: TOKEN });
      const bytes = randomBytes(50_000);
      expect(await c.upload(bytes)).toBe(sha(bytes));
      expect(await c.call('artifact.has', { sha256: sha(bytes) })).toEqual({ present: true, size: bytes.length });
      const put = await httpRequest(a.httpBase, 'PUT', `/artifacts/${sha(Buffer.from('x'))}`, { ca, body: Buffer.from('x'), headers: { authorization: `Bearer ${TOKEN}` } });
      expect(put.status).toBe(201);
      c.closeTransport();
    } finally {
      expect(await stopProcess(a)).toBe(0);
    }
  });

  it('shuts down on SIGTERM: the running job is cancelled and answered, the process exits 0', async () => {
    const a = await startDaemonProcess(['--listen', '127.0.0.1:0', '--work-dir', join(tempDir('agentd-term'), 'w')], { BENCHALIGN_AGENT_TOKEN: TOKEN });
    const c = await connectWs(a.url, { token: TOKEN });
    const job = await cnnJob({ minDurationMs: 30_000, maxDurationMs: 60_000, targetCiHalfWidthPct: 0.0001 });
    const run = rpcError(c.call('job.run', await wireJobFor(c, job, 'term-1')));
    while (!c.notifications.some((n) => (n.params as { progress?: { phase: string } }).progress?.phase === 'measure')) await new Promise((r) => setTimeout(r, 20));
    a.proc.kill('SIGTERM');
    const e = await run;
    expect(e.code).toBe(RpcCode.JobFailed);
    expect(e.message).toMatch(/shutting down/);
    expect(await a.exited).toBe(0);
    expect(a.stderr()).toMatch(/SIGTERM: shutting down[\s\S]*stopped/);
  });
});
