/**
 * `benchalign zoo`: the catalog (zoo list, through the real CLI process), prepare's checks and
 * errors, and the CI slice of the zoo for real: `zoo prepare mobilenet_v2 bert_tiny` (transformers
 * builds them from their configs with seeded weights in the project venv, torch exports ONNX)
 * then accuracy-only on every CPU engine (onnxruntime, openvino, ncnn, mnn, pytorch), each
 * aligned against the PyTorch references. The prepared models are cached in
 * test/fixtures/generated/zoo (prepare's own stamp: a second run reuses them). The full zoo is
 * `npm run zoo`, not a test.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSuite } from '../../src/workflows/run.js';
import { BenchalignError } from '../../src/errors.js';
import { pythonPath } from '../../src/runners/python/env.js';
import { zooRequirementLines } from '../../src/runners/python/setup.js';
import { readTensors } from '../../src/tensors/read.js';
import { inspectModelBytes } from '../../src/tensors/inspect.js';
import { ZOO, zooArchitecture, type ZooArchitecture } from '../../src/zoo/catalog.js';
import { checkManifest, prepareZoo, zooVersions, type ZooManifest } from '../../src/zoo/prepare.js';
import { REPO, tempDir } from '../agents/helpers.js';
import { engineAvailability, misaligned } from '../runners/engine-suite.js';

const BIN = join(REPO, 'bin/benchalign.js');
const ZOO_DIR = join(REPO, 'test/fixtures/generated/zoo');
const CI_MODELS = ['mobilenet_v2', 'bert_tiny'];
const CPU_ENGINES = ['onnxruntime', 'openvino', 'ncnn', 'mnn', 'pytorch'];

function cli(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 600_000, cwd: REPO });
}

/** Whether the venv can build the zoo (transformers at its pin); prints why not. */
async function zooReady(): Promise<boolean> {
  if (!existsSync(pythonPath())) {
    console.log(`skipped: the zoo needs the Python venv: ${pythonPath()} does not exist (benchalign engines setup)`);
    return false;
  }
  const pin = zooRequirementLines().find((l) => l.startsWith('transformers=='))?.split('==')[1];
  const v = await zooVersions();
  if (v.transformers !== pin) {
    console.log(`skipped: the venv has transformers ${v.transformers ?? 'missing'}, requirements-zoo.txt pins ${pin ?? '?'} (benchalign engines setup)`);
    return false;
  }
  return true;
}

const ready = await zooReady();
// CI requires the Python engines (BENCHALIGN_REQUIRE_ENGINES); the zoo comes with the same venv
const required = (process.env.BENCHALIGN_REQUIRE_ENGINES ?? '').split(',').includes('pytorch');

