import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, cnnModel, tempDir, writeSuite } from '../agents/helpers.js';

const BIN = join(REPO, 'bin/benchalign.js');

describe('BENCHALIGN_STORE', () => {
  it('sets the default store, wherever run is started from, and run says which store it used', () => {
    const dir = tempDir('store-env');
    const suite = writeSuite(dir, { models: [cnnModel()], engines: [{ name: 'onnxruntime', options: { intraOpThreads: 1 } }] });
    const store = join(dir, 'shared.db');
    const elsewhere = join(dir, 'elsewhere');
    mkdirSync(elsewhere);
    const env = { ...process.env, CI: '1', BENCHALIGN_STORE: store };
    const r = spawnSync(process.execPath, [BIN, 'run', suite, '--accuracy-only', '--out', join(dir, 'out')], { cwd: elsewhere, encoding: 'utf8', env, timeout: 120_000 });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`run \\S+ recorded in the results store ${store.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    expect(existsSync(store)).toBe(true);
    expect(existsSync(join(elsewhere, 'reports', 'benchalign.db'))).toBe(false);
    const h = spawnSync(process.execPath, [BIN, 'history', '--json'], { cwd: elsewhere, encoding: 'utf8', env, timeout: 60_000 });
    expect(h.status).toBe(0);
    expect(h.stdout).toContain('cnn/onnxruntime/fp32');
  });
});
