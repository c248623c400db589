/**
 * `benchalign run --profile` for real: the bundled CNN on every CPU engine installed here, each
 * engine's own profiler read into one per-layer / per-op record, and the report.md sections.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { opFamily } from '../../src/metrics/profile.js';
import type { RunResults } from '../../src/model/record.js';
import { REPO, cnnModel, tempDir, transformerModel, writeSuite } from '../agents/helpers.js';
import { engineAvailability } from '../runners/engine-suite.js';

const BIN = join(REPO, 'bin/benchalign.js');
const PYTHON_ENGINES = ['openvino', 'mnn', 'pytorch', 'ncnn', 'opencv', 'tvm', 'executorch', 'litert'] as const;
const present: string[] = ['onnxruntime'];
for (const e of PYTHON_ENGINES) {
  const a = await engineAvailability(e);
  if (a.available) present.push(e);
  else process.stderr.write(`run --profile test: ${e} not checked: ${a.reason}\n`);
}

describe('benchalign run --profile', () => {
  it('records per-layer and per-op times from each engine\'s profiler, after the timed loop', () => {
    const dir = tempDir('profile');
    const out = join(dir, 'out');
    const models = [
      cnnModel({ pytorch: { torchscript: join(REPO, 'suites/models/cnn/model.torchscript.pt') } }),
      transformerModel({ pytorch: { factory: `${join(REPO, 'suites/models/pytorch_models.py')}:transformer` }, outputs: { '*': { cosineMin: 0.99999 } } }),
    ];
    const suite = writeSuite(dir, { models, engines: present.map((name) => ({ name, options: name === 'onnxruntime' ? { intraOpThreads: 1 } : { threads: 1 } })) });
    const r = spawnSync(process.execPath, [BIN, 'run', suite, '--profile', '--no-store', '--quiet', '--out', out], { encoding: 'utf8', timeout: 600_000 });
    expect(r.status, r.stderr).toBe(0);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as RunResults;
    expect(results.jobs.map((j) => `${j.model.name} ${j.engine.name}`).sort()).toEqual(['cnn', 'transformer'].flatMap((m) => present.map((e) => `${m} ${e}`)).sort());
    expect(results.jobs.map((j) => [j.engine.name, j.status])).toEqual(results.jobs.map((j) => [j.engine.name, 'ok']));
    for (const j of results.jobs) {
      const p = j.profile;
      expect(p, `${j.engine.name}: ${j.notes?.join('; ')}`).toBeDefined();
      if (!p) continue;
      expect(p.iterations).toBeGreaterThan(0);
      expect(p.layers.length).toBeGreaterThan(0);
      expect(p.ops.reduce((s, o) => s + o.sharePct, 0)).toBeCloseTo(100, 6);
      expect(p.overheadPct).toBeDefined();
      if (j.model.name === 'transformer') {
        // every engine's table covers the transformer too; its linear layers are there by some
        // name (MNN runs them as 1x1 Convolutions, ncnn inside MultiHeadAttention)
        expect(p.ops.some((o) => ['matmul', 'conv'].includes(opFamily(o.opType)) || /attention/i.test(o.opType)), `${j.engine.name}: ${p.ops.map((o) => o.opType).join(', ')}`).toBe(true);
        continue;
      }
      // a CNN spends most of its time in convolutions, whatever the engine calls them
      const convShare = p.ops.filter((o) => opFamily(o.opType) === 'conv').reduce((s, o) => s + o.sharePct, 0);
      expect(convShare, `${j.engine.name}: ${p.ops.map((o) => `${o.opType} ${o.sharePct.toFixed(1)}%`).join(', ')}`).toBeGreaterThan(40);
      // OpenVINO maps its runtime nodes back to the ONNX nodes they were made of
      if (j.engine.name === 'openvino') expect(p.layers.some((l) => (l.onnxNodes ?? []).some((n) => n.startsWith('/')))).toBe(true);
      // OpenCV-DNN names its layers after the ONNX nodes: the convolutions keep theirs
      if (j.engine.name === 'opencv') expect(p.layers.filter((l) => opFamily(l.opType) === 'conv').map((l) => l.name)).toContain('/layer1/conv1/Conv');
      // ncnn's pip build has no per-layer timer: times by incremental extraction, whose layer
      // times add up to about an inference of the timed loop (each layer run once, none twice)
      if (j.engine.name === 'ncnn') {
        expect(p.profiler).toBe('ncnn incremental extraction');
        const mean = j.latency?.meanMs ?? 0;
        expect(p.layerMsPerInference, `ncnn: layers ${p.layerMsPerInference} ms, timed mean ${mean} ms`).toBeGreaterThan(0.6 * mean);
        expect(p.layerMsPerInference).toBeLessThan(1.5 * mean);
      }
      // TVM: per kernel (numbered repeats conv2d, conv2d1, ... share the op type conv2d) and the VM's builtins
      if (j.engine.name === 'tvm') {
        expect(p.layers.some((l) => l.name.startsWith('vm.builtin.'))).toBe(true);
        expect(p.ops.filter((o) => opFamily(o.opType) === 'conv').every((o) => !/\d$/.test(o.opType))).toBe(true);
      }
      // ExecuTorch: the ETDump's XNNPACK op events ("Convolution (NHWC, F32) IGEMM #3 @0")
      if (j.engine.name === 'executorch') {
        expect(p.profiler).toBe('executorch ETDump');
        expect(p.layers.some((l) => /IGEMM #\d+ @\d+$/.test(l.name))).toBe(true);
      }
      // the timed loop is as long as without --profile: its samples are the loop's only
      expect(j.latency?.count).toBeGreaterThan(0);
    }
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toContain('## Per-op profile');
    expect(md).toMatch(/\| # \| onnxruntime fp32 \|/);
    expect(md).toMatch(/\| 1 \| Conv \d/);
  }, 600_000); // every installed engine on both bundled models; cold caches convert and build each first

  it.skipIf(!present.includes('litert'))('litert: the C API CompiledModel profiler, per XNNPACK operator and per builtin TFLite node', () => {
    const dir = tempDir('profile-litert');
    const jobsOf = (xnnpack: boolean): RunResults['jobs'] => {
      const out = join(dir, `out-${xnnpack}`);
      const suite = writeSuite(dir, { models: [cnnModel({ pytorch: { torchscript: join(REPO, 'suites/models/cnn/model.torchscript.pt') } })], engines: [{ name: 'litert', options: { threads: 1, xnnpack } }] }, `suite-${xnnpack}.json`);
      const r = spawnSync(process.execPath, [BIN, 'run', suite, '--profile', '--no-store', '--quiet', '--out', out], { encoding: 'utf8', timeout: 600_000 });
      expect(r.status, r.stderr).toBe(0);
      return (JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as RunResults).jobs;
    };
    // the bundled CNN (suites/models/make_models.py) has 9 convolutions: the stem, two per block
    // in three blocks, and the 1x1 downsamples of blocks 2 and 3
    const CNN_CONVS = 9;
    for (const xnnpack of [true, false]) {
      const [j] = jobsOf(xnnpack);
      expect(j?.status).toBe('ok');
      const p = j?.profile;
      expect(p, `xnnpack ${xnnpack}: ${j?.notes?.join('; ')}`).toBeDefined();
      if (!j || !p) continue;
      expect(p.profiler).toBe('litert CompiledModel profiler');
      expect(p.iterations).toBeGreaterThan(0);
      expect(p.layerMsPerInference).toBeGreaterThan(0);
      expect(p.layerMsPerInference).toBeLessThanOrEqual(p.wallMsPerInference);
      const convShare = p.ops.filter((o) => opFamily(o.opType) === 'conv').reduce((s, o) => s + o.sharePct, 0);
      expect(convShare, p.ops.map((o) => `${o.opType} ${o.sharePct.toFixed(1)}%`).join(', ')).toBeGreaterThan(40);
      const convs = p.layers.filter((l) => opFamily(l.opType) === 'conv');
      if (xnnpack) {
        // XNNPACK's own operators inside its delegate ("Convolution (NHWC, F32) IGEMM")
        expect(j.engine.appliedOptions?.delegate).toBe('XNNPACK');
        expect(convs.every((l) => /^xnnpack#\d+$/.test(l.name) && /^Convolution \(/.test(l.opType))).toBe(true);
      } else {
        // builtin kernels: one row per TFLite node (CONV_2D#<node index>), once per inference
        expect(convs.every((l) => l.opType === 'CONV_2D' && /^CONV_2D#\d+$/.test(l.name) && l.callsPerInference === 1)).toBe(true);
        expect(convs.length).toBe(CNN_CONVS);
      }
    }
  }, 600_000);

  it('profiles on a runner agent too (the job carries measurement.profile, the outcome its profile)', () => {
    const dir = tempDir('profile-agent');
    const out = join(dir, 'out');
    const agents = join(dir, 'agents.yaml');
    writeFileSync(agents, `agents:\n  - name: child\n    url: stdio\n    command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(BIN)}, agent, stdio, --work-dir, ${JSON.stringify(join(dir, 'agent'))}]\n`);
    const suite = writeSuite(dir, { models: [cnnModel()], engines: [{ name: 'onnxruntime', options: { intraOpThreads: 1 } }] });
    const r = spawnSync(process.execPath, [BIN, 'run', suite, '--profile', '--agents', agents, '--no-store', '--quiet', '--out', out], { encoding: 'utf8', timeout: 600_000 });
    expect(r.status, r.stderr).toBe(0);
    const job = (JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as RunResults).jobs[0];
    expect(job?.agent?.name).toBe('child');
    expect(job?.profile?.profiler).toBe('onnxruntime session profiling');
    expect(job?.profile?.ops[0]?.opType).toBe('Conv');
  });
});
