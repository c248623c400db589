import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BenchalignError } from '../../src/errors.js';
import { parseNpz } from '../../src/tensors/npz.js';
import { readTensors } from '../../src/tensors/read.js';
import { FIXTURES, loadManifest } from './helpers.js';

const manifest = loadManifest();

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'no error';
  } catch (e) {
    expect(e).toBeInstanceOf(BenchalignError);
    return (e as BenchalignError).code;
  }
}

describe('bad files give the expected typed error naming the file', () => {
  it.each(Object.entries(manifest.errors))('%s -> %s', async (rel, code) => {
    const file = join(FIXTURES, rel);
    const err = await readTensors(file).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BenchalignError);
    expect((err as BenchalignError).code).toBe(code);
    expect((err as BenchalignError).message).toContain(file);
  });
});

describe('malicious pickles', () => {
  it.each(['evil_os_system', 'evil_posix_system', 'evil_builtins_eval', 'evil_subprocess', 'evil_in_storage'])('%s is refused, names the global and has no side effect', async (name) => {
    const err = await readTensors(join(FIXTURES, 'bad', `${name}.pt`)).catch((e: unknown) => e);
    expect((err as BenchalignError).code).toBe('E_UNSAFE_PICKLE');
    const global = { evil_os_system: 'os.system', evil_posix_system: 'posix.system', evil_builtins_eval: 'builtins.eval', evil_subprocess: 'subprocess.Popen', evil_in_storage: 'os.system' }[name];
    expect((err as BenchalignError).message).toContain(`GLOBAL ${global}`);
    expect(existsSync(manifest.marker)).toBe(false);
  });
  it('legacy .pt says how to re-save', async () => {
    const err = (await readTensors(join(FIXTURES, 'bad/legacy.pt')).catch((e: unknown) => e)) as BenchalignError;
    expect(err.message).toMatch(/torch\.save/);
    expect(err.message).toMatch(/_use_new_zipfile_serialization=True/);
  });
});

describe('zip bombs', () => {
  const single = readFileSync(join(FIXTURES, 'bad/bomb_single.npz'));
  const many = readFileSync(join(FIXTURES, 'bad/bomb_many.npz'));
  it('refuses an entry whose declared size is over the per-entry cap, before inflating', async () => {
    expect(single.length).toBeLessThan(2 ** 20);
    expect(() => parseNpz(single, 'bomb_single.npz', { maxEntryBytes: 32 * 2 ** 20 })).toThrow(/zip bomb/);
    expect(await codeOf(readTensors(join(FIXTURES, 'bad/bomb_single.npz'), { zip: { maxEntryBytes: 32 * 2 ** 20 } }))).toBe('E_TENSOR_FORMAT');
  });
  it('refuses archives whose entries together exceed the total cap', () => {
    expect(() => parseNpz(many, 'bomb_many.npz', { maxTotalBytes: 100 * 2 ** 20 })).toThrow(/total/);
  });
  it('refuses a compression ratio over the ratio cap', () => {
    expect(() => parseNpz(single, 'bomb_single.npz', { maxRatio: 100 })).toThrow(/ratio/);
  });
  it('refuses a forged 4 GB declared size with default limits (ratio)', async () => {
    expect(await codeOf(readTensors(join(FIXTURES, 'bad/absurd_size.npz')))).toBe('E_TENSOR_FORMAT');
  });
  it('reads the same bomb when the limits allow it (the guard is the limit, not a crash)', () => {
    const t = parseNpz(single, 'bomb_single.npz', { maxEntryBytes: 256 * 2 ** 20 }).get('bomb');
    expect(t?.dims).toEqual([128 * 2 ** 20]);
    expect((t?.data as Uint8Array)[12345]).toBe(0);
  });
});
