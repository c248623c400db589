/**
 * `benchalign agent stdio` as a real process: NDJSON on its pipes, stdout carries protocol
 * lines only, a real ONNX Runtime job, a timeout, and a clean exit when stdin ends.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpcCode, decodeOutcome, type InfoResult, type JobRunResult } from '../../src/agents/protocol.js';
import { getRunner } from '../../src/runners/registry.js';
import { expandJobs, loadSuite, suiteFromOnnxTests } from '../../src/suite/index.js';
import { type Job } from '../../src/model/job.js';
import { readOnnxTestData } from '../../src/tensors/onnx-test-data.js';
import { executeRepeat } from '../../src/execution/execute-job.js';
import { RpcFailure, startStdioAgent, stopProcess, wireJobFor } from './agent-harness.js';
import { QUICK, REPO, childPids, cnnModel, tempDir, writeSuite } from './helpers.js';

const ORT = { name: 'onnxruntime', precision: 'fp32', options: { intraOpThreads: 1, interOpThreads: 1 } };

async function cnnJob(measurement: Record<string, unknown> = {}): Promise<Job> {
  const suite = await loadSuite(writeSuite(tempDir('agents-suite'), { models: [cnnModel()], engines: [ORT], measurement: { ...QUICK, ...measurement } }));
  const job = expandJobs(suite)[0];
  if (!job) throw new Error('no job');
  return job;
}


describe('agent on stdio', () => {
  let agent: ReturnType<typeof startStdioAgent>;
  beforeAll(() => {
    agent = startStdioAgent(['--work-dir', join(tempDir('agents'), 'w'), '--labels', 'board=stdio-test']);
  });
  afterAll(async () => {
    if (agent) await stopProcess(agent);
  });

  it('answers info, and a parse error or an unknown method with the JSON-RPC codes', async () => {
    const info = await agent.client.call<InfoResult>('info');
    expect(info.labels).toMatchObject({ board: 'stdio-test', arch: process.arch });
    expect(info.protocolVersion).toBe(2);
    agent.client.sendRaw('{not json');
    agent.client.sendRaw('{"jsonrpc":"1.0","id":5,"method":"info"}');
    await expect(agent.client.call('nope')).rejects.toMatchObject({ code: RpcCode.MethodNotFound });
    expect(agent.client.orphanErrors.map((e) => e.code)).toEqual([RpcCode.ParseError, RpcCode.InvalidRequest]);
    await expect(agent.client.call('artifact.has', [])).rejects.toMatchObject({ code: RpcCode.InvalidParams });
  });

  it('runs the bundled CNN: outputs equal a local run bit for bit; stdout carried only protocol lines', async () => {
    const job = await cnnJob();
    const res = await agent.client.call<JobRunResult>('job.run', await wireJobFor(agent.client, job, 'stdio-1', { mode: 'accuracy-only' }));
    const remote = decodeOutcome(res.outcome);
    const runner = getRunner('onnxruntime');
    try {
      const local = await executeRepeat(job, runner, { mode: 'accuracy-only' });
      expect([...remote.outputs.keys()]).toEqual([...local.outputs.keys()]);
      for (const [name, t] of local.outputs) {
        const r = remote.outputs.get(name);
        expect(r && Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength).equals(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength))).toBe(true);
      }
    } finally {
      await (runner as { dispose?: () => Promise<void> }).dispose?.();
    }
    expect(agent.client.notifications.filter((n) => n.method === 'job.progress').length).toBeGreaterThan(0);
    expect(agent.badLines).toEqual([]);
  });

  it('runs an ONNX test-data case (folder refs, test_data_set_0 layout kept): outputs equal the case\'s expected outputs', async () => {
    const caseDir = join(REPO, 'test/fixtures/generated/onnx_node_tests/test_add');
    const job = expandJobs(await suiteFromOnnxTests(caseDir, ['onnxruntime']))[0] as Job;
    expect(job.model.inputs.source).toBe('onnx-test-data');
    const params = await wireJobFor(agent.client, job, 'stdio-onnx-tests', { mode: 'accuracy-only' });
    expect(params.files.map((f) => f.path).sort()).toEqual(['model/model.onnx', 'model/test_data_set_0/input_0.pb', 'model/test_data_set_0/input_1.pb', 'model/test_data_set_0/output_0.pb']);
    expect(JSON.stringify(params.job)).not.toContain(REPO);
    const remote = decodeOutcome((await agent.client.call<JobRunResult>('job.run', params)).outcome);
    const expected = (await readOnnxTestData(caseDir, 0)).sets[0]?.outputs;
    expect(expected?.size).toBe(1);
    for (const [name, t] of expected ?? new Map()) {
      const r = remote.outputs.get(name);
      expect(r?.dims).toEqual(t.dims);
      expect(Array.from(r?.data as Float32Array)).toEqual(Array.from(t.data as Float32Array));
    }
  });

  it('keeps the engine worker between jobs when fresh is false, and ends it when fresh is true', async () => {
    const job = await cnnJob();
    const pid = agent.proc.pid as number;
    const before = childPids(pid);
    await agent.client.call('job.run', await wireJobFor(agent.client, job, 'stdio-warm', { mode: 'accuracy-only', fresh: false }));
    const warm = childPids(pid).filter((p) => !before.includes(p));
    expect(warm.length).toBe(1);
    await agent.client.call('job.run', await wireJobFor(agent.client, job, 'stdio-warm-2', { mode: 'accuracy-only', fresh: true }));
    expect(childPids(pid).filter((p) => !before.includes(p))).toEqual([]);
  });

  it('fails a job that runs past timeoutMs with E_TIMEOUT, and keeps serving', async () => {
    const job = await cnnJob({ minDurationMs: 30_000, maxDurationMs: 60_000, targetCiHalfWidthPct: 0.0001 });
    const t0 = performance.now();
    const err = await agent.client.call('job.run', await wireJobFor(agent.client, job, 'stdio-timeout', { timeoutMs: 1500 })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RpcFailure);
    expect((err as RpcFailure).code).toBe(RpcCode.JobFailed);
    expect((err as RpcFailure).data).toMatchObject({ status: 'errored', code: 'E_TIMEOUT' });
    expect(performance.now() - t0).toBeLessThan(20_000);
    expect(await agent.client.call<InfoResult>('info')).toMatchObject({ busy: false, queued: 0 });
  });

  it('returns outputs far larger than a request may be (12 MiB tensor, 16 MiB of base64 in one line)', async () => {
    const python = join(REPO, '.venv/bin/python');
    if (!existsSync(python)) {
      console.log('skipped: no .venv/bin/python to write the Identity model (benchalign engines setup makes it)');
      return;
    }
    const dir = tempDir('agents-big');
    const model = join(dir, 'identity.onnx');
    const script = [
      'import onnx, sys',
      'from onnx import helper, TensorProto',
      'x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 1024, 1024])',
      'y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 1024, 1024])',
      'g = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "big", [x], [y])',
      'm = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])',
      'm.ir_version = 8',
      'onnx.save(m, sys.argv[1])',
    ].join('\n');
    execFileSync(python, ['-c', script, model]);
    const suite = await loadSuite(writeSuite(dir, { models: [{ name: 'big', path: model, inputs: { source: 'random', seed: 7 } }], engines: [ORT], measurement: QUICK }));
    const job = expandJobs(suite)[0] as Job;
    const res = await agent.client.call<JobRunResult>('job.run', await wireJobFor(agent.client, job, 'stdio-big', { mode: 'accuracy-only' }));
    expect(res.outcome.outputs[0]?.npy.length).toBeGreaterThan(16 * 1024 * 1024);
    const remote = decodeOutcome(res.outcome).outputs.get('y');
    const runner = getRunner('onnxruntime');
    try {
      const local = (await executeRepeat(job, runner, { mode: 'accuracy-only' })).outputs.get('y');
      expect(remote?.dims).toEqual([1, 3, 1024, 1024]);
      expect(local && remote && Buffer.from(remote.data.buffer, remote.data.byteOffset, remote.data.byteLength).equals(Buffer.from(local.data.buffer, local.data.byteOffset, local.data.byteLength))).toBe(true);
    } finally {
      await (runner as { dispose?: () => Promise<void> }).dispose?.();
    }
  });

  it('answers a failing job with -32004 whose data mirrors RepeatFailure (unknown engine: E_ENGINE_MISSING)', async () => {
    const job = await cnnJob();
    const params = await wireJobFor(agent.client, job, 'stdio-missing', { mode: 'accuracy-only' });
    const err = await agent.client.call('job.run', { ...params, job: { ...params.job, engine: { ...params.job.engine, name: 'no-such-engine' } } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RpcFailure);
    expect((err as RpcFailure).code).toBe(RpcCode.JobFailed);
    expect((err as RpcFailure).message).toMatch(/unknown engine "no-such-engine"/);
    expect((err as RpcFailure).data).toMatchObject({ status: 'errored', code: 'E_ENGINE_MISSING' });
  });

  it('exits 0 when stdin ends', async () => {
    agent.client.closeTransport();
    const code = await Promise.race([agent.exited, new Promise<string>((r) => setTimeout(() => r('still running'), 30_000))]);
    if (code !== 0) console.log(`agent stderr: ${agent.stderr()}\nchildren: ${childPids(agent.proc.pid as number).join(',')}`);
    expect(code).toBe(0);
    expect(agent.stderr()).toMatch(/stopped/);
    expect(agent.badLines).toEqual([]);
  });
});
