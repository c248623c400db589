import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DTYPES, DTYPE_CTOR, type DType } from '../../src/tensors/dtype.js';
import { encodeNpy, parseNpy, readNpy, writeNpy } from '../../src/tensors/npy.js';
import { encodeSafetensors, parseSafetensors, readSafetensors, writeSafetensors } from '../../src/tensors/safetensors.js';
import { makeTensor, type NamedTensors, type Tensor } from '../../src/tensors/tensor.js';

const dir = mkdtempSync(join(tmpdir(), 'benchalign-writers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sample(dtype: DType, dims: number[]): Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new DTYPE_CTOR[dtype](n);
  for (let i = 0; i < n; i++) {
    const v = (i * 7919) % 251;
    if (dtype === 'int64' || dtype === 'uint64') (data as BigInt64Array)[i] = BigInt(v) * (dtype === 'int64' ? -(2n ** 40n) : 2n ** 56n);
    else if (dtype === 'float16') (data as Uint16Array)[i] = 0x3c00 + v;
    else if (dtype === 'bfloat16') (data as Uint16Array)[i] = 0x3f80 + v;
    else if (dtype === 'bool') (data as Uint8Array)[i] = v & 1;
    else if (dtype === 'int8' || dtype === 'int16' || dtype === 'int32') (data as Int32Array)[i] = v - 125;
    else if (dtype === 'float32' || dtype === 'float64') (data as Float32Array)[i] = (v - 125) * 0.25;
    else (data as Uint32Array)[i] = v;
  }
  return makeTensor(dtype, dims, data);
}
const NPY_DTYPES = DTYPES.filter((d) => d !== 'bfloat16');
const byteArr = (t: Tensor): number[] => Array.from(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));

describe('npy writer', () => {
  it.each(NPY_DTYPES)('%s round-trips through encodeNpy/parseNpy and writeNpy/readNpy', async (dtype) => {
    const t = sample(dtype, [3, 5]);
    const back = parseNpy(encodeNpy(t), 'mem.npy');
    expect(back.dtype).toBe(dtype);
    expect(back.dims).toEqual([3, 5]);
    expect(byteArr(back)).toEqual(byteArr(t));
    await writeNpy(join(dir, `${dtype}.npy`), t);
    expect(byteArr(await readNpy(join(dir, `${dtype}.npy`)))).toEqual(byteArr(t));
  });
  it('writes scalars and 1-d shapes numpy can parse, with 64-byte aligned headers', () => {
    expect((encodeNpy(sample('float32', [])).length - 4) % 64).toBe(0);
    expect((encodeNpy(sample('float32', [7])).length - 28) % 64).toBe(0);
  });
  it('refuses bfloat16 with a typed error', () => {
    expect(() => encodeNpy(sample('bfloat16', [2]))).toThrow(expect.objectContaining({ code: 'E_UNSUPPORTED' }) as Error);
  });
});

describe('safetensors writer', () => {
  const all: NamedTensors = new Map(DTYPES.map((d) => [`t_${d}`, sample(d, [2, 3])]));
  all.set('scalar', sample('float64', []));
  it('round-trips every dtype and the metadata', async () => {
    const c = parseSafetensors(encodeSafetensors(all, { a: 'b' }), 'mem.safetensors');
    expect(c.metadata).toEqual({ a: 'b' });
    for (const [n, t] of all) {
      expect(c.tensors.get(n)?.dtype).toBe(t.dtype);
      expect(byteArr(c.tensors.get(n) as Tensor)).toEqual(byteArr(t));
    }
    await writeSafetensors(join(dir, 'all.safetensors'), all, { a: 'b' });
    expect((await readSafetensors(join(dir, 'all.safetensors'))).tensors.size).toBe(all.size);
  });
});

describe('files written here are readable by numpy and safetensors in Python', () => {
  it('numpy.load and safetensors.numpy.load_file agree on dtype, shape and exact values', async () => {
    for (const d of NPY_DTYPES) await writeNpy(join(dir, `py_${d}.npy`), sample(d, [3, 5]));
    const st: NamedTensors = new Map(DTYPES.map((d) => [d, sample(d, [2, 3])]));
    await writeSafetensors(join(dir, 'py.safetensors'), st, { k: 'v' });
    const script = `
import json, sys, numpy as np, torch
from safetensors import safe_open
from safetensors.torch import load_file
d = sys.argv[1]
out = {"npy": {}, "st": {}}
for name in ${JSON.stringify(NPY_DTYPES)}:
    a = np.load(f"{d}/py_{name}.npy")
    vals = a.view(np.uint16) if a.dtype == np.float16 else a
    out["npy"][name] = [str(a.dtype), list(a.shape), [str(v) for v in vals.reshape(-1).tolist()]]
t = load_file(f"{d}/py.safetensors")
with safe_open(f"{d}/py.safetensors", "pt") as f:
    out["meta"] = f.metadata()
for k, v in t.items():
    vals = v.view(torch.int16).to(torch.int64) & 0xFFFF if v.dtype in (torch.float16, torch.bfloat16) else (v.view(torch.int64) if v.dtype == torch.uint64 else v)
    out["st"][k] = [str(v.dtype), list(v.shape), [str(x) for x in vals.reshape(-1).tolist()]]
print(json.dumps(out))
`;
    const res = JSON.parse(execFileSync('.venv/bin/python', ['-c', script, dir], { encoding: 'utf8' })) as {
      npy: Record<string, [string, number[], string[]]>;
      st: Record<string, [string, number[], string[]]>;
      meta: Record<string, string>;
    };
    const pyVal = (t: Tensor, i: number, signedU64 = true): string => {
      const v = t.data[i] as number | bigint;
      if (t.dtype === 'bool') return v ? 'True' : 'False';
      if (t.dtype === 'uint64' && signedU64) return String(BigInt.asIntN(64, v as bigint));
      if (t.dtype === 'float32' || t.dtype === 'float64') return Number.isInteger(v) ? `${v}.0` : String(v);
      return String(v);
    };
    for (const d of NPY_DTYPES) {
      const t = sample(d, [3, 5]);
      const [dt, shape, vals] = res.npy[d] ?? ['', [], []];
      expect(dt).toBe(d);
      expect(shape).toEqual([3, 5]);
      expect(vals).toEqual(Array.from({ length: 15 }, (_, i) => pyVal(t, i, false)));
    }
    expect(res.meta).toEqual({ k: 'v' });
    for (const d of DTYPES) {
      const [dt, shape, vals] = res.st[d] ?? ['', [], []];
      expect(dt).toBe(`torch.${d === 'bool' ? 'bool' : d}`);
      expect(shape).toEqual([2, 3]);
      const t = sample(d, [2, 3]);
      expect(vals).toEqual(Array.from({ length: 6 }, (_, i) => pyVal(t, i)));
    }
  });
});
