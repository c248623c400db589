/** The project's npm configuration: no unknown keys (npm warns on every `npx benchalign` call), and onnxruntime-node's install script never runs (it downloads CUDA files). */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO = join(import.meta.dirname, '..', '..');

describe('npm configuration', () => {
  it('npm in the project prints no "Unknown project config" warning', () => {
    const r = spawnSync('npm', ['pkg', 'get', 'name'], { cwd: REPO, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('"benchalign"');
    expect(r.stderr).not.toMatch(/Unknown (project|user|builtin) config/);
  });

  it('only the packages that need their install scripts may run them; onnxruntime-node is denied', () => {
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> };
    expect(pkg.allowScripts?.['onnxruntime-node']).toBe(false);
    expect(pkg.allowScripts?.['better-sqlite3']).toBe(true);
    const listed = spawnSync('npm', ['install-scripts', 'ls'], { cwd: REPO, encoding: 'utf8' });
    // every package with an install script is decided (approved or denied) in package.json
    expect(`${listed.stdout}${listed.stderr}`).not.toMatch(/not yet covered by allowScripts/);
  });
});
