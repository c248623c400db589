import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM script without types
import { checkDeps } from '../../scripts/deps.mjs';

const repo = join(import.meta.dirname, '..', '..');

type Check = { edges: Map<string, Set<string>>; violations: string[] };
const check = checkDeps as (root: string) => Check;

describe('folder floors (npm run deps)', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'benchalign-deps-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const tree = (name: string, files: Record<string, string>): string => {
    const root = join(tmp, name);
    for (const [rel, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, rel)), { recursive: true });
      writeFileSync(join(root, rel), text);
    }
    return root;
  };

  it('this repository: every import points down, src/ never imports runner-agents/', () => {
    const { edges, violations } = check(repo);
    expect(violations).toEqual([]);
    // The check saw the real tree, not an empty one.
    expect(edges.get('src/workflows')?.has('src/agents')).toBe(true);
    expect(edges.get('runner-agents')?.has('src/execution')).toBe(true);
    // Both protocols (worker and agent) speak the one JSON-RPC layer.
    expect(edges.get('src/runners')?.has('src/rpc')).toBe(true);
    expect(edges.get('src/agents')?.has('src/rpc')).toBe(true);
  });

  it('catches an upward import, a mutual pair, src -> runner-agents and a folder on no floor', () => {
    const root = tree('bad', {
      'src/metrics/a.ts': "import type { X } from '../results/x.js';\nexport const a = 1;\n",
      'src/results/x.ts': "import { a } from '../metrics/a.js';\nexport type X = typeof a;\n",
      'src/agents/b.ts': "export { c } from '../../runner-agents/c.js';\n",
      'runner-agents/c.ts': 'export const c = 1;\n',
      'src/newthing/d.ts': "import { a } from '../metrics/a.js';\nexport const d = a;\n",
      // An import in a comment is not an import.
      'src/tensors/e.ts': "// import { d } from '../newthing/d.js';\nexport const e = 1;\n",
    });
    const { violations } = check(root);
    expect(violations).toContain(
      "src/metrics/a.ts imports ../results/x.js: src/metrics may not import src/results, which sits on a higher floor",
    );
    expect(violations).toContain('src/metrics and src/results import each other');
    expect(violations).toContain(
      'src/agents/b.ts imports ../../runner-agents/c.js: src/ never imports runner-agents/ (an application built on src/)',
    );
    expect(violations.some((v) => v.startsWith('src/newthing is on no floor'))).toBe(true);
    expect(violations.some((v) => v.includes('src/tensors/e.ts'))).toBe(false);
    expect(violations).toHaveLength(4);
  });

  it('a downward import and a dynamic import() are fine', () => {
    const root = tree('good', {
      'src/model/m.ts': 'export type M = number;\n',
      'src/workflows/w.ts': "import type { M } from '../model/m.js';\nexport const w = async (): Promise<M> => (await import('../model/m.js')) && 1;\n",
    });
    const { edges, violations } = check(root);
    expect(violations).toEqual([]);
    expect([...(edges.get('src/workflows') ?? [])]).toEqual(['src/model']);
  });
});
