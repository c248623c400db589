import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runExitCode, runSuite } from '../../src/workflows/run.js';
import { ExitCode } from '../../src/errors.js';
import type { JobResult, RunResults } from '../../src/model/record.js';
import { encodeNpy } from '../../src/tensors/npy.js';
import { readTensors } from '../../src/tensors/read.js';
import { QUICK, cnnModel, tempDir, transformerModel, writeSuite } from './helpers.js';

let prevTestEngines: string | undefined;
beforeAll(() => {
  prevTestEngines = process.env.BENCHALIGN_TEST_ENGINES;
  process.env.BENCHALIGN_TEST_ENGINES = '1';
});
afterAll(() => {
  if (prevTestEngines === undefined) delete process.env.BENCHALIGN_TEST_ENGINES;
  else process.env.BENCHALIGN_TEST_ENGINES = prevTestEngines;
});

const ORT = { name: 'onnxruntime', precision: 'fp32', options: { intraOpThreads: 1, interOpThreads: 1 } };

function job(results: RunResults, model: string): JobResult {
  const j = results.jobs.find((x) => x.model.name === model);
  if (!j) throw new Error(`no job for ${model}: ${results.jobs.map((x) => x.model.name).join(', ')}`);
  return j;
}

describe('runSuite on real ONNX Runtime with the bundled models', () => {
  it('measures both models, aligns them with the PyTorch references and writes every report', async () => {
    const dir = tempDir('run');
    const suite = writeSuite(dir, { models: [cnnModel({ outputs: { logits: { topK: 5 } } }), transformerModel()], engines: [ORT] });
    const out = join(dir, 'out');
    const { results, exitCode } = await runSuite({ suitePath: suite, outDir: out, quiet: true, saveOutputs: true });
    expect(exitCode).toBe(ExitCode.Ok);
    expect(results.run.status).toBe('complete');
    for (const name of ['cnn', 'transformer']) {
      const j = job(results, name);
      expect(j.status).toBe('ok');
      expect(j.engine.version).toMatch(/^\d+\.\d+/);
      expect(j.latency?.count).toBeGreaterThanOrEqual(20);
      expect(j.samplesNs?.[0]?.length).toBe(j.latency?.count);
      const p = j.latency!.percentiles;
      expect(p.p50.low).toBeLessThanOrEqual(p.p50.value);
      expect(p.p50.high).toBeGreaterThanOrEqual(p.p50.value);
      expect(p.p99.value).toBeGreaterThanOrEqual(p.p50.value);
      expect(j.coldStart?.loadMs).toBeGreaterThan(0);
      expect(j.firstInferenceMs).toBeGreaterThan(0);
      expect(j.resources?.peakRssBytes).toBeGreaterThan(10 * 2 ** 20);
      expect(j.resources?.cpuPctMean).toBeGreaterThan(10);
      expect(j.throughput?.[0]?.itemsPerSec).toBeGreaterThan(0);
      expect(j.alignment?.length).toBeGreaterThan(0);
      for (const o of j.alignment ?? []) {
        expect(o.passed).toBe(true);
        expect(o.maxAbsError).toBeLessThan(1e-4);
        expect(o.cosine).toBeGreaterThan(0.99999);
      }
    }
    expect(job(results, 'cnn').alignment?.[0]?.topk?.top1Agreement).toBe(1);
    expect(job(results, 'transformer').alignment?.map((o) => o.name).sort()).toEqual(['hidden', 'pooled']);

    const onDisk = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as RunResults;
    expect(onDisk.schemaVersion).toBe(1);
    expect(onDisk.jobs.map((j) => j.status)).toEqual(['ok', 'ok']);
    const csv = readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toContain('p50_ms');
    expect(csv).toHaveLength(1 + 1 + 2); // header, cnn logits, transformer hidden + pooled
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toContain('| cnn | onnxruntime');
    expect(md).toContain('## Alignment per output');
    const junit = readFileSync(join(out, 'junit.xml'), 'utf8');
    expect(junit).toContain('tests="2" failures="0" errors="0"');

    // --save-outputs: the saved tensors can be aligned again later.
    const saved = job(results, 'cnn').savedOutputs;
    expect(saved).toBeDefined();
    const logits = (await readTensors(join(out, saved as string))).tensors.get('logits');
    expect(logits?.dims).toEqual([1, 10]);
  });

  it('fails the job and exits 1 when an output does not match its reference, naming the output', async () => {
    const dir = tempDir('misaligned');
    const ref = (await readTensors(join(cnnModel().reference as string))).tensors.get('logits');
    expect(ref).toBeDefined();
    const wrong = Float32Array.from(ref!.data as Float32Array, (v, i) => (i === 3 ? v + 0.5 : v));
    writeFileSync(join(dir, 'logits.npy'), encodeNpy({ dtype: 'float32', dims: ref!.dims, data: wrong }));
    const suite = writeSuite(dir, { models: [cnnModel({ reference: join(dir, 'logits.npy') })], engines: [ORT] });
    const { results, exitCode } = await runSuite({ suitePath: suite, outDir: join(dir, 'out'), quiet: true, mode: 'accuracy-only' });
    expect(exitCode).toBe(ExitCode.GateFailed);
    const j = job(results, 'cnn');
    expect(j.status).toBe('failed');
    expect(j.reason).toContain('logits');
    const o = j.alignment?.[0];
    expect(o?.passed).toBe(false);
    expect(o?.worst[0]?.index).toEqual([0, 3]);
    expect(o?.maxAbsError).toBeCloseTo(0.5, 4);
    expect(readFileSync(join(dir, 'out', 'junit.xml'), 'utf8')).toContain('<failure');
  });

  it('fails an output the engine never produced, naming what it did produce', async () => {
    const dir = tempDir('missing-output');
    const ref = (await readTensors(join(cnnModel().reference as string))).tensors.get('logits');
    writeFileSync(join(dir, 'ghost.npy'), encodeNpy(ref!));
    const suite = writeSuite(dir, { models: [cnnModel({ reference: join(dir, 'ghost.npy') })], engines: [ORT] });
    const { results, exitCode } = await runSuite({ suitePath: suite, outDir: join(dir, 'out'), quiet: true, mode: 'accuracy-only' });
    // A single reference and a single output are paired by position, and the pairing is recorded.
    expect(exitCode).toBe(ExitCode.Ok);
    const o = job(results, 'cnn').alignment?.[0];
    expect(o?.mapping?.name).toEqual({ reference: 'ghost', actual: 'logits', by: 'index' });

    const two = new Map([['logits', ref!], ['ghost', ref!]]);
    const { encodeSafetensors } = await import('../../src/tensors/safetensors.js');
    writeFileSync(join(dir, 'two.safetensors'), encodeSafetensors(two));
    const suite2 = writeSuite(dir, { models: [cnnModel({ reference: join(dir, 'two.safetensors') })], engines: [ORT] }, 'two.json');
    const r2 = await runSuite({ suitePath: suite2, outDir: join(dir, 'out2'), quiet: true, mode: 'accuracy-only' });
    expect(r2.exitCode).toBe(ExitCode.GateFailed);
    const ghost = job(r2.results, 'cnn').alignment?.find((x) => x.name === 'ghost');
    expect(ghost?.passed).toBe(false);
    expect(ghost?.reasons[0]).toBe('the engine produced no output "ghost" (it produced: logits)');
    expect(job(r2.results, 'cnn').alignment?.find((x) => x.name === 'logits')?.passed).toBe(true);
  });

  it('fails a job that misses its latency budget and says which budget', async () => {
    const dir = tempDir('budget');
    const suite = writeSuite(dir, { models: [cnnModel({ budgets: { p50MaxMs: 0.001, peakRssMaxMiB: 100000 } })], engines: [ORT] });
    const { results, exitCode } = await runSuite({ suitePath: suite, outDir: join(dir, 'out'), quiet: true });
    expect(exitCode).toBe(ExitCode.GateFailed);
    const j = job(results, 'cnn');
    expect(j.status).toBe('failed');
    expect(j.reason).toMatch(/budget missed: p50MaxMs/);
    expect(j.budgets?.find((b) => b.name === 'p50MaxMs')?.passed).toBe(false);
    expect(j.budgets?.find((b) => b.name === 'peakRssMaxMiB')?.passed).toBe(true);
  });

  it('sweeps batch sizes where the model allows it, and notes where it does not', async () => {
    const dir = tempDir('batch');
    const suite = writeSuite(dir, { models: [cnnModel(), transformerModel()], engines: [ORT], measurement: { ...QUICK, batchSizes: [1, 4] } });
    const { results } = await runSuite({ suitePath: suite, outDir: join(dir, 'out'), quiet: true });
    const cnn = job(results, 'cnn');
    expect(cnn.status).toBe('ok');
    const b4 = cnn.throughput?.find((t) => t.batchSize === 4);
    expect(b4?.itemsPerSec).toBeGreaterThan(0);
    expect(b4?.requests).toBeGreaterThan(0);
    const tr = job(results, 'transformer');
    expect(tr.status).toBe('ok');
    expect(tr.throughput?.some((t) => t.batchSize === 4)).toBe(false);
    expect(tr.notes?.[0]).toMatch(/batch size 4 not measured/);
  });

  it('feeds seeded random inputs with per-input ranges, reproducibly', async () => {
    const dir = tempDir('random');
    const model = transformerModel({ inputs: { source: 'random', seed: 7, ranges: { input_ids: [0, 999] } }, reference: undefined });
    delete model.reference;
    const suite = writeSuite(dir, { models: [model], engines: [ORT] });
    const a = await runSuite({ suitePath: suite, outDir: join(dir, 'a'), quiet: true, mode: 'accuracy-only', saveOutputs: true });
    const b = await runSuite({ suitePath: suite, outDir: join(dir, 'b'), quiet: true, mode: 'accuracy-only', saveOutputs: true });
    expect(a.exitCode).toBe(ExitCode.Ok);
    const ja = job(a.results, 'transformer');
    expect(ja.inputs).toMatchObject({ source: 'random', seed: 7, shapes: { input_ids: [1, 16] } });
    const ha = (await readTensors(join(a.runDir, ja.savedOutputs as string))).tensors.get('hidden');
    const hb = (await readTensors(join(b.runDir, job(b.results, 'transformer').savedOutputs as string))).tensors.get('hidden');
    expect(ha?.dims).toEqual([1, 16, 64]);
    expect(Buffer.compare(Buffer.from((ha!.data as Float32Array).buffer, (ha!.data as Float32Array).byteOffset, ha!.data.byteLength), Buffer.from((hb!.data as Float32Array).buffer, (hb!.data as Float32Array).byteOffset, hb!.data.byteLength))).toBe(0);
  });
});

