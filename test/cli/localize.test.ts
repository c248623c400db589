/**
 * `benchalign localize` for real: the CLI process, ONNX Runtime, OpenVINO and PyTorch (forward
 * hooks) on the generated LocNet fixtures (test/fixtures/make_localize.py), whose divergence sits
 * at a known layer: one middle convolution's weight times 1.03 in the ONNX file, through both
 * ONNX exporters (BatchNorm folded: the fused case), and a scope-free graph compared between two
 * engines where only the fp16 engine rounds, from a known MatMul on. The PyTorch side also comes
 * from TorchScript forms (traced and scripted), read from the inlined graph instead of hooks.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LocalizeReport } from '../../src/execution/localize.js';
import { readNpySync } from '../../src/tensors/npy.js';
import { REPO, tempDir } from '../agents/helpers.js';
import { engineAvailability } from '../runners/engine-suite.js';

const BIN = join(REPO, 'bin/benchalign.js');
const FIX = join(REPO, 'test/fixtures/generated/localize');
const present = existsSync(join(FIX, 'expected.json'));
if (!present) process.stderr.write(`localize CLI tests skip: fixtures missing in ${FIX} (run bash scripts/setup-test-env.sh)\n`);
const expected = present
  ? (JSON.parse(readFileSync(join(FIX, 'expected.json'), 'utf8')) as { nodes: string[]; perturbedNode: string; perturbedModule: string; dynamoPerturbedNode: string; dynamoPerturbedModule: string; plainFirstInexactNode: string })
  : undefined;
const openvino = await engineAvailability('openvino');
const pytorch = await engineAvailability('pytorch');
const converted = { mnn: await engineAvailability('mnn'), ncnn: await engineAvailability('ncnn') };
if (!openvino.available) process.stderr.write(`localize CLI tests: openvino cases skip: ${openvino.reason}\n`);
if (!pytorch.available) process.stderr.write(`localize CLI tests: PyTorch cases skip: ${pytorch.reason}\n`);

function localize(args: string[]): { status: number | null; stdout: string; stderr: string; out: string; report?: LocalizeReport } {
  const out = tempDir('localize');
  const r = spawnSync(process.execPath, [BIN, 'localize', ...args, '--out', out], { encoding: 'utf8', env: { ...process.env, CI: '1' }, timeout: 300_000 });
  const file = join(out, 'localize.json');
  if (r.status === null) {
    // Killed at the timeout: say whether it hung before or after writing its report, and where it was.
    process.stderr.write(`localize ${args.join(' ')}: killed by ${r.signal} after 300 s; localize.json ${existsSync(file) ? 'written' : 'not written'}; stderr tail:\n${r.stderr.split('\n').slice(-15).join('\n')}\n`);
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, out, ...(existsSync(file) ? { report: JSON.parse(readFileSync(file, 'utf8')) as LocalizeReport } : {}) };
}

interface HookFile {
  modules: Array<{ name: string; type: string; leaf: boolean; order: number; file?: string; note?: string }>;
}
function hooksOf(out: string): HookFile {
  return JSON.parse(readFileSync(join(out, 'pytorch', 'hooks.json'), 'utf8')) as HookFile;
}

describe.skipIf(!present || !pytorch.available)('benchalign localize against PyTorch forward hooks', () => {
  it('names the perturbed convolution and its module on onnxruntime, with BatchNorm folded into it', () => {
    const r = localize([join(FIX, 'perturbed.yaml'), '--model', 'locnet', '--engine', 'onnxruntime']);
    expect(r.status).toBe(1);
    const d = r.report?.firstDivergence;
    expect(d?.node).toBe(expected?.perturbedNode);
    expect(d?.opType).toBe('Conv');
    expect(d?.modules?.[0]).toBe(expected?.perturbedModule);
    expect(d?.folded).toEqual(['block2.bn2']);
    expect(r.report?.outputsAligned).toBe(false);
    // everything before it aligned, compared at the tensors PyTorch really has
    const before = r.report?.points.filter((p) => p.nodeIndex < (d?.nodeIndex ?? 0)) ?? [];
    expect(before.length).toBeGreaterThanOrEqual(5);
    expect(before.every((p) => p.status === 'aligned')).toBe(true);
    expect(r.report?.folded.map((f) => f.modules.join('+'))).toContain('block2.bn2');
    expect(r.stdout).toContain(`First divergent layer: ${expected?.perturbedNode} (Conv, PyTorch module ${expected?.perturbedModule}`);
  });

  it('reports no divergence on the unaltered export (exit 0)', () => {
    const r = localize([join(FIX, 'suite.yaml'), '--model', 'locnet', '--engine', 'onnxruntime']);
    expect(r.status).toBe(0);
    expect(r.report?.firstDivergence).toBeUndefined();
    expect(r.report?.outputsAligned).toBe(true);
    expect(r.report?.points.length).toBe(r.report?.candidates);
    expect(r.report?.points.every((p) => p.status === 'aligned')).toBe(true);
    expect(r.stdout).toContain('No divergence');
  });

  it('bisects when fewer tensors may be exposed per run, and finds the same layer', () => {
    const r = localize([join(FIX, 'perturbed.yaml'), '--model', 'locnet', '--engine', 'onnxruntime', '--max-exposed', '3']);
    expect(r.status).toBe(1);
    expect(r.report?.rounds).toBeGreaterThan(1);
    expect(r.report?.points.length).toBeLessThan(r.report?.candidates ?? 0);
    expect(r.report?.firstDivergence?.node).toBe(expected?.perturbedNode);
  });

  it('reads the torch.export exporter scopes (metadata, BatchNorm owns the fused Conv) and names the perturbed Conv', () => {
    const r = localize([join(FIX, 'dynamo-perturbed.yaml'), '--model', 'locnet', '--engine', 'onnxruntime']);
    expect(r.status).toBe(1);
    expect(r.report?.firstDivergence?.node).toBe(expected?.dynamoPerturbedNode);
    expect(r.report?.firstDivergence?.modules?.[0]).toBe(expected?.dynamoPerturbedModule);
    const clean = localize([join(FIX, 'dynamo.yaml'), '--model', 'locnet', '--engine', 'onnxruntime']);
    expect(clean.status).toBe(0);
    expect(clean.report?.firstDivergence).toBeUndefined();
  });

  it.skipIf(!openvino.available)('stays within the perturbed block on openvino, and finds nothing on the unaltered export', () => {
    const r = localize([join(FIX, 'perturbed.yaml'), '--model', 'locnet', '--engine', 'openvino']);
    expect(r.status).toBe(1);
    expect(r.report?.engine.effectivePrecision).toBe('fp32');
    expect(r.report?.firstDivergence?.modules?.[0]).toMatch(/^block2\./);
    expect(r.report?.notExposed).toEqual([]);
    // OpenVINO says what it fuses in the production graph (originalLayersNames): the diverged conv is fused with what follows it
    expect(r.report?.engineFusion?.length).toBeGreaterThan(0);
    expect(r.report?.divergenceFusedWith?.[0]?.onnxNodes).toContain(r.report?.firstDivergence?.node);
    expect(r.stdout).toMatch(/openvino runs it fused: /);
    const clean = localize([join(FIX, 'suite.yaml'), '--model', 'locnet', '--engine', 'openvino']);
    expect(clean.status).toBe(0);
    expect(clean.report?.firstDivergence).toBeUndefined();
  });

  it('localizes the pytorch engine itself: its fp16 (autocast) hooks against fp32 diverge at the first convolution', () => {
    const dir = tempDir('localize-pt');
    const suite = join(dir, 'suite.yaml');
    const model = `models:\n  - name: locnet\n    path: ${join(FIX, 'model.onnx')}\n    pytorch: { factory: "${join(FIX, 'locnet.py')}:locnet" }\n    inputs: { source: reference, file: ${join(FIX, 'inputs.npz')} }\n    reference: ${join(FIX, 'outputs.npz')}\n`;
    writeFileSync(suite, `name: pt\n${model}engines:\n  - name: pytorch\n    precision: fp16\n  - { name: pytorch, label: full, precision: fp32 }\n`);
    const r = localize([suite, '--model', 'locnet', '--engine', 'pytorch', '--atol', '1e-4', '--rtol', '1e-4']);
    expect(r.status).toBe(1);
    expect(r.report?.engine.precision).toBe('fp16');
    expect(r.report?.firstDivergence?.node).toBe(expected?.nodes[0]);
    expect(r.report?.firstDivergence?.alignedInputs).toEqual([]);
    expect(r.report?.notes.join(' ')).toMatch(/2 configurations of pytorch for locnet; localized locnet\/pytorch\/fp16/);
  });

  it('reads a TorchScript form (traced and scripted) from its inlined graph: the same module outputs as the hooks, the same layer', () => {
    const factory = localize([join(FIX, 'perturbed.yaml'), '--model', 'locnet', '--engine', 'onnxruntime']);
    const fromHooks = hooksOf(factory.out).modules;
    expect(fromHooks.length).toBeGreaterThan(20);
    for (const form of ['traced', 'scripted']) {
      const r = localize([join(FIX, `${form}.yaml`), '--model', 'locnet', '--engine', 'onnxruntime']);
      expect(r.status, `${form}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toContain('TorchScript: module outputs read from its inlined graph');
      expect(r.stdout).toContain(`(torchscript ${join(FIX, `${form}.pt`)}, module outputs from its inlined graph)`);
      const d = r.report?.firstDivergence;
      expect(d?.node).toBe(expected?.perturbedNode);
      expect(d?.modules?.[0]).toBe(expected?.perturbedModule);
      expect(d?.folded).toEqual(['block2.bn2']);
      expect(r.report?.points.map((p) => [p.node, p.status])).toEqual(factory.report?.points.map((p) => [p.node, p.status]));
      // every module call the hooks saw, in hook order, with the same type, leaf flag and tensor
      const fromGraph = hooksOf(r.out).modules;
      expect(fromGraph.map((m) => [m.name, m.type, m.leaf])).toEqual(fromHooks.map((m) => [m.name, m.type, m.leaf]));
      for (const [i, m] of fromGraph.entries()) {
        const h = fromHooks[i];
        expect(m.file, `${form} ${m.name}: ${m.note ?? ''}`).toBeDefined();
        const a = readNpySync(m.file ?? '');
        const b = readNpySync(h?.file ?? '');
        expect(a.dims).toEqual(b.dims);
        let worst = 0;
        for (let k = 0; k < a.data.length; k++) worst = Math.max(worst, Math.abs(Number(a.data[k]) - Number(b.data[k])));
        expect(worst, `${form} ${m.name}`).toBeLessThanOrEqual(1e-5);
      }
    }
  });

  for (const engine of ['mnn', 'ncnn'] as const) {
    it.skipIf(!converted[engine].available)(`names the perturbed convolution on ${engine}, through its converter`, () => {
      const r = localize([join(FIX, 'perturbed.yaml'), '--model', 'locnet', '--engine', engine]);
      expect(r.status).toBe(1);
      expect(r.report?.notExposed).toEqual([]);
      expect(r.report?.firstDivergence?.node).toBe(expected?.perturbedNode);
    });
  }
});

describe.skipIf(!present || !openvino.available)('benchalign localize between two engines (--against)', () => {
  it('finds the first MatMul that fp16/bf16 rounding touches in a graph without module scopes', (ctx) => {
    const r = localize([join(FIX, 'plain.yaml'), '--model', 'plain', '--engine', 'openvino', '--against', 'onnxruntime', '--atol', '0', '--rtol', '0']);
    if (r.report?.engine.effectivePrecision === 'fp32') {
      process.stderr.write('localize --against test skips: openvino runs fp16 as fp32 on this CPU, so nothing diverges\n');
      ctx.skip();
    }
    expect(r.status).toBe(1);
    expect(r.report?.reference).toMatchObject({ kind: 'engine', name: 'onnxruntime', precision: 'fp32' });
    expect(r.report?.firstDivergence?.node).toBe(expected?.plainFirstInexactNode);
    expect(r.report?.firstDivergence?.alignedInputs.length).toBeGreaterThan(0);
    expect(r.report?.candidates).toBe(8);
  });

  it('reports no divergence when both engines run the same fp32 model', () => {
    const r = localize([join(FIX, 'perturbed.yaml'), '--model', 'locnet', '--engine', 'openvino', '--against', 'onnxruntime']);
    expect(r.status).toBe(0);
    expect(r.report?.firstDivergence).toBeUndefined();
    expect(r.report?.points.length).toBe(20);
  });
});

describe.skipIf(!present || !pytorch.available)('benchalign run --localize and compare', () => {
  it('localizes the job that failed alignment into the run folder, and compare draws it in report.html', () => {
    const dir = tempDir('run-localize');
    const run = join(dir, 'run');
    const r = spawnSync(process.execPath, [BIN, 'run', join(FIX, 'perturbed.yaml'), '--engines', 'onnxruntime', '--accuracy-only', '--localize', '--no-store', '--quiet', '--out', run], { encoding: 'utf8', timeout: 300_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`localize locnet/onnxruntime/fp32: first divergent layer ${expected?.perturbedNode} (Conv, ${expected?.perturbedModule})`);
    const report = JSON.parse(readFileSync(join(run, 'localize', 'locnet_onnxruntime_fp32', 'localize.json'), 'utf8')) as LocalizeReport;
    expect(report.firstDivergence?.node).toBe(expected?.perturbedNode);
    const c = spawnSync(process.execPath, [BIN, 'compare', run, '--out', join(dir, 'cmp')], { encoding: 'utf8', timeout: 120_000 });
    expect(c.status).toBe(0);
    const html = readFileSync(join(dir, 'cmp', 'report.html'), 'utf8');
    expect(html).toContain('<h2>Where it diverges</h2>');
    expect(html).toContain(`First divergent layer: <b>${expected?.perturbedNode}</b>`);
    expect(html.match(/<circle /g)?.length).toBe(report.points.length);
  });
});

describe.skipIf(!present)('benchalign localize input errors', () => {
  it('exits 2 naming the model when the suite has no PyTorch form and no --against', () => {
    const r = localize([join(FIX, 'plain.yaml'), '--model', 'plain', '--engine', 'onnxruntime']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/model "plain" has no `pytorch` entry.*--against/s);
  });

  it.skipIf(!pytorch.available)('exits 2 for a TorchScript form that calls no submodules (nothing to compare), pointing to --against', () => {
    const r = localize([join(FIX, 'flat.yaml'), '--model', 'locnet', '--engine', 'onnxruntime']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/TorchScript module \S*flat\.pt calls no submodules.*--against/s);
  });

  it('exits 2 for a model or engine the suite does not have', () => {
    const r = localize([join(FIX, 'suite.yaml'), '--model', 'nope', '--engine', 'onnxruntime']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/nope/);
  });
});
