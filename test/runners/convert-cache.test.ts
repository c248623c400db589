/** The conversion cache and the converter runner (real files, real processes). */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachedConversion, conversionKey, runConverter } from '../../src/runners/convert-cache.js';

describe('conversion cache', () => {
  let root = '';
  const saved = process.env.BENCHALIGN_CACHE_DIR;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'benchalign-cc-'));
    process.env.BENCHALIGN_CACHE_DIR = root;
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.BENCHALIGN_CACHE_DIR;
    else process.env.BENCHALIGN_CACHE_DIR = saved;
    rmSync(root, { recursive: true, force: true });
  });
  const key = { engine: 'ncnn', modelSha256: 'ab'.repeat(32), converter: 'pnnx 1', options: { fp16: false, shapes: { x: [1, 3] } } };

  it('keys on every field, independent of object key order', () => {
    expect(conversionKey(key)).toBe(conversionKey({ options: { shapes: { x: [1, 3] }, fp16: false }, converter: 'pnnx 1', modelSha256: 'ab'.repeat(32), engine: 'ncnn' }));
    expect(conversionKey(key)).not.toBe(conversionKey({ ...key, converter: 'pnnx 2' }));
    expect(conversionKey(key)).not.toBe(conversionKey({ ...key, options: { fp16: true, shapes: { x: [1, 3] } } }));
    expect(conversionKey(key)).not.toBe(conversionKey({ ...key, modelSha256: 'cd'.repeat(32) }));
  });

  it('converts once, then hits the cache without calling the converter', async () => {
    let calls = 0;
    const convert = async (out: string) => {
      calls++;
      writeFileSync(join(out, 'model.bin'), 'converted');
    };
    const first = await cachedConversion(key, convert);
    expect(first).toMatchObject({ cacheHit: false });
    expect(first.convertMs).toBeGreaterThan(0);
    expect(readFileSync(join(first.dir, 'model.bin'), 'utf8')).toBe('converted');
    const second = await cachedConversion(key, convert);
    expect(second).toMatchObject({ cacheHit: true, convertMs: 0, dir: first.dir });
    expect(calls).toBe(1);
  });

  it('a failed conversion leaves no entry and no temporary folder, and is retried next time', async () => {
    const k = { ...key, options: { fp16: true } };
    await expect(
      cachedConversion(k, async (out) => {
        writeFileSync(join(out, 'half.bin'), 'partial');
        throw new Error('converter crashed');
      }),
    ).rejects.toThrow('converter crashed');
    expect(readdirSync(join(root, 'convert', 'ncnn')).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
    expect(existsSync(join(root, 'convert', 'ncnn', conversionKey(k)))).toBe(false);
    const ok = await cachedConversion(k, async (out) => writeFileSync(join(out, 'model.bin'), 'x'));
    expect(ok.cacheHit).toBe(false);
  });
});

describe('runConverter', () => {
  it('returns the output of a converter that succeeds', async () => {
    expect(await runConverter(['/bin/sh', '-c', 'echo converted; echo warn >&2'], { cwd: tmpdir() })).toMatch(/converted\nwarn|warn\nconverted/);
  });

  it('a failing converter rejects with E_CONVERT, its exit code and the tail of its log', async () => {
    const script = 'for i in $(seq 1 100); do echo "line $i"; done; echo "fatal: unsupported op Foo" >&2; exit 3';
    const err = await runConverter(['/bin/sh', '-c', script], { cwd: tmpdir() }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_CONVERT' });
    const msg = (err as Error).message;
    expect(msg).toMatch(/^sh exited with code 3; its last output:/);
    expect(msg).toContain('fatal: unsupported op Foo');
    expect(msg).toContain('line 100');
    expect(msg).not.toContain('line 50\n');
  });

  it('kills a converter past its timeout, and names a missing one', async () => {
    await expect(runConverter(['/bin/sleep', '10'], { cwd: tmpdir(), timeoutMs: 200 })).rejects.toMatchObject({
      code: 'E_CONVERT',
      message: expect.stringContaining('killed by SIGKILL (timeout)'),
    });
    await expect(runConverter(['/nonexistent/pnnx'], { cwd: tmpdir() })).rejects.toMatchObject({
      code: 'E_CONVERT',
      message: expect.stringContaining('cannot start pnnx'),
    });
  });
});