describe('runSuite with injected faults (test-only fake engine)', () => {
  it('marks crashing and hanging jobs errored with the worker stderr tail, and keeps every other result', async () => {
    const dir = tempDir('faults');
    const fake = (label: string, options: Record<string, unknown>) => ({ name: 'test-fault', precision: 'fp32', label, options });
    const model = cnnModel({ inputs: { source: 'random', seed: 1 }, shapes: { input: [1, 3, 32, 32] } });
    delete model.reference;
    const suite = writeSuite(dir, {
      models: [model],
      engines: [fake('abort', { fault: 'abort' }), fake('segv', { fault: 'segv' }), fake('hang', { fault: 'hang' }), fake('leak', { fault: 'leak', leakCapBytes: 256 * 2 ** 20 }), fake('loadfail', { fault: 'load-fail' }), ORT],
      measurement: { timeoutMs: 3000, warmup: { minIterations: 5, maxIterations: 50, maxMs: 200 }, minDurationMs: 100, maxDurationMs: 300, minIterations: 10, targetCiHalfWidthPct: 5 },
    });
    const { results, exitCode } = await runSuite({ suitePath: suite, outDir: join(dir, 'out'), quiet: true });
    expect(exitCode).toBe(ExitCode.GateFailed);
    const byLabel = (l: string) => results.jobs.find((j) => j.key.endsWith(`/${l}`));
    expect(byLabel('abort')).toMatchObject({ status: 'errored' });
    expect(byLabel('abort')?.reason).toMatch(/SIGABRT/);
    expect(byLabel('segv')?.reason).toMatch(/SIGSEGV/);
    expect(byLabel('hang')?.reason).toMatch(/did not answer .* within 3000 ms; killed/);
    expect(byLabel('leak')?.reason).toMatch(/did not answer|out of memory/);
    expect(byLabel('loadfail')?.status).toBe('errored');
    for (const l of ['abort', 'segv', 'hang']) expect(byLabel(l)?.stderrTail ?? '').toMatch(/fault/i);
    const ort = results.jobs.find((j) => j.engine.name === 'onnxruntime');
    expect(ort?.status).toBe('ok');
    expect(ort?.latency?.count).toBeGreaterThan(0);
    expect(results.jobs).toHaveLength(6);
    const md = readFileSync(join(dir, 'out', 'report.md'), 'utf8');
    expect(md).toContain('## Problems');
    expect(readFileSync(join(dir, 'out', 'junit.xml'), 'utf8')).toContain('errors="5"');
  }, 120_000);
});

