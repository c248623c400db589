/**
 * Per-layer profiles, pure: the summary (hand-worked numbers), op families across engines, the
 * slower-op comparison, and ONNX Runtime's trace JSON parser on a hand-written trace.
 */
import { describe, expect, it } from 'vitest';
import { opFamily, slowerOps, summarizeProfile, type RawProfile } from '../../src/metrics/profile.js';
import { parseOrtProfile } from '../../src/runners/onnxruntime/profile.js';

const raw: RawProfile = {
  profiler: 'test',
  iterations: 4,
  wallNs: 4_000_000, // 1 ms per inference
  layers: [
    { name: 'conv1', opType: 'Conv', timeNs: 2_000_000, count: 4 },
    { name: 'conv2', opType: 'Conv', timeNs: 1_000_000, count: 4 },
    { name: 'relu', opType: 'Relu', timeNs: 600_000, count: 4 },
    { name: 'fc', opType: 'Gemm', timeNs: 400_000, count: 4 },
    { name: 'conv1', opType: 'Conv', timeNs: 0, count: 0 },
  ],
};

describe('summarizeProfile', () => {
  it('gives per-layer and per-op time per inference and share, slowest first', () => {
    const s = summarizeProfile(raw, 0.8);
    // 4 ms of layer time over 4 inferences = 1 ms; conv1 2 ms / 4 = 0.5 ms = 50%
    expect(s.layerMsPerInference).toBeCloseTo(1, 12);
    expect(s.wallMsPerInference).toBeCloseTo(1, 12);
    expect(s.layers.map((l) => [l.name, l.msPerInference, l.sharePct, l.callsPerInference])).toEqual([
      ['conv1', 0.5, 50, 1],
      ['conv2', 0.25, 25, 1],
      ['relu', 0.15, 15, 1],
      ['fc', 0.1, 10, 1],
    ]);
    expect(s.ops.map((o) => [o.opType, o.msPerInference, o.sharePct, o.layers])).toEqual([
      ['Conv', 0.75, 75, 2],
      ['Relu', 0.15, 15, 1],
      ['Gemm', 0.1, 10, 1],
    ]);
    // 1 ms profiled vs 0.8 ms timed mean: +25 %
    expect(s.overheadPct).toBeCloseTo(25, 10);
  });

  it('has no overhead without a timed mean, and no shares without time', () => {
    const s = summarizeProfile({ ...raw, layers: [{ name: 'x', opType: 'Add', timeNs: 0, count: 1 }] });
    expect(s.overheadPct).toBeUndefined();
    expect(s.ops[0]?.sharePct).toBe(0);
  });
});

describe('op families across engines', () => {
  it('lines up the engines\' names for the same op', () => {
    for (const [name, family] of [
      ['Conv', 'conv'],
      ['Convolution', 'conv'],
      ['aten::mkldnn_convolution', 'conv'],
      ['FullyConnected', 'matmul'],
      ['Gemm', 'matmul'],
      ['aten::addmm', 'matmul'],
      ['BinaryOp', 'eltwise'],
      ['Add', 'eltwise'],
      ['GlobalAveragePool', 'pool/reduce'],
      ['Raster', 'raster'],
      // XNNPACK's names (ExecuTorch's ETDump), TVM's kernels, OpenCV-DNN's layer types
      ['Convolution (NHWC, F32) IGEMM', 'conv'],
      ['Fully Connected (NC, F32) GEMM', 'matmul'],
      ['Clamp (NC)', 'activation'],
      ['Static Reshape (NC)', 'layout'],
      ['Mean (ND) Reduce2', 'pool/reduce'],
      ['multiply', 'eltwise'],
      ['conv2d', 'conv'],
      ['NaryEltwise', 'eltwise'],
      ['Reduce2', 'pool/reduce'],
      // LiteRT's builtin kernels (TFLite op codes)
      ['CONV_2D', 'conv'],
      ['FULLY_CONNECTED', 'matmul'],
      ['BATCH_MATMUL', 'matmul'],
    ] as const) {
      expect(opFamily(name), name).toBe(family);
    }
  });

  it('names the families that make one engine slower than another', () => {
    const a = summarizeProfile({ ...raw, layers: [{ name: 'c', opType: 'Convolution', timeNs: 4_000_000, count: 4 }, { name: 'f', opType: 'FullyConnected', timeNs: 400_000, count: 4 }] });
    const b = summarizeProfile(raw);
    // a: conv 1 ms, matmul 0.1 ms; b: conv 0.75, activation 0.15, matmul 0.1
    expect(slowerOps(a, b)).toEqual([{ family: 'conv', aMs: 1, bMs: 0.75, deltaMs: 0.25 }]);
    expect(slowerOps(b, a).map((x) => x.family)).toEqual(['activation']);
  });
});

describe('parseOrtProfile', () => {
  const trace = [
    { cat: 'Session', name: 'model_run', ts: 100, dur: 50 },
    { cat: 'Node', name: 'conv_kernel_time', ts: 110, dur: 30, args: { op_name: 'Conv' } },
    { cat: 'Session', name: 'model_run', ts: 200, dur: 50 },
    { cat: 'Node', name: 'conv_fence_before', ts: 205, dur: 1, args: { op_name: 'Conv' } },
    { cat: 'Node', name: 'conv_kernel_time', ts: 210, dur: 20, args: { op_name: 'Conv' } },
    { cat: 'Node', name: 'relu_kernel_time', ts: 232, dur: 5, args: { op_name: 'Relu' } },
    { cat: 'Session', name: 'model_run', ts: 300, dur: 50 },
    { cat: 'Node', name: 'conv_kernel_time', ts: 310, dur: 22, args: { op_name: 'Conv' } },
    { cat: 'Node', name: 'relu_kernel_time', ts: 333, dur: 7, args: { op_name: 'Relu' } },
  ];

  it('sums kernel times per node in ns, skipping the warm-up run', () => {
    const p = parseOrtProfile(trace, 1);
    expect(p.runs).toBe(2);
    expect(p.layers).toEqual([
      { name: 'conv', opType: 'Conv', timeNs: 42_000, count: 2 },
      { name: 'relu', opType: 'Relu', timeNs: 12_000, count: 2 },
    ]);
    expect(parseOrtProfile(trace).layers[0]?.timeNs).toBe(72_000);
  });

  it('reads nothing from a file that is not a trace', () => {
    expect(parseOrtProfile({ not: 'a trace' })).toEqual({ runs: 0, layers: [] });
  });
});
