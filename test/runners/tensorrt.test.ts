/**
 * TensorRT. No GPU and no TensorRT exist on the development machine, so most of this file
 * tests what runs without them: options, the precision table (TypeScript and the Python
 * worker's copy, compared), optimization profiles from the real bundled models, trtexec argv
 * building, parsing of --exportTimes/--exportOutput fixtures written from trtexec's
 * documented format, plan-cache keying, and the availability reason. The last block runs
 * the real engine on the bundled models and skips, naming what it needs, where TensorRT
 * and an NVIDIA GPU are absent (BENCHALIGN_REQUIRE_ENGINES=tensorrt turns that into a failure).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conversionKey } from '../../src/runners/convert-cache.js';
import { pythonPath, pythonWorkersDir } from '../../src/runners/python/env.js';
import { getRunner } from '../../src/runners/registry.js';
import { NEEDS_TENSORRT, readBuildInfo, tensorRtVersionFromBanner } from '../../src/runners/tensorrt/build-info.js';
import { optimizationProfiles, parseTrtOptions, trtPrecisionPlan, TRT_DEFAULTS, type TrtOptions } from '../../src/runners/tensorrt/options.js';
import { planCacheKey, type PlanBuildSettings } from '../../src/runners/tensorrt/runner.js';
import { parseTrtexecOutput, parseTrtexecTimes, trtexecBuildArgv, trtexecRunArgv } from '../../src/runners/tensorrt/trtexec.js';
import { inspectModelBytes } from '../../src/tensors/inspect.js';
import type { Precision } from '../../src/model/record.js';
import { MODELS, cnnModel } from '../agents/helpers.js';
import { engineAvailability, misaligned, runEngineOnBundled, expectBundledAligned } from './engine-suite.js';
import { FIXTURES, REPO } from './helpers.js';

const TRT_FIXTURES = join(REPO, 'test/fixtures/tensorrt');
const modelInputs = (name: string) => inspectModelBytes(readFileSync(join(MODELS, name, 'model.onnx')), name).inputs;
const opts = (o: Partial<TrtOptions> = {}): TrtOptions => ({ ...TRT_DEFAULTS, ...o });

describe('tensorrt options', () => {
  it('fills defaults: auto backend, device 0, TF32 off, builder level 3', () => {
    expect(parseTrtOptions({})).toEqual({ backend: 'auto', device: 0, tf32: false, builderOptimizationLevel: 3, timing: 'host' });
    expect(parseTrtOptions({ backend: 'trtexec', tf32: true, workspaceMiB: 1024, maxBatchSize: 8 })).toMatchObject({ backend: 'trtexec', tf32: true, workspaceMiB: 1024, maxBatchSize: 8 });
  });

  it('reports every bad option at once, each with its key', () => {
    let msg = '';
    try {
      parseTrtOptions({ backend: 'cuda', tf32: 'yes', builderOptimizationLevel: 9, fast: 1, timing: 'wall', profiles: { x: { min: [1], opt: [4], max: [2] } } });
    } catch (e) {
      expect(e).toMatchObject({ code: 'E_CONFIG' });
      msg = (e as Error).message;
    }
    expect(msg).toContain('options.fast: unknown option');
    expect(msg).toContain('options.backend: expected one of auto|python|trtexec, got "cuda"');
    expect(msg).toContain('options.tf32: expected true or false');
    expect(msg).toContain('options.builderOptimizationLevel: expected an integer 0..5, got 9');
    expect(msg).toContain('options.profiles.x: expected min <= opt <= max');
    expect(msg).toContain('options.timing: expected one of host|events, got "wall"');
  });
});

/** The precision cases both tables must agree on: [precision, tf32, hasQdq]. */
const PRECISION_CASES: Array<[Precision, boolean, boolean]> = [
  ['fp32', false, false],
  ['fp32', true, false],
  ['fp16', false, false],
  ['fp16', true, false],
  ['bf16', false, false],
  ['int8', false, false],
  ['int8', false, true],
];

describe('tensorrt precision table', () => {
  it('fp32 clears TF32 unless allowed, and records tf32 when allowed', () => {
    expect(trtPrecisionPlan('fp32', false, false)).toEqual({ fp16: false, bf16: false, int8: false, tf32: false, effectivePrecision: 'fp32', notes: [] });
    const tf32 = trtPrecisionPlan('fp32', true, false);
    expect(tf32).toMatchObject({ tf32: true, effectivePrecision: 'tf32' });
    expect(tf32.notes.join(' ')).toMatch(/TF32 allowed/);
  });

  it('fp16 sets FP16 and says TensorRT may keep fp32 kernels; int8 without Q/DQ is recorded as fp32', () => {
    expect(trtPrecisionPlan('fp16', false, false)).toMatchObject({ fp16: true, int8: false, tf32: false, effectivePrecision: 'fp16' });
    const int8 = trtPrecisionPlan('int8', false, false);
    expect(int8).toMatchObject({ int8: true, effectivePrecision: 'fp32' });
    expect(int8.notes[0]).toMatch(/no Q\/DQ nodes/);
    expect(trtPrecisionPlan('int8', false, true)).toMatchObject({ int8: true, effectivePrecision: 'int8' });
  });
});