describe('benchalign zoo list', () => {
  it('--json: at least ten architectures, with the ids the issue names, each with source, inputs (dynamic dims marked), size and cost', () => {
    const r = cli(['zoo', 'list', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const list = JSON.parse(r.stdout) as Array<{
      name: string;
      source: string;
      inputs: Array<{ name: string; dtype: string; dims: Array<number | string>; shape: number[]; dynamicDims: Array<{ axis: number; name: string }> }>;
      parameters: number;
      gmacs: number;
    }>;
    expect(list.length).toBeGreaterThanOrEqual(10);
    const names = list.map((a) => a.name);
    for (const id of ['resnet18', 'resnet50', 'mobilenet_v2', 'efficientnet_b0', 'convnext_tiny', 'vit_b_16', 'swin_tiny', 'segformer_b0', 'yolos_tiny', 'bert_tiny', 'bert_base', 'gpt2_small', 'lstm']) {
      expect(names).toContain(id);
    }
    for (const a of list) {
      expect(a.source.length, a.name).toBeGreaterThan(10);
      expect(a.parameters, a.name).toBeGreaterThan(0);
      expect(a.gmacs, a.name).toBeGreaterThan(0);
      for (const i of a.inputs) {
        expect(i.shape.length, `${a.name}.${i.name}`).toBe(i.dims.length);
        expect(i.dynamicDims.map((d) => d.axis)).toEqual(i.dims.flatMap((d, k) => (typeof d === 'string' ? [k] : [])));
      }
    }
    const bert = list.find((a) => a.name === 'bert_tiny');
    expect(bert?.inputs.map((i) => [i.name, i.dtype, i.dynamicDims])).toEqual([
      ['input_ids', 'int64', [{ axis: 1, name: 'sequence' }]],
      ['attention_mask', 'int64', [{ axis: 1, name: 'sequence' }]],
    ]);
  });

  it('the table has one row per architecture', () => {
    const r = cli(['zoo', 'list']);
    expect(r.status, r.stderr).toBe(0);
    for (const a of ZOO) expect(r.stdout).toMatch(new RegExp(`^${a.name}\\s`, 'm'));
  });
});

describe('zoo prepare: refusals', () => {
  it('an unknown architecture: exit 2, naming it and the known ones', () => {
    const r = cli(['zoo', 'prepare', 'resnet18', 'alexnet', '--dir', join(tempDir('zoo-bad'), 'd')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown architecture\(s\) alexnet/);
    expect(r.stderr).toMatch(/mobilenet_v2/);
  });

  it('no architecture named: exit 2', () => {
    const r = cli(['zoo', 'prepare']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/no architecture named/);
  });

  it('checkManifest refuses a build that drifted from the catalog, and collapsed (degenerate) reference outputs', () => {
    const arch = zooArchitecture('mobilenet_v2') as ZooArchitecture;
    const good: ZooManifest = {
      name: arch.name,
      seed: 0,
      versions: {},
      parameters: arch.parameters,
      onnx: { exporter: 'x', opset: 17, bytes: 1, dynamicAxes: {} },
      inputs: [{ name: 'pixel_values', dtype: 'float32', dims: [1, 3, 224, 224] }],
      outputs: [{ name: 'logits', dtype: 'float32', dims: [1, 1000], std: 0.3, maxAbs: 1 }],
      sha256: {},
      timings: {},
    };
    expect(() => checkManifest(arch, good)).not.toThrow();
    const bad = (m: Partial<ZooManifest>) => () => checkManifest(arch, { ...good, ...m });
    expect(bad({ parameters: arch.parameters + 1 })).toThrow(/3504873 parameters, the catalog says 3504872/);
    expect(bad({ outputs: [{ name: 'logits', dtype: 'float32', dims: [1, 1001], std: 0.3 }] })).toThrow(/logits has shape \[1, 1001\]/);
    expect(bad({ outputs: [{ name: 'scores', dtype: 'float32', dims: [1, 1000], std: 0.3 }] })).toThrow(/outputs scores, the catalog says logits/);
    expect(bad({ outputs: [{ name: 'logits', dtype: 'float32', dims: [1, 1000], std: 5e-22 }] })).toThrow(/degenerate/);
    expect(bad({ outputs: [{ name: 'logits', dtype: 'float32', dims: [1, 1000], std: 5e-22 }] })).toThrow(BenchalignError);
  });
});

describe.skipIf(!ready && !required)('zoo prepare mobilenet_v2 bert_tiny + accuracy-only on every CPU engine (real models, real engines)', () => {
  it('prepare builds them (or finds them cached): ONNX with the dynamic dims, references of the catalog shapes, the suite', async () => {
    expect(ready, 'the zoo venv (transformers) is required here').toBe(true);
    const res = await prepareZoo({ names: CI_MODELS, dir: ZOO_DIR, install: false, log: () => {} });
    expect(res.models.map((m) => m.name)).toEqual(CI_MODELS);
    for (const m of res.models) {
      const arch = zooArchitecture(m.name) as ZooArchitecture;
      for (const f of ['model.onnx', 'inputs.pt', 'outputs.pt', 'zoo_models.py', 'zoo.json', '.zoo-stamp']) expect(existsSync(join(m.dir, f)), `${m.name}/${f}`).toBe(true);
      expect(m.manifest.parameters).toBe(arch.parameters);
      expect(m.manifest.versions.transformers).toBe(zooRequirementLines().find((l) => l.startsWith('transformers=='))?.split('==')[1]);
      const onnx = inspectModelBytes(readFileSync(join(m.dir, 'model.onnx')), join(m.dir, 'model.onnx'));
      expect(onnx.opsets['']).toBe(17);
      expect(onnx.inputs.map((i) => [i.name, i.shape])).toEqual(arch.inputs.map((i) => [i.name, i.dims]));
      const outs = await readTensors(join(m.dir, 'outputs.pt'));
      for (const o of arch.outputs) {
        const t = outs.tensors.get(o.name);
        expect(t?.dims, `${m.name}.${o.name}`).toEqual(o.dims.map((d, k) => (typeof d === 'number' ? d : (arch.inputs[0]?.shape[k] ?? -1))));
      }
      const ins = await readTensors(join(m.dir, 'inputs.pt'));
      expect([...ins.tensors.keys()]).toEqual(arch.inputs.map((i) => i.name));
    }
    // bert_tiny's mask pads the last 32 of 128 positions; its ids stay in the vocabulary
    const bert = await readTensors(join(ZOO_DIR, 'bert_tiny/inputs.pt'));
    const mask = Array.from(bert.tensors.get('attention_mask')?.data as BigInt64Array, Number);
    expect(mask.slice(0, 96).every((v) => v === 1) && mask.slice(96).every((v) => v === 0)).toBe(true);
    const ids = Array.from(bert.tensors.get('input_ids')?.data as BigInt64Array, Number);
    expect(Math.min(...ids)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...ids)).toBeLessThanOrEqual(30521);
    const suite = readFileSync(res.suitePath, 'utf8');
    expect(suite).toMatch(/factory: mobilenet_v2\/zoo_models.py:mobilenet_v2/);
    expect(suite).toMatch(/input_ids: \[ 1, 128 \]/);
  }, 600_000);

  it('a second prepare is a cache hit: nothing rebuilt, same files', async () => {
    const before = readFileSync(join(ZOO_DIR, 'mobilenet_v2/model.onnx'));
    const res = await prepareZoo({ names: CI_MODELS, dir: ZOO_DIR, install: false, log: () => {} });
    expect(res.models.map((m) => m.cached)).toEqual([true, true]);
    expect(readFileSync(join(ZOO_DIR, 'mobilenet_v2/model.onnx')).equals(before)).toBe(true);
  }, 120_000);

  it('benchalign run <dir>/zoo.yaml --accuracy-only: every available CPU engine runs both and aligns with the default fp32 tolerances', async () => {
    const available = new Map<string, boolean>();
    for (const e of CPU_ENGINES) available.set(e, (await engineAvailability(e)).available);
    const dir = tempDir('zoo-run');
    try {
      const { results } = await runSuite({ suitePath: join(ZOO_DIR, 'zoo.yaml'), outDir: join(dir, 'run'), quiet: true, mode: 'accuracy-only', engines: CPU_ENGINES });
      expect(results.jobs).toHaveLength(CI_MODELS.length * CPU_ENGINES.length);
      for (const job of results.jobs) {
        if (available.get(job.engine.name)) expect(job.status, `${job.key}: ${job.reason ?? ''}\n${job.stderrTail ?? ''}`).toBe('ok');
        else expect(job.status, job.key).toBe('skipped');
      }
      expect(misaligned(results)).toEqual([]);
      for (const job of results.jobs.filter((j) => j.status === 'ok')) {
        expect(job.alignment?.length, job.key).toBe(zooArchitecture(job.model.name)?.outputs.length);
        for (const a of job.alignment ?? []) expect(a.tolerance.atol, `${job.key}/${a.name}`).toBe(1e-4);
      }
      // ncnn has no integer-to-float Cast: bert_tiny's attention_mask is fed as float32, and the run says so
      const ncnnBert = results.jobs.find((j) => j.model.name === 'bert_tiny' && j.engine.name === 'ncnn');
      if (ncnnBert?.status === 'ok') expect(ncnnBert.engine.notes?.join('\n')).toMatch(/attention_mask \(int64\) is used only through casts to float32/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 900_000);
});
