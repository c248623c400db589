import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareEngines } from '../../src/workflows/compare.js';
import type { ReportData } from '../../src/reports/html/view-model.js';
import { tempDir } from '../agents/helpers.js';
import { syntheticRun } from '../results/store-contract.js';

describe('compare of two runs of one suite on one device', () => {
  it('names the run in tables, legends (series labels) and takes the speedup baseline within each run', async () => {
    const dir = tempDir('cmp-labels');
    const a = join(dir, 'a.json');
    const b = join(dir, 'b.json');
    writeFileSync(a, JSON.stringify(syntheticRun('2026-01-05T020000Z-s-1111aaaa', '2026-01-05T02:00:00.000Z', 1)));
    writeFileSync(b, JSON.stringify(syntheticRun('2026-01-05T020000Z-s-2222bbbb', '2026-01-05T02:00:00.000Z', 2)));
    const { files, data } = await compareEngines({ inputs: [a, b], outDir: join(dir, 'out'), baselineEngine: 'onnxruntime' });
    expect(data.multiRun).toBe(true);
    expect(data.runs.map((r) => r.label)).toEqual(['#1 (…1111aaaa)', '#2 (…2222bbbb)']);
    const md = readFileSync(files.md, 'utf8');
    // engine comparison rows are told apart
    expect(md).toMatch(/\| cnn \[#1 \(…1111aaaa\)\] \| onnxruntime 1\.23\.0 \|/);
    expect(md).toMatch(/\| cnn \[#2 \(…2222bbbb\)\] \| onnxruntime 1\.23\.0 \|/);
    // each run's job is its own baseline: speedup 1.00× for both, with the run named
    expect(md).toMatch(/\| cnn \| onnxruntime\/fp32 \| #1 \(…1111aaaa\) \| .* \| 1\.00× \|/);
    expect(md).toMatch(/\| cnn \| onnxruntime\/fp32 \| #2 \(…2222bbbb\) \| .* \| 1\.00× \|/);
    expect(md).toMatch(/\| #1 \(…1111aaaa\) \| 2026-01-05T020000Z-s-1111aaaa \|/);
    const html = readFileSync(files.html, 'utf8');
    const embedded = JSON.parse(/<script type="application\/json" id="benchalign-data">([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '{}') as ReportData;
    expect(embedded.multiRun).toBe(true);
    expect(embedded.runs.map((r) => r.label)).toEqual(['#1 (…1111aaaa)', '#2 (…2222bbbb)']);
  });
});