const hasPython = existsSync(pythonPath());
if (!hasPython) console.log(`skipped: the Python worker checks need the venv at ${pythonPath()}`);

/** Runs Python code with benchalign_worker importable (no tensorrt needed) and parses its JSON stdout. */
function py(code: string): unknown {
  const r = spawnSync(pythonPath(), ['-c', code], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: pythonWorkersDir() }, timeout: 60_000 });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

describe.skipIf(!hasPython)('tensorrt Python worker, pure pieces (imported without tensorrt)', () => {
  it('precision_plan agrees with the TypeScript table on every case', () => {
    const got = py(`
import json
from benchalign_worker.tensorrt_worker import precision_plan
cases = json.loads(${JSON.stringify(JSON.stringify(PRECISION_CASES))})
print(json.dumps([precision_plan(p, t, q) for p, t, q in cases]))`) as unknown[];
    expect(got).toEqual(PRECISION_CASES.map(([p, t, q]) => trtPrecisionPlan(p, t, q)));
  });

  it('builder_flags: FP16 set and TF32 cleared for fp16; nothing cleared with tf32; TensorRT 11 without FP16 is refused', () => {
    const got = py(`
import json
from benchalign_worker.tensorrt_worker import precision_plan, builder_flags
from benchalign_worker.protocol import WorkerError
flags = {"FP16", "BF16", "INT8", "TF32"}
out = [builder_flags(precision_plan("fp16", False, False), flags), builder_flags(precision_plan("fp32", True, False), flags),
       builder_flags(precision_plan("int8", False, True), flags)]
try:
    builder_flags(precision_plan("fp16", False, False), {"TF32"})
    out.append("no error")
except WorkerError as e:
    out.append([e.benchalign_code, str(e)])
# a GPU without TF32 (before Ampere) records fp32 even when TF32 is allowed
out.append(precision_plan("fp32", True, False, tf32_capable=False)["effectivePrecision"])
print(json.dumps(out))`) as unknown[];
    expect(got[0]).toEqual([['FP16'], ['TF32']]);
    expect(got[1]).toEqual([[], []]);
    expect(got[2]).toEqual([['INT8'], ['TF32']]);
    expect(got[3]).toEqual(['E_UNSUPPORTED', expect.stringContaining('no BuilderFlag.FP16 (TensorRT 11')]);
    expect(got[4]).toBe('fp32');
  });

  it('check_spec names every problem of a bad build spec; missing_profiles names dynamic inputs without one', () => {
    const got = py(`
import json
from benchalign_worker.tensorrt_worker import check_spec, missing_profiles
from benchalign_worker.protocol import WorkerError
try:
    check_spec({"onnx": "", "precision": "fp8", "device": -1, "profiles": {"x": {"min": [2], "opt": [1], "max": [3]}}})
    msg = "no error"
except WorkerError as e:
    msg = [e.benchalign_code, str(e)]
print(json.dumps([msg, missing_profiles([("input", [-1, 3, 32, 32]), ("ids", [1, 16])], {})]))`) as [unknown, string[]];
    const [code, msg] = got[0] as [string, string];
    expect(code).toBe('E_CONFIG');
    for (const part of ['onnx: expected a file path', 'plan: expected a file path', "precision: expected one of fp32|fp16|bf16|int8, got 'fp8'", 'device: expected an integer 0..63', 'profiles.x: expected min <= opt <= max']) {
      expect(msg).toContain(part);
    }
    expect(got[1]).toEqual(['input input has dynamic dims [-1, 3, 32, 32] and no optimization profile (pin its shape in the suite or set options.profiles)']);
  });

  it('describe_parser_error formats an ONNX parser error, leaving out accessors an older TensorRT lacks', () => {
    const got = py(`
import json
from benchalign_worker.tensorrt_worker import describe_parser_error
class Full:  # stands in for tensorrt.ParserError (TensorRT 10 accessors)
    def node(self): return 3
    def node_name(self): return "/conv/Conv"
    def node_operator(self): return "Conv"
    def desc(self): return "Invalid weights"
    def code(self): return "ErrorCode.INVALID_NODE"
class Old:  # TensorRT 8.x: no node_name/node_operator
    def node(self): return -1
    def desc(self): return "unsupported graph"
    def code(self): return "ErrorCode.UNSUPPORTED_GRAPH"
print(json.dumps([describe_parser_error(Full()), describe_parser_error(Old())]))`);
    expect(got).toEqual(['node 3 (/conv/Conv, Conv): Invalid weights [ErrorCode.INVALID_NODE]', 'graph: unsupported graph [ErrorCode.UNSUPPORTED_GRAPH]']);
  });

  it('the worker answers hello without tensorrt with E_ENGINE_MISSING naming what it needs', () => {
    const r = spawnSync(pythonPath(), ['-m', 'benchalign_worker.tensorrt_worker'], {
      input: '{"jsonrpc":"2.0","id":1,"method":"hello"}\n',
      encoding: 'utf8',
      env: { ...process.env, PYTHONPATH: pythonWorkersDir() },
      timeout: 60_000,
    });
    const res = JSON.parse(r.stdout.trim()) as { error?: { message: string; data: { benchalignCode: string } }; result?: { version: string } };
    if (res.result) {
      console.log(`skipped: tensorrt is importable here (version ${res.result.version}); the missing-engine answer cannot be shown`);
      return;
    }
    expect(res.error?.data.benchalignCode).toBe('E_ENGINE_MISSING');
    expect(res.error?.message).toContain(NEEDS_TENSORRT);
  });
});

