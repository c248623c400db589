import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BenchalignError } from '../../src/errors.js';
import { decodeNpyFrame, encodeNpyFrame, readNpyFrame } from '../../src/runners/npy-frame.js';
import { makeTensor } from '../../src/tensors/tensor.js';
import { FIXTURES, REPO } from './helpers.js';

describe('npy frames', () => {
  it('reads numpy-written float32 and int64 files', async () => {
    const ids = await readNpyFrame(`${FIXTURES}two_io.inputs/ids.npy`);
    expect(ids.dtype).toBe('int64');
    expect(ids.dims).toEqual([2, 3]);
    expect(ids.data).toBeInstanceOf(BigInt64Array);
    const a = await readNpyFrame(`${FIXTURES}two_io.inputs/a.npy`);
    expect(a.dtype).toBe('float32');
  });

  it('writes files numpy reads back exactly', () => {
    const dir = mkdtempSync(join(tmpdir(), 'benchalign-npy-'));
    writeFileSync(join(dir, 'f.npy'), encodeNpyFrame(makeTensor('float32', [2, 2], new Float32Array([1.5, -2, 3.25, 0]))));
    writeFileSync(join(dir, 'i.npy'), encodeNpyFrame(makeTensor('int64', [3], new BigInt64Array([-1n, 2n ** 40n, 7n]))));
    writeFileSync(join(dir, 'b.npy'), encodeNpyFrame(makeTensor('bool', [], new Uint8Array([1]))));
    const py = spawnSync(
      `${REPO}.venv/bin/python`,
      ['-c', `import numpy as np,sys; d=sys.argv[1]; f=np.load(d+'/f.npy'); i=np.load(d+'/i.npy'); b=np.load(d+'/b.npy'); print(f.dtype, f.shape, f.tolist(), i.dtype, i.tolist(), b.dtype, b.shape, bool(b))`, dir],
      { encoding: 'utf8' },
    );
    rmSync(dir, { recursive: true, force: true });
    expect(py.stderr).toBe('');
    expect(py.stdout.trim()).toBe(`float32 (2, 2) [[1.5, -2.0], [3.25, 0.0]] int64 [-1, ${2 ** 40}, 7] bool () True`);
  });

  it('round-trips and rejects what is not .npy', () => {
    const t = makeTensor('uint16', [1, 3], new Uint16Array([1, 2, 65535]));
    const back = decodeNpyFrame(encodeNpyFrame(t));
    expect(back.dtype).toBe('uint16');
    expect([...back.data]).toEqual([1, 2, 65535]);
    expect(() => decodeNpyFrame(new Uint8Array([1, 2, 3]), 'x.npy')).toThrow(BenchalignError);
    expect(() => encodeNpyFrame(makeTensor('bfloat16', [1], new Uint16Array(1)))).toThrow(/bfloat16/);
  });
});