describe('runSuite interruption', () => {
  it('keeps finished jobs and marks the run interrupted when aborted', async () => {
    const dir = tempDir('abort');
    const suite = writeSuite(dir, { models: [cnnModel(), transformerModel()], engines: [ORT] });
    const controller = new AbortController();
    const out = join(dir, 'out');
    const pending = runSuite({
      suitePath: suite,
      outDir: out,
      signal: controller.signal,
      progress: {
        start() {},
        jobStarted(index) {
          if (index === 1) controller.abort();
        },
        jobProgress() {},
        jobFinished() {},
        stop() {},
      },
    });
    const { results } = await pending;
    expect(results.run.status).toBe('interrupted');
    expect(results.jobs.map((j) => j.model.name)).toEqual(['cnn']);
    const onDisk = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as RunResults;
    expect(onDisk.run.status).toBe('interrupted');
    expect(onDisk.jobs[0]?.status).toBe('ok');
    expect(existsSync(join(out, 'report.md'))).toBe(true);
  });
});

describe('runExitCode', () => {
  const j = (status: JobResult['status']): JobResult => ({ status }) as JobResult;
  it('maps outcomes to the exit codes of DESIGN.md', () => {
    expect(runExitCode([j('ok'), j('ok')], false)).toBe(0);
    expect(runExitCode([j('ok'), j('failed')], false)).toBe(1);
    expect(runExitCode([j('ok'), j('errored')], false)).toBe(1);
    expect(runExitCode([j('ok'), j('skipped')], false)).toBe(0);
    expect(runExitCode([j('errored')], true)).toBe(3);
    expect(runExitCode([j('ok'), j('errored')], true)).toBe(1);
    expect(runExitCode([j('skipped'), j('errored')], false)).toBe(4);
    expect(runExitCode([], false)).toBe(4);
  });
});
