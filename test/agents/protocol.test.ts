/** The agent protocol's pure parts: framing, message checks, names, job trees, outcome encoding. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  NdjsonSplitter,
  RpcCode,
  decodeOutcome,
  encodeLine,
  encodeOutcome,
  failureData,
  failureFromError,
  fromWireJob,
  isSafeTreePath,
  isSha256,
  jobLocalFiles,
  parseArtifactRef,
  parseMessage,
  rpcRequest,
  toWireJob,
} from '../../src/agents/protocol.js';
import type { Job } from '../../src/model/job.js';
import { makeTensor, type NamedTensors, type Tensor } from '../../src/tensors/tensor.js';
import { RepeatFailure, type RepeatOutcome } from '../../src/execution/execute-job.js';
import { tempDir } from './helpers.js';

describe('NDJSON framing', () => {
  it('splits lines across chunk boundaries, skips blank lines, strips CR', () => {
    const lines: string[] = [];
    const s = new NdjsonSplitter((l) => lines.push(l));
    const a = encodeLine(rpcRequest(1, 'info'));
    const b = encodeLine(rpcRequest(2, 'x', { s: 'é\\n' }));
    const all = Buffer.from(`${a}\n${b.replace('\n', '\r\n')}`);
    for (let i = 0; i < all.length; i += 3) s.push(all.subarray(i, i + 3));
    expect(lines.map((l) => JSON.parse(l).id)).toEqual([1, 2]);
    expect(JSON.parse(lines[1] as string).params.s).toBe('é\\n');
  });

  it('drops an oversize line, reports it, and resumes at the next newline', () => {
    const lines: string[] = [];
    const over: number[] = [];
    const s = new NdjsonSplitter((l) => lines.push(l), 10, (n) => over.push(n));
    s.push('0123456');
    s.push('789abcdef\nok\n');
    expect(lines).toEqual(['ok']);
    expect(over).toEqual([16]);
  });
});

describe('messages', () => {
  it('parses requests, notifications and responses, and refuses the rest with JSON-RPC codes', () => {
    expect(parseMessage('{"jsonrpc":"2.0","id":1,"method":"info"}')).toMatchObject({ id: 1, method: 'info' });
    const bad: Array<[string, number]> = [
      ['nope', RpcCode.ParseError],
      ['[]', RpcCode.InvalidRequest],
      ['{"id":1,"method":"info"}', RpcCode.InvalidRequest],
      ['{"jsonrpc":"2.0","id":{},"method":"info"}', RpcCode.InvalidRequest],
      ['{"jsonrpc":"2.0","id":1,"method":3}', RpcCode.InvalidRequest],
      ['{"jsonrpc":"2.0","id":1,"method":"x","params":"s"}', RpcCode.InvalidRequest],
      ['{"jsonrpc":"2.0","id":1}', RpcCode.InvalidRequest],
      ['{"jsonrpc":"2.0","id":1,"error":{"code":"x"}}', RpcCode.InvalidRequest],
    ];
    for (const [text, code] of bad) expect(() => parseMessage(text)).toThrow(expect.objectContaining({ code }));
  });

  it('accepts only lowercase 64-hex names and safe relative tree paths', () => {
    const h = 'a'.repeat(64);
    expect(isSha256(h)).toBe(true);
    for (const s of [h.toUpperCase(), h.slice(1), `${h}a`, `../${h.slice(3)}`, '', 42]) expect(isSha256(s)).toBe(false);
    expect(parseArtifactRef(`artifact:${h}`)).toBe(h);
    expect(parseArtifactRef(`artifact:../${h}`)).toBeUndefined();
    expect(parseArtifactRef(`/tmp/${h}`)).toBeUndefined();
    for (const p of ['model/model.onnx', 'a/b_c-1.2/test_data_set_0/input_0.pb']) expect(isSafeTreePath(p)).toBe(true);
    for (const p of ['../x', 'a/../b', '/etc/passwd', 'a//b', './a', 'a/.', 'a\\b', 'a/%2e%2e', '', 'a b']) expect(isSafeTreePath(p)).toBe(false);
  });
});

describe('jobs on the wire', () => {
  it('lays out a job with an ONNX test-data folder and external data, and resolves it back', () => {
    const dir = tempDir('proto');
    const caseDir = join(dir, 'case');
    mkdirSync(join(caseDir, 'test_data_set_0'), { recursive: true });
    for (const f of ['model.onnx', 'weights.bin', 'test_data_set_0/input_0.pb', 'test_data_set_0/output_0.pb']) writeFileSync(join(caseDir, f), f);
    const job = {
      key: 'case/onnxruntime/fp32',
      model: {
        name: 'case',
        path: join(caseDir, 'model.onnx'),
        sha256: 'x',
        shapes: {},
        inputs: { source: 'onnx-test-data', dataSets: [join(caseDir, 'test_data_set_0')] },
        reference: { source: 'onnx-test-data', dataSets: [join(caseDir, 'test_data_set_0')] },
        outputs: { '*': {} },
      },
      engine: { name: 'onnxruntime', precision: 'fp32', options: {} },
      measurement: {},
    } as unknown as Job;
    const layout = jobLocalFiles(job, [join(caseDir, 'weights.bin')]);
    expect(layout.files.map((f) => f.path).sort()).toEqual(['model/model.onnx', 'model/test_data_set_0/input_0.pb', 'model/test_data_set_0/output_0.pb', 'model/weights.bin']);
    const fakeSha = (p: string): string => (p.endsWith('model.onnx') ? '1' : p.endsWith('.bin') ? '2' : '3').repeat(64);
    const { job: wire, files } = toWireJob(job, layout, fakeSha);
    expect(wire.model.path).toBe(`artifact:${'1'.repeat(64)}`);
    expect(wire.model.inputs).toEqual({ source: 'onnx-test-data', dataSets: ['tree:model/test_data_set_0'] });
    expect(JSON.stringify(wire)).not.toContain(dir);
    expect(files).toHaveLength(4);
    const back = fromWireJob(
      wire,
      (ref) => `/agent/${ref}`,
      (ref) => `/agent/tree/${ref.slice(5)}`,
    );
    expect(back.model.path).toBe(`/agent/artifact:${'1'.repeat(64)}`);
    expect(back.model.reference).toEqual({ source: 'onnx-test-data', dataSets: ['/agent/tree/model/test_data_set_0'] });
    // a PyTorch form travels as an artifact under pytorch/
    const torchPath = join(dir, 'net.py');
    writeFileSync(torchPath, 'def make(): pass\n');
    const withTorch = { ...job, model: { ...job.model, pytorch: { kind: 'factory', path: torchPath, factory: 'make' } } } as Job;
    const l2 = jobLocalFiles(withTorch);
    expect(l2.files.map((f) => f.path)).toContain('pytorch/net.py');
    const w2 = toWireJob(withTorch, l2, (p) => (p === torchPath ? '4'.repeat(64) : fakeSha(p)));
    expect((w2.job.model as { pytorch?: unknown }).pytorch).toEqual({ kind: 'factory', path: `artifact:${'4'.repeat(64)}`, factory: 'make' });
    const b2 = fromWireJob(w2.job, (ref) => `/agent/${ref}`, (ref) => ref);
    expect((b2.model as { pytorch?: { path: string } }).pytorch?.path).toBe(`/agent/artifact:${'4'.repeat(64)}`);
  });
});

describe('outcomes on the wire', () => {
  it('round-trips outputs bit for bit (float32 with NaN payloads, int64, bool, float16, bfloat16) and the rest as JSON', () => {
    const f32 = new Float32Array([1.5, -0, Number.NaN, 3.4e38]);
    new Uint32Array(f32.buffer)[2] = 0x7fc00123;
    const outputs: NamedTensors = new Map<string, Tensor>([
      ['f', makeTensor('float32', [2, 2], f32)],
      ['i', makeTensor('int64', [2], new BigInt64Array([-(2n ** 62n), 7n]))],
      ['b', makeTensor('bool', [3], new Uint8Array([1, 0, 1]))],
      ['h', makeTensor('float16', [1], new Uint16Array([0x3c00]))],
      ['bf', makeTensor('bfloat16', [2], new Uint16Array([0x3f80, 0xc000]))],
    ]);
    const o = { activation: { loadMs: 1, pid: 2, inputs: [], outputs: [] }, outputs, allSamplesNs: [1, 2, 3], warmupDiscarded: 1, warmupHitMax: false, throughput: [], resourceSamples: [], resourceMarks: [], steadyInferences: 2, notes: ['n'] } as RepeatOutcome;
    const wire = JSON.parse(JSON.stringify(encodeOutcome(o)));
    const back = decodeOutcome(wire);
    expect([...back.outputs.keys()]).toEqual(['f', 'i', 'b', 'h', 'bf']);
    for (const [name, t] of outputs) {
      const r = back.outputs.get(name);
      expect(r?.dtype).toBe(t.dtype);
      expect(r?.dims).toEqual(t.dims);
      expect(Buffer.from(r?.data.buffer as ArrayBuffer, r?.data.byteOffset, r?.data.byteLength).equals(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength))).toBe(true);
    }
    expect({ ...back, outputs: undefined }).toEqual({ ...o, outputs: undefined });
    expect(() => decodeOutcome({ ...wire, outputs: [{ name: 'x', npy: Buffer.from('garbage').toString('base64') }] })).toThrow(/outcome\.outputs\[0\]/);
  });

  it('maps a RepeatFailure to -32004 data and back', () => {
    const f = new RepeatFailure('skipped', 'no string tensors', 'tail', 'E_UNSUPPORTED');
    const back = failureFromError({ code: RpcCode.JobFailed, message: f.message, data: failureData(f) });
    expect(back).toBeInstanceOf(RepeatFailure);
    expect([back.status, back.message, back.stderrTail, back.code]).toEqual(['skipped', 'no string tensors', 'tail', 'E_UNSUPPORTED']);
    expect(failureFromError({ code: RpcCode.JobFailed, message: 'm' }).status).toBe('errored');
  });
});
