import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { newRunId, runSuite } from '../../src/workflows/run.js';
import { openStore } from '../../src/results/store/store.js';
import { cnnModel, tempDir, writeSuite } from './helpers.js';

const ORT = { name: 'onnxruntime', options: { intraOpThreads: 1 } };

describe('no run is lost', () => {
  it('run ids of runs started in the same second differ (random suffix)', () => {
    const t = new Date('2026-01-05T02:00:00.123Z');
    const ids = new Set(Array.from({ length: 200 }, () => newRunId(t, 'nightly')));
    expect(ids.size).toBe(200);
    for (const id of ids) expect(id).toMatch(/^2026-01-05T020000Z-nightly-[0-9a-f]{8}$/);
  });

  it('two runs of one suite started at once both land in the store, tags included', async () => {
    const dir = tempDir('ids');
    const suite = writeSuite(dir, { models: [cnnModel()], engines: [ORT] });
    const db = join(dir, 'store.db');
    const [a, b] = await Promise.all(
      ['a', 'b'].map((o) => runSuite({ suitePath: suite, outDir: join(dir, o), quiet: true, mode: 'accuracy-only', store: db, tags: ['nightly'] })),
    );
    expect(a?.results.run.startedAt.slice(0, 19)).toBe(b?.results.run.startedAt.slice(0, 19));
    expect(a?.results.run.id).not.toBe(b?.results.run.id);
    const store = await openStore(db);
    try {
      const runs = await store.listRuns();
      expect(runs.map((r) => r.id).sort()).toEqual([a?.results.run.id, b?.results.run.id].sort());
      expect(runs.every((r) => r.tags.includes('nightly'))).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('reusing an --out folder that holds a run is refused (exit 2) and leaves that run as it was', async () => {
    const dir = tempDir('out-reuse');
    const suite = writeSuite(dir, { models: [cnnModel()], engines: [ORT] });
    const out = join(dir, 'out');
    await runSuite({ suitePath: suite, outDir: out, quiet: true, mode: 'accuracy-only' });
    const first = readFileSync(join(out, 'results.json'), 'utf8');
    const again = runSuite({ suitePath: suite, outDir: out, quiet: true, mode: 'accuracy-only' });
    await expect(again).rejects.toMatchObject({ code: 'E_USAGE', exitCode: 2 });
    await expect(again).rejects.toThrow(/already holds a run \(results\.json\); it is not overwritten/);
    expect(readFileSync(join(out, 'results.json'), 'utf8')).toBe(first);
    // asked for explicitly, the folder is replaced by the new run
    const replaced = await runSuite({ suitePath: suite, outDir: out, quiet: true, mode: 'accuracy-only', overwrite: true });
    expect(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')).run.id).toBe(replaced.results.run.id);
    expect(replaced.results.run.id).not.toBe(JSON.parse(first).run.id);
  });
});
