/** The "Where it diverges" section of report.html: markup from localize reports, and finding them in run folders. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { errorGrowthSvg, findLocalizeReports, localizeSectionHtml, type LocalizeView } from '../../src/reports/html/localize.js';
import { tempDir } from '../agents/helpers.js';

const view: LocalizeView = {
  model: 'net',
  engine: 'openvino',
  precision: 'fp32',
  reference: 'PyTorch 2.13.0',
  atol: 1e-4,
  rtol: 1e-4,
  firstDivergence: { node: '/b/conv<2>/Conv', opType: 'Conv', module: 'b.conv2', span: ['/b/conv<2>/Conv'] },
  points: [
    { index: 0, node: '/a/Conv', opType: 'Conv', status: 'aligned', maxAbsError: 1e-7 },
    { index: 3, node: '/b/conv<2>/Conv', opType: 'Conv', module: 'b.conv2', status: 'diverged', maxAbsError: 1e-2 },
    { index: 5, node: '/c/Relu', opType: 'Relu', status: 'unavailable' },
  ],
  source: '/x/localize.json',
};

describe('localize section of report.html', () => {
  it('draws one marker per compared layer, the first divergent one marked, and escapes names', () => {
    const svg = errorGrowthSvg(view);
    expect(svg.match(/<circle /g)).toHaveLength(2);
    expect(svg).toContain('r="6"');
    // the y axis spans the decades from 1e-7 to 1e-2
    expect(svg).toContain('>1e-7<');
    expect(svg).toContain('>1e-2<');
    const html = localizeSectionHtml([view]);
    expect(html).toContain('<h2>Where it diverges</h2>');
    expect(html).toContain('First divergent layer: <b>/b/conv&lt;2&gt;/Conv</b>');
    expect(html).not.toContain('conv<2>');
    expect(html.match(/<tr class=/g)).toHaveLength(3);
  });

  it('says so when nothing diverges, and is empty without reports', () => {
    const { firstDivergence: _f, ...clean } = view;
    expect(localizeSectionHtml([clean])).toContain('No divergence among the compared layers.');
    expect(localizeSectionHtml([])).toBe('');
  });

  it('reads <run>/localize/*/localize.json and skips what is not a localize report', () => {
    const run = tempDir('localize-html');
    for (const [name, body] of [
      ['a', JSON.stringify({ schema: 'benchalign.localize/1', model: { name: 'm' }, engine: { name: 'e', precision: 'fp32' }, reference: { kind: 'engine', name: 'onnxruntime', precision: 'fp32' }, tolerance: { atol: 1e-4, rtol: 1e-4 }, points: [] })],
      ['b', '{not json'],
      ['c', JSON.stringify({ schema: 'other' })],
    ] as const) {
      mkdirSync(join(run, 'localize', name), { recursive: true });
      writeFileSync(join(run, 'localize', name, 'localize.json'), body);
    }
    const found = findLocalizeReports(run);
    expect(found.map((f) => [f.model, f.engine, f.reference])).toEqual([['m', 'e', 'onnxruntime fp32']]);
    writeFileSync(join(run, 'results.json'), '{}');
    expect(findLocalizeReports(join(run, 'results.json'))).toHaveLength(1);
    expect(findLocalizeReports(join(run, 'nowhere'))).toEqual([]);
  });
});