describe('tensorrt optimization profiles (from the bundled models)', () => {
  it('the CNN (dynamic batch) gets min = opt = max = the pinned shape; maxBatchSize widens the batch dim to 1..N', () => {
    const inputs = modelInputs('cnn');
    expect(optimizationProfiles(inputs, { input: [1, 3, 32, 32] }, opts())).toEqual({
      profiles: { input: { min: [1, 3, 32, 32], opt: [1, 3, 32, 32], max: [1, 3, 32, 32] } },
      notes: [],
    });
    expect(optimizationProfiles(inputs, { input: [2, 3, 32, 32] }, opts({ maxBatchSize: 8 })).profiles).toEqual({
      input: { min: [1, 3, 32, 32], opt: [2, 3, 32, 32], max: [8, 3, 32, 32] },
    });
  });

  it('an unpinned dynamic batch builds for batch 1 and says so; a static model (the transformer) needs no profile', () => {
    const plan = optimizationProfiles(modelInputs('cnn'), undefined, opts());
    expect(plan.profiles).toEqual({ input: { min: [1, 3, 32, 32], opt: [1, 3, 32, 32], max: [1, 3, 32, 32] } });
    expect(plan.notes).toEqual(['input input [batch, 3, 32, 32]: no pinned shape, profile built for batch 1']);
    expect(optimizationProfiles(modelInputs('transformer'), { input_ids: [1, 16] }, opts())).toEqual({ profiles: {}, notes: [] });
  });

  it('explicit profiles are used as given; every shape problem is reported at once (E_SHAPE)', () => {
    const given = { input: { min: [1, 3, 32, 32], opt: [4, 3, 32, 32], max: [16, 3, 32, 32] } };
    expect(optimizationProfiles(modelInputs('cnn'), undefined, opts({ profiles: given })).profiles).toEqual(given);
    let msg = '';
    try {
      optimizationProfiles(modelInputs('transformer'), { input_ids: [1, 32], ids: [1] }, opts({ profiles: { input_ids: { min: [1, 16], opt: [1, 16], max: [1, 16] } } }));
    } catch (e) {
      expect(e).toMatchObject({ code: 'E_SHAPE' });
      msg = (e as Error).message;
    }
    expect(msg).toContain('shapes.ids: the model has no input ids (inputs: input_ids)');
    expect(msg).toContain("shapes.input_ids: [1, 32] does not match the model's static shape [1, 16]");
    expect(msg).toContain('options.profiles.input_ids: the input has the static shape [1, 16] and needs no profile');
    expect(() => optimizationProfiles([{ name: 'x', dtype: 'float32', shape: [1, 'seq', 'dim'] }], undefined, opts())).toThrow(
      /input x has dynamic dims \[1, seq, dim\]: pin its shape in the suite \(models\[\]\.shapes\.x\) or give options\.profiles\.x/,
    );
  });
});

