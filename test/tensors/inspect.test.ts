import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { formatInspect, inspectFile, type ModelReport, type TensorFileReport } from '../../src/tensors/inspect.js';
import { FIXTURES, loadManifest } from './helpers.js';

const manifest = loadManifest();
const close = (a: number | null, b: number | null, label: string): void => {
  if (b === null) return expect(a, label).toBeNull();
  expect(a, label).not.toBeNull();
  expect(Math.abs((a as number) - b), `${label}: ${a} vs numpy ${b}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(b)));
};

describe('inspect on tensor files matches numpy statistics', () => {
  it.each(Object.keys(manifest.files).filter((f) => !f.includes('bomb')))('%s', async (rel) => {
    const r = (await inspectFile(join(FIXTURES, rel))) as TensorFileReport;
    expect(r.kind).toBe('tensors');
    for (const [name, e] of Object.entries(manifest.files[rel]?.tensors ?? {})) {
      const s = r.tensors.find((t) => t.name === name);
      expect(s, name).toBeDefined();
      if (s === undefined) continue;
      expect(s.dtype).toBe(e.dtype);
      expect(s.dims).toEqual(e.shape);
      expect(s.nanCount).toBe(e.nan);
      expect(s.infCount).toBe(e.inf);
      for (const k of ['min', 'max', 'mean', 'std'] as const) close(s[k], e[k], `${name}.${k}`);
    }
  });
});

describe('inspect on ONNX models', () => {
  it.each(Object.keys(manifest.inspect))('%s: io with symbolic dims, opsets, op histogram, initializers', async (rel) => {
    const r = (await inspectFile(join(FIXTURES, rel))) as ModelReport;
    const e = manifest.inspect[rel] as Record<string, unknown>;
    expect(r.kind).toBe('onnx-model');
    expect(r.inputs).toEqual(e.inputs);
    expect(r.outputs).toEqual(e.outputs);
    expect(r.opsets).toEqual(e.opsets);
    expect(r.producer).toBe(e.producer);
    expect(r.producerVersion).toBe(e.producerVersion);
    expect(r.irVersion).toBe(e.irVersion);
    expect(r.nodeCount).toBe(e.nodeCount);
    expect(r.ops).toEqual(e.ops);
    expect(r.initializerCount).toBe(e.initializerCount);
    expect(r.initializerBytes).toBe(e.initializerBytes);
    expect(formatInspect(r)).toContain('input: float32 [batch, 4]');
  });
  it('counts external initializers without reading their (deleted) data file', async () => {
    const r = (await inspectFile(join(FIXTURES, 'onnx/external/model.onnx'))) as ModelReport;
    expect(r.externalInitializerCount).toBe(3);
  });
});

describe('benchalign inspect (CLI)', () => {
  afterEach(() => vi.restoreAllMocks());
  const capture = async (args: string[]): Promise<{ code: number; out: string; err: string }> => {
    let out = '';
    let err = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
    const code = await main(['node', 'benchalign', 'inspect', ...args]);
    vi.restoreAllMocks();
    return { code, out, err };
  };
  it('--json prints the report', async () => {
    const { code, out } = await capture([join(FIXTURES, 'npy/stats.npy'), '--json']);
    expect(code).toBe(0);
    const r = JSON.parse(out) as TensorFileReport;
    expect(r.tensors[0]?.nanCount).toBe(2);
    expect(r.tensors[0]?.infCount).toBe(2);
  });
  it('prints a table of tensors', async () => {
    const { code, out } = await capture([join(FIXTURES, 'pt/nested.pt')]);
    expect(code).toBe(0);
    expect(out).toMatch(/outputs\.logits\s+float32\s+2x5/);
    expect(out).toContain('epoch: 3');
  });
  it('exits 2 with the typed error on an unsafe pickle', async () => {
    const { code, err } = await capture([join(FIXTURES, 'bad/evil_os_system.pt')]);
    expect(code).toBe(2);
    expect(err).toContain('E_UNSAFE_PICKLE');
  });
});