describe('trtexec argv (an array, never a shell line)', () => {
  const profiles = { input: { min: [1, 3, 32, 32], opt: [2, 3, 32, 32], max: [8, 3, 32, 32] } };

  it('builds fp32 with TF32 cleared, fp16 and int8 with their flags, profiles as min/opt/maxShapes', () => {
    expect(trtexecBuildArgv({ trtexec: '/opt/trt/bin/trtexec', onnxPath: '/m/model.onnx', planPath: '/c/model.plan', precision: trtPrecisionPlan('fp32', false, false), profiles: {}, options: opts() })).toEqual([
      '/opt/trt/bin/trtexec',
      '--onnx=/m/model.onnx',
      '--saveEngine=/c/model.plan',
      '--skipInference',
      '--device=0',
      '--noTF32',
      '--builderOptimizationLevel=3',
    ]);
    expect(
      trtexecBuildArgv({ trtexec: 'trtexec', onnxPath: '/m/a b.onnx', planPath: '/c/p.plan', precision: trtPrecisionPlan('fp16', true, false), profiles, options: opts({ device: 1, workspaceMiB: 2048, builderOptimizationLevel: 5 }) }),
    ).toEqual([
      'trtexec',
      '--onnx=/m/a b.onnx',
      '--saveEngine=/c/p.plan',
      '--skipInference',
      '--device=1',
      '--fp16',
      '--builderOptimizationLevel=5',
      '--memPoolSize=workspace:2048',
      '--minShapes=input:1x3x32x32',
      '--optShapes=input:2x3x32x32',
      '--maxShapes=input:8x3x32x32',
    ]);
    expect(trtexecBuildArgv({ trtexec: 't', onnxPath: 'm', planPath: 'p', precision: trtPrecisionPlan('int8', false, true), profiles: {}, options: opts() })).toContain('--int8');
  });

  it('runs a plan for exactly N iterations with no warm-up or minimum duration, its inputs loaded from raw files', () => {
    expect(
      trtexecRunArgv({
        trtexec: 'trtexec',
        planPath: '/c/model.plan',
        device: 0,
        shapes: { input: [2, 3, 32, 32] },
        inputFiles: { input: '/w/input0.bin', 'mask:0': '/w/input1.bin' },
        iterations: 50,
        exportTimes: '/w/times.json',
      }),
    ).toEqual([
      'trtexec',
      '--loadEngine=/c/model.plan',
      '--device=0',
      '--shapes=input:2x3x32x32',
      "--loadInputs=input:/w/input0.bin,'mask:0':/w/input1.bin",
      '--warmUp=0',
      '--duration=0',
      '--iterations=50',
      '--useSpinWait',
      '--exportTimes=/w/times.json',
    ]);
  });

  it('refuses names and paths its spec syntax cannot carry, and iteration counts below 1', () => {
    const base = { trtexec: 't', planPath: 'p', device: 0, shapes: {}, iterations: 1 };
    expect(() => trtexecRunArgv({ ...base, inputFiles: { 'a,b': '/w/x.bin' } })).toThrow(/tensor name "a,b" cannot be written in a trtexec spec/);
    expect(() => trtexecRunArgv({ ...base, inputFiles: { a: '/w/x:y.bin' } })).toThrow(/cannot be written in a --loadInputs spec/);
    expect(() => trtexecRunArgv({ ...base, inputFiles: {}, iterations: 0 })).toThrow(/iterations must be an integer >= 1/);
  });
});

describe('trtexec --exportTimes and --exportOutput parsing (fixtures from the documented format)', () => {
  const timesFile = join(TRT_FIXTURES, 'times.json');
  const outputFile = join(TRT_FIXTURES, 'output.json');

  it('the fixture is self-consistent: latencyMs = h2dMs + computeMs + d2hMs in every row', () => {
    const rows = JSON.parse(readFileSync(timesFile, 'utf8')) as Array<Record<string, number>>;
    for (const r of rows) expect(r.latencyMs).toBeCloseTo(r.h2dMs! + r.computeMs! + r.d2hMs!, 12);
  });

  it('drops warm-up iterations and gives latency samples, wall time and the H2D/compute/D2H split in ns (worked by hand)', () => {
    const t = parseTrtexecTimes(readFileSync(timesFile, 'utf8'), timesFile, 1);
    expect(t.warmupCount).toBe(1);
    expect(t.samplesNs).toEqual([530_000, 520_000, 640_000]);
    expect(t.wallNs).toBe(2_640_000); // 3.64 ms (last D2H end) - 1.00 ms (first timed H2D start)
    expect(t.phases).toEqual({ h2dNs: [20_000, 25_000, 20_000], computeNs: [500_000, 480_000, 600_000], d2hNs: [10_000, 15_000, 20_000] });
    expect(t.enqueueNs).toEqual([40_000, 30_000, 50_000]);
    const all = parseTrtexecTimes(readFileSync(timesFile, 'utf8'), timesFile);
    expect(all.samplesNs).toEqual([650_000, 530_000, 520_000, 640_000]);
    expect(all.wallNs).toBe(3_540_000);
  });

  it('rejects a malformed times file, naming the file, the row and the field', () => {
    expect(() => parseTrtexecTimes('{"a":1}', '/x/times.json')).toThrow(/\/x\/times\.json: trtexec --exportTimes: expected a JSON array/);
    expect(() => parseTrtexecTimes('[{"startEnqMs":0}]', '/x/times.json')).toThrow(/--exportTimes\[0\]\.endEnqMs: expected a finite number/);
    expect(() => parseTrtexecTimes('[', '/x/times.json')).toThrow(/not valid JSON/);
    const row = JSON.parse(readFileSync(timesFile, 'utf8'))[1] as Record<string, number>;
    expect(() => parseTrtexecTimes(JSON.stringify([{ ...row, computeMs: -1 }]), '/x/t.json')).toThrow(/computeMs: a negative interval/);
  });

  it('reads outputs with their dims, the model dtypes, and trtexec nan/inf tokens', () => {
    const out = parseTrtexecOutput(readFileSync(outputFile, 'utf8'), outputFile, { 'argmax:0': 'int64' });
    expect([...out.keys()]).toEqual(['logits', 'argmax:0']);
    const logits = out.get('logits')!;
    expect(logits.dtype).toBe('float32');
    expect(logits.dims).toEqual([1, 2, 3]);
    expect(Array.from(logits.data as Float32Array)).toEqual([0.5, -1.25, Math.fround(3e-5), Number.NaN, Number.NEGATIVE_INFINITY, 2]);
    const arg = out.get('argmax:0')!;
    expect(arg.dtype).toBe('int64');
    expect(Array.from(arg.data as BigInt64Array)).toEqual([7n, -3n]);
  });

  it('rejects outputs whose value count does not match their dimensions, naming the tensor', () => {
    const bad = '[{ "name" : "y", "dimensions" : "2x2", "values" : [ 1, 2, 3 ] }]';
    expect(() => parseTrtexecOutput(bad, '/x/o.json')).toThrow(/\/x\/o\.json: trtexec --exportOutput tensor "y": 3 values for dimensions 2x2 \(4 elements\)/);
    expect(() => parseTrtexecOutput('[{ "name" : "y", "dimensions" : "a", "values" : [] }]', '/x/o.json')).toThrow(/dimensions "a"/);
    // a tensor named like a non-finite token keeps its name: only tokens outside strings are rewritten
    expect(parseTrtexecOutput('[{ "name" : "nan", "dimensions" : "1", "values" : [ 1.5 ] }]', '/x/o.json').get('nan')?.data[0]).toBe(1.5);
  });

  it('reads the TensorRT version from the trtexec banner (both NV_TENSORRT_VERSION encodings)', () => {
    expect(tensorRtVersionFromBanner('&&&& RUNNING TensorRT.trtexec [TensorRT v100300] # trtexec --help')).toBe('10.3.0');
    expect(tensorRtVersionFromBanner('&&&& RUNNING TensorRT.trtexec [TensorRT v100801] # trtexec')).toBe('10.8.1');
    expect(tensorRtVersionFromBanner('&&&& RUNNING TensorRT.trtexec [TensorRT v8601] # ./trtexec --help')).toBe('8.6.1');
    expect(tensorRtVersionFromBanner('usage: trtexec')).toBeUndefined();
  });
});

describe('tensorrt plan cache and build record', () => {
  const build: PlanBuildSettings = { precision: 'fp32', tf32: false, profiles: { input: { min: [1, 3, 32, 32], opt: [1, 3, 32, 32], max: [1, 3, 32, 32] } }, device: 0, builderOptimizationLevel: 3, workspaceMiB: null };
  const key = (b: Partial<PlanBuildSettings> = {}, version = '10.3.0', gpu = 'cuda:0 (NVIDIA H200, sm_90)') => conversionKey(planCacheKey('ab'.repeat(32), 'python', version, gpu, { ...build, ...b }));

  it('keys on precision, TF32, profiles, builder settings, the TensorRT version and the GPU', () => {
    const base = key();
    expect(key()).toBe(base);
    expect(key({ precision: 'fp16' })).not.toBe(base);
    expect(key({ tf32: true })).not.toBe(base);
    expect(key({ profiles: { input: { min: [1, 3, 32, 32], opt: [1, 3, 32, 32], max: [8, 3, 32, 32] } } })).not.toBe(base);
    expect(key({ builderOptimizationLevel: 5 })).not.toBe(base);
    expect(key({ workspaceMiB: 512 })).not.toBe(base);
    expect(key({}, '10.4.0')).not.toBe(base);
    expect(key({}, '10.3.0', 'cuda:0 (NVIDIA A100, sm_80)')).not.toBe(base);
    expect(conversionKey(planCacheKey('ab'.repeat(32), 'trtexec', '10.3.0', 'cuda:0 (NVIDIA H200, sm_90)', build))).not.toBe(base);
  });

  it('a bad build.json is an error naming the file and the field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'benchalign-trt-'));
    try {
      writeFileSync(join(dir, 'build.json'), JSON.stringify({ precision: { effectivePrecision: 'fp32', notes: [] }, inputs: [], outputs: 'x', profiles: {} }));
      expect(() => readBuildInfo(join(dir, 'build.json'))).toThrow(/build\.json: build\.json inputs\/outputs: expected lists/);
      expect(() => readBuildInfo(join(dir, 'missing.json'))).toThrow(/cannot read the plan's build record/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const availability = await engineAvailability('tensorrt');

describe('tensorrt availability', () => {
  it(`is unavailable without TensorRT and an NVIDIA GPU, with the reason "${NEEDS_TENSORRT}"`, () => {
    if (availability.available) {
      console.log(`skipped: tensorrt is available here (${availability.version}); the unavailability reason cannot be shown`);
      return;
    }
    expect(availability.reason).toMatch(new RegExp(`^${NEEDS_TENSORRT} \\(python backend: .+; trtexec backend: .+\\)$`));
  });

  it('a job on a machine without it fails prepare with E_ENGINE_MISSING, not a crash', async () => {
    if (availability.available) {
      console.log('skipped: tensorrt is available here');
      return;
    }
    const runner = getRunner('tensorrt');
    try {
      const model = { name: 'cnn', path: join(MODELS, 'cnn/model.onnx'), sha256: '', shapes: { input: [1, 3, 32, 32] } };
      await expect(runner.prepare(model, { precision: 'fp32', options: {} })).rejects.toMatchObject({ code: 'E_ENGINE_MISSING', message: expect.stringContaining(NEEDS_TENSORRT) });
      await expect(runner.prepare(model, { precision: 'fp32', options: { backend: 'trtexec', trtexecPath: '/nonexistent/trtexec' } })).rejects.toMatchObject({
        message: expect.stringContaining('trtexec backend: /nonexistent/trtexec not found'),
      });
    } finally {
      await runner.dispose?.();
    }
  });
});

const FAKE_DIR = join(REPO, 'test/fixtures/fake-trtexec');

/**
 * The trtexec backend end to end through runSuite, with a FAKE trtexec and a FAKE nvidia-smi
 * (test/fixtures/fake-trtexec: OpenVINO on the CPU behind trtexec's flags and export formats).
 * It checks benchalign's side only: backend selection, the argv it passes, raw input files,
 * parsing of the exports, the plan cache and the alignment of 6-digit outputs. Real trtexec
 * on a GPU is not exercised here.
 */
describe.skipIf(!hasPython)('tensorrt trtexec backend, end to end with a FAKE trtexec (no TensorRT here)', () => {
  const env: Record<string, string> = {};
  let dir = '';
  let log = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'benchalign-fake-trtexec-'));
    log = join(dir, 'calls.jsonl');
    Object.assign(env, {
      TRTEXEC: join(FAKE_DIR, 'trtexec'),
      PATH: `${FAKE_DIR}:${process.env.PATH ?? ''}`,
      BENCHALIGN_FAKE_PYTHON: pythonPath(),
      BENCHALIGN_FAKE_TRTEXEC_LOG: log,
      BENCHALIGN_CACHE_DIR: join(dir, 'cache'),
    });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const calls = (): string[][] => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as string[]) : []);

  it('fp32: builds once with --noTF32, runs both bundled models through trtexec and aligns them within the fp32 defaults', async () => {
    const results = await runEngineOnBundled('tensorrt', { options: { backend: 'trtexec' }, env });
    expectBundledAligned(results);
    for (const job of results.jobs) {
      expect(job.engine.version).toBe('10.3.0');
      expect(job.engine.effectivePrecision).toBe('fp32');
      expect(job.engine.appliedOptions).toMatchObject({ backend: 'trtexec', tf32: false, builderFlags: { set: [], cleared: ['TF32'] }, gpu: 'cuda:0 (FAKE GPU (benchalign test stand-in))' });
      expect(job.latency?.count).toBeGreaterThan(0);
      expect(job.coldStart?.cacheHit).toBe(false);
      // the H2D/compute/D2H split of every steady sample; compute <= latency in each sample, so in the medians too
      expect(job.latencyPhases?.compute.count).toBe(job.latency?.count);
      // trtexec's latencyMs is h2dMs + computeMs + d2hMs (here each printed with 6 digits), so the means add up
      const p = job.latencyPhases!;
      expect(Math.abs(job.latency!.meanMs - (p.h2d.meanMs + p.compute.meanMs + p.d2h.meanMs)) / job.latency!.meanMs).toBeLessThan(1e-4);
      expect(job.latencyPhases!.compute.percentiles.p50.value).toBeLessThanOrEqual(job.latency!.percentiles.p50.value);
      expect(job.latencyPhases!.h2d.percentiles.p50.value).toBeGreaterThan(0);
    }
    expect(results.jobs[0]?.alignment?.find((a) => a.name === 'logits')?.topk?.top1Agreement).toBe(1);
    const builds = calls().filter((c) => c.some((a) => a.startsWith('--onnx=')));
    expect(builds).toHaveLength(2);
    expect(builds[0]).toContain('--noTF32');
    expect(builds[0]).toEqual(expect.arrayContaining(['--minShapes=input:1x3x32x32', '--optShapes=input:1x3x32x32', '--maxShapes=input:1x3x32x32']));
    expect(builds[1]!.some((a) => a.startsWith('--minShapes'))).toBe(false); // the transformer is static
    const runs = calls().filter((c) => c.some((a) => a.startsWith('--loadEngine=')));
    expect(runs.every((c) => c.includes('--warmUp=0') && c.includes('--duration=0'))).toBe(true);
    expect(runs.some((c) => c.some((a) => a.startsWith('--exportOutput=')))).toBe(true);
  }, 300_000);

  it('the second run hits the plan cache (no build), and fp16 builds a new plan with --fp16', async () => {
    const before = calls().length;
    const again = await runEngineOnBundled('tensorrt', { options: { backend: 'trtexec' }, env, models: [cnnModel()] });
    expect(again.jobs[0]).toMatchObject({ status: 'ok', coldStart: { cacheHit: true, convertMs: 0 } });
    expect(calls().slice(before).filter((c) => c.some((a) => a.startsWith('--onnx=')))).toEqual([]);
    const fp16 = await runEngineOnBundled('tensorrt', { options: { backend: 'trtexec' }, precision: 'fp16', env, models: [cnnModel()] });
    expect(fp16.jobs[0]).toMatchObject({ status: 'ok', coldStart: { cacheHit: false } });
    expect(fp16.jobs[0]?.engine.effectivePrecision).toBe('fp16');
    expect(calls().at(-1)).toBeDefined();
    expect(calls().filter((c) => c.includes('--fp16'))).toHaveLength(1);
  }, 300_000);

  it('a file that is not ONNX errors that job naming the file, and the run goes on', async () => {
    const results = await runEngineOnBundled('tensorrt', {
      options: { backend: 'trtexec' },
      env,
      models: [{ name: 'broken', path: `${FIXTURES}not_a_model.onnx`, inputs: { source: 'random', seed: 1 } }, cnnModel()],
    });
    const [broken, cnn] = results.jobs;
    expect(broken?.status).toBe('errored');
    expect(broken?.reason).toMatch(/not_a_model\.onnx: not a valid onnx\.ModelProto/);
    expect(cnn?.status).toBe('ok');
  }, 300_000);

  it('a valid ONNX file the parser refuses (an unknown op) errors the job with the converter log tail (E_CONVERT), caching nothing', async () => {
    const path = join(dir, 'unknown_op.onnx');
    py(`
import json, onnx
from onnx import helper, TensorProto
node = helper.make_node("NoSuchOp", ["x"], ["y"], domain="com.example")
graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)]), ${JSON.stringify(path)})
print(json.dumps(True))`);
    const results = await runEngineOnBundled('tensorrt', { options: { backend: 'trtexec' }, env, models: [{ name: 'unknown-op', path, inputs: { source: 'random', seed: 1 } }] });
    const job = results.jobs[0];
    expect(job?.status).toBe('errored');
    expect(job?.reason).toMatch(/trtexec exited with code 1; its last output:[\s\S]*Failed to parse ONNX model from file: .*unknown_op\.onnx/);
    expect(readdirSync(join(dir, 'cache', 'convert', 'tensorrt')).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  }, 300_000);
});

/**
 * The python backend end to end through runSuite, with a FAKE `tensorrt` and a FAKE
 * `cuda.bindings.runtime` (test/fixtures/fake-tensorrt: the TensorRT 10 API subset the worker
 * calls, OpenVINO doing the inference, host memory as "device" memory). It runs the worker's
 * own code (build spec, builder flags, profiles, plan cache, pinned buffers, the timing loop with
 * its event split, outputs); it says nothing about real TensorRT or CUDA behaviour.
 */
describe.skipIf(!hasPython)('tensorrt python backend, end to end with a FAKE tensorrt and cuda-python (no TensorRT here)', () => {
  const env: Record<string, string> = {};
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'benchalign-fake-trt-'));
    Object.assign(env, {
      BENCHALIGN_PYTHON: join(REPO, 'test/fixtures/fake-tensorrt/python'),
      BENCHALIGN_FAKE_PYTHON: pythonPath(),
      BENCHALIGN_CACHE_DIR: join(dir, 'cache'),
    });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const plans = (): Array<{ flags: string[]; profiles: Record<string, unknown> }> => {
    const root = join(dir, 'cache', 'convert', 'tensorrt');
    return existsSync(root) ? readdirSync(root).filter((n) => !n.startsWith('.')).map((n) => JSON.parse(readFileSync(join(root, n, 'model.plan'), 'utf8'))) : [];
  };

  it('auto picks the python backend; fp32 clears TF32, both bundled models align, with the phase split and the plan cache', async () => {
    const results = await runEngineOnBundled('tensorrt', { env });
    expectBundledAligned(results);
    for (const job of results.jobs) {
      expect(job.engine.version).toBe('10.3.0');
      expect(job.engine.effectivePrecision).toBe('fp32');
      expect(job.engine.appliedOptions).toMatchObject({ backend: 'python', tf32: false, builderFlags: { set: [], cleared: ['TF32'] }, gpu: 'FAKE GPU (benchalign test stand-in) sm_90' });
      expect(job.latencyPhases?.compute.count).toBe(job.latency?.count);
      expect(job.latencyPhases!.compute.percentiles.p50.value).toBeLessThanOrEqual(job.latency!.percentiles.p50.value);
      expect(job.coldStart?.cacheHit).toBe(false);
    }
    // what the builder was given: no TF32 (TensorRT's default cleared), the CNN's pinned profile
    expect(plans().map((p) => p.flags)).toEqual([[], []]);
    expect(plans().map((p) => p.profiles)).toContainEqual({ input: { min: [1, 3, 32, 32], opt: [1, 3, 32, 32], max: [1, 3, 32, 32] } });
    const again = await runEngineOnBundled('tensorrt', { env, models: [cnnModel()] });
    expect(again.jobs[0]).toMatchObject({ status: 'ok', coldStart: { cacheHit: true, convertMs: 0 } });
  }, 300_000);

  it('fp16 sets FP16; tf32: true keeps TF32 and records tf32; maxBatchSize lets a batch-4 sweep run', async () => {
    const fp16 = await runEngineOnBundled('tensorrt', { env, precision: 'fp16', models: [cnnModel()] });
    expect(fp16.jobs[0]).toMatchObject({ status: 'ok', engine: { effectivePrecision: 'fp16', appliedOptions: { builderFlags: { set: ['FP16'], cleared: ['TF32'] } } } });
    const tf32 = await runEngineOnBundled('tensorrt', { env, options: { tf32: true, maxBatchSize: 4 }, models: [cnnModel({ measurement: { batchSizes: [1, 4] } })] });
    const job = tf32.jobs[0]!;
    expect(job).toMatchObject({ status: 'ok', engine: { effectivePrecision: 'tf32', appliedOptions: { tf32: true, builderFlags: { set: [], cleared: [] } } } });
    expect(job.throughput?.map((t) => t.batchSize)).toContain(4);
    expect(plans().some((p) => JSON.stringify(p.profiles) === JSON.stringify({ input: { min: [1, 3, 32, 32], opt: [1, 3, 32, 32], max: [4, 3, 32, 32] } }))).toBe(true);
  }, 300_000);

  it('timing: events makes each sample the CUDA-event H2D + compute + D2H (mean latency = the sum of the phase means)', async () => {
    const results = await runEngineOnBundled('tensorrt', { env, options: { timing: 'events' }, models: [cnnModel()] });
    const job = results.jobs[0]!;
    expect(job).toMatchObject({ status: 'ok', engine: { appliedOptions: { timing: 'events' } } });
    const p = job.latencyPhases!;
    const sum = p.h2d.meanMs + p.compute.meanMs + p.d2h.meanMs;
    expect(Math.abs(job.latency!.meanMs - sum) / sum).toBeLessThan(1e-9);
  }, 300_000);

  it('without maxBatchSize, a batch-4 sweep is outside the profile: a note, and the job stays ok', async () => {
    const results = await runEngineOnBundled('tensorrt', { env, models: [cnnModel({ measurement: { batchSizes: [1, 4] } })] });
    const job = results.jobs[0]!;
    expect(job.status).toBe('ok');
    expect(job.notes?.join(' ')).toMatch(/batch size 4 not measured: .*input input shape \[4, 3, 32, 32\] is outside the plan's optimization profile/);
  }, 300_000);
});

describe.skipIf(!availability.available)('TensorRT runner (real TensorRT on an NVIDIA GPU)', () => {
  let cache = '';
  beforeAll(() => {
    cache = mkdtempSync(join(tmpdir(), 'benchalign-trt-cache-'));
  });
  afterAll(() => rmSync(cache, { recursive: true, force: true }));

  it('fp32 (TF32 cleared): both bundled models align within the fp32 defaults, with latency and the H2D/compute/D2H split', async () => {
    const results = await runEngineOnBundled('tensorrt', { env: { BENCHALIGN_CACHE_DIR: cache } });
    expectBundledAligned(results);
    for (const job of results.jobs) {
      expect(job.engine.effectivePrecision).toBe('fp32');
      expect(job.engine.appliedOptions).toMatchObject({ tf32: false, builderFlags: { set: [], cleared: ['TF32'] } });
      expect(job.latency?.count).toBeGreaterThanOrEqual(20);
      expect(job.coldStart?.cacheHit).toBe(false);
    }
    const again = await runEngineOnBundled('tensorrt', { env: { BENCHALIGN_CACHE_DIR: cache }, models: [cnnModel()] });
    expect(again.jobs[0]?.coldStart).toMatchObject({ cacheHit: true, convertMs: 0 });
  }, 300_000);

  it('fp16 aligns within the fp16 defaults and records the FP16 flag', async () => {
    const results = await runEngineOnBundled('tensorrt', { precision: 'fp16', env: { BENCHALIGN_CACHE_DIR: cache } });
    expect(results.jobs.map((j) => j.status)).toEqual(['ok', 'ok']);
    expect(misaligned(results)).toEqual([]);
    expect(results.jobs[0]?.engine.appliedOptions).toMatchObject({ builderFlags: { set: ['FP16'] } });
  }, 300_000);

  it('a broken model errors that job with the converter log, and the run goes on', async () => {
    const results = await runEngineOnBundled('tensorrt', {
      env: { BENCHALIGN_CACHE_DIR: cache },
      models: [{ name: 'broken', path: `${FIXTURES}not_a_model.onnx`, inputs: { source: 'random', seed: 1 } }, cnnModel()],
    });
    expect(results.jobs[0]?.status).toBe('errored');
    expect(results.jobs[0]?.reason).toMatch(/not_a_model\.onnx/);
    expect(results.jobs[1]?.status).toBe('ok');
  }, 300_000);
});
