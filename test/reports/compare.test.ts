import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { BenchalignError, ExitCode } from '../../src/errors.js';
import { compareEngines, type CompareOutcome } from '../../src/workflows/compare.js';
import { loadRun } from '../../src/reports/compare.js';
import { jsonForScript } from '../../src/reports/html/render.js';
import { cdfQuantiles, type ReportData } from '../../src/reports/html/view-model.js';
import { openStore } from '../../src/results/store/store.js';
import { tempDir } from '../agents/helpers.js';
import { makeReportFixture, type ReportFixture } from './fixture.js';

let fx: ReportFixture;
let out: CompareOutcome;
beforeAll(async () => {
  fx = await makeReportFixture();
  out = await compareEngines({ inputs: [fx.runDir, fx.otherDevicePath], outDir: join(fx.dir, 'compare') });
}, 120_000);

/** RFC 4180 rows with a header, enough for results.csv. */
function parseCsv(text: string): Array<Record<string, string>> {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else if (c !== '\r') field += c;
  }
  if (field !== '' || row.length > 0) rows.push([...row, field]);
  const [header, ...body] = rows;
  return body.map((r) => Object.fromEntries((header ?? []).map((h, i) => [h, r[i] ?? ''])));
}

function embedded(html: string): ReportData {
  const m = /<script type="application\/json" id="benchalign-data">([\s\S]*?)<\/script>/.exec(html);
  if (!m?.[1]) throw new Error('no data block');
  return JSON.parse(m[1]) as ReportData;
}

describe('compareEngines on a real run and a copy from a second device', () => {
  it('merges every job of both runs, failed and errored ones included', () => {
    expect(fx.results.jobs.map((j) => j.status).sort()).toEqual(['errored', 'errored', 'errored', 'failed', 'failed', 'ok', 'ok', 'ok', 'ok']);
    expect(out.merged.jobs).toHaveLength(18);
    expect(out.data.devices.map((d) => d.id)).toEqual([fx.results.device?.hash, 'f'.repeat(64)]);
    expect(out.data.baseline).toBe('onnxruntime/fp32/t1');
    expect(out.data.runs.map((r) => r.id)).toEqual([fx.results.run.id, fx.otherDevice.run.id]);
  });

  it('writes a self-contained report.html whose data block round-trips', () => {
    const html = readFileSync(out.files.html, 'utf8');
    expect(html).not.toMatch(/<(script|img|link|iframe)[^>]*\s(src|href)=/i);
    expect(html).not.toMatch(/\b(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/url\(\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/@import/i);
    expect(html).toContain("default-src 'none'");
    expect(html.match(/<\/script>/g)).toHaveLength(3);
    const data = embedded(html);
    expect(data.jobs).toHaveLength(18);
    const cnn = data.jobs.find((j) => j.key === 'cnn/onnxruntime/fp32/t1' && j.run === 0);
    const src = fx.results.jobs.find((j) => j.key === 'cnn/onnxruntime/fp32/t1');
    expect(cnn?.p50).toEqual([src?.latency?.percentiles.p50.value, src?.latency?.percentiles.p50.low, src?.latency?.percentiles.p50.high]);
    expect(cnn?.cdf).toHaveLength(512);
    expect(cnn?.timeline?.tMs.length).toBeGreaterThan(2);
    expect(data.jobs.filter((j) => j.status === 'errored').every((j) => (j.reason ?? '').includes('failed to load'))).toBe(true);
  });

  it('puts the latency samples on the resource timeline clock', () => {
    const job = out.data.jobs.find((j) => j.key === 'cnn/onnxruntime/fp32/t1' && j.run === 0);
    const rec = loadRun(fx.runDir).results.jobs.find((j) => j.key === 'cnn/onnxruntime/fp32/t1');
    const start = rec?.steadyWindowMs?.startMs;
    expect(start).toBeGreaterThan(0);
    const lt = job?.latencyTimeline;
    expect(lt?.onJobClock).toBe(true);
    const firstS = lt?.tS[0] ?? 0;
    expect(firstS).toBeGreaterThan((start as number) / 1000);
    const t = job?.timeline?.tMs ?? [];
    expect(firstS * 1000).toBeLessThanOrEqual(t[t.length - 1] as number);
    expect((lt?.tS[lt.tS.length - 1] ?? 0) * 1000).toBeLessThanOrEqual((rec?.steadyWindowMs?.endMs as number) + 1);
  });

  it('escapes </script and <!-- inside the embedded JSON', () => {
    const s = jsonForScript({ reason: '</script><script>alert(1)</script><!--' });
    expect(s).not.toContain('<');
    expect(JSON.parse(s)).toEqual({ reason: '</script><script>alert(1)</script><!--' });
  });

  it('writes report.md with the comparison, both runs, the devices and the speedups', () => {
    const md = readFileSync(out.files.md, 'utf8');
    expect(md).toContain('## Engine comparison');
    expect(md).toContain('| cnn-wrongref | onnxruntime');
    expect(md).toContain('## Problems');
    expect(md).toContain('## Runs compared');
    expect(md).toContain('## Devices');
    expect(md).toContain('board-2 · Cortex-A76');
    expect(md).toMatch(/## Speedup over onnxruntime\/fp32\/t1/);
    expect(md).toMatch(/\| cnn \| onnxruntime\/fp32\/t1 \| [^|]+ \| [\d.]+ \| [\d.]+ \| 1\.00× \|/);
  });

  it('writes report.csv with each row under its own run id', () => {
    const rows = parseCsv(readFileSync(out.files.csv, 'utf8'));
    // One row per job and output (transformer has two outputs), in each run.
    const perRun = fx.results.jobs.reduce((s, j) => s + Math.max(1, (j.alignment ?? []).length), 0);
    expect(rows).toHaveLength(2 * perRun);
    expect(new Set(rows.map((r) => r.run_id))).toEqual(new Set([fx.results.run.id, fx.otherDevice.run.id]));
    const p50 = rows.find((r) => r.run_id === fx.results.run.id && r.model === 'cnn' && r.status === 'ok')?.p50_ms;
    expect(Number(p50)).toBe(fx.results.jobs.find((j) => j.model.name === 'cnn' && j.status === 'ok')?.latency?.percentiles.p50.value);
  });

  it('takes the baseline by engine variant or engine name, and names the engines when it is unknown', async () => {
    const dir = join(fx.dir, 'b2');
    expect((await compareEngines({ inputs: [fx.runDir], baselineEngine: 'onnxruntime/fp32/t2', outDir: dir })).data.baseline).toBe('onnxruntime/fp32/t2');
    expect((await compareEngines({ inputs: [fx.runDir], baselineEngine: 'test-fault', outDir: dir })).data.baseline).toBe('test-fault/fp32/loadfail');
    await expect(compareEngines({ inputs: [fx.runDir], baselineEngine: 'tensorrt', outDir: dir })).rejects.toThrow(/--baseline-engine tensorrt: no job ran that engine \(expected one of onnxruntime, test-fault, onnxruntime\/fp32\/t1/);
  });
});

describe('compare inputs from the results store', () => {
  it('reads run ids and tags from the store, next to results.json paths', async () => {
    const dir = tempDir('compare-store');
    const db = join(dir, 'store.db');
    const store = await openStore(db);
    const id = await store.recordRun(loadRun(fx.runDir).results, { tags: ['nightly'], git: { commit: null, branch: null } });
    await store.close();
    const byTag = await compareEngines({ inputs: ['nightly', fx.otherDevicePath], storePath: db, outDir: join(dir, 'a') });
    expect(byTag.data.runs).toHaveLength(2);
    expect(byTag.merged.jobs.length).toBe(out.merged.jobs.length);
    const byId = await compareEngines({ inputs: [id], storePath: db, outDir: join(dir, 'b') });
    expect(byId.merged.jobs.map((j) => j.key)).toEqual(loadRun(fx.runDir).results.jobs.map((j) => j.key));
    await expect(compareEngines({ inputs: ['no-such-tag'], storePath: db, outDir: join(dir, 'c') })).rejects.toThrow(/no such run id or tag in the results store/);
  });
});

describe('compare inputs', () => {
  const err = (f: () => unknown): BenchalignError => {
    try {
      f();
    } catch (e) {
      if (e instanceof BenchalignError) return e;
      throw e;
    }
    throw new Error('no error thrown');
  };

  it('rejects a missing path, a folder without results.json, bad JSON and a file of another kind, naming the file', () => {
    const dir = tempDir('compare-bad');
    const missing = err(() => loadRun(join(dir, 'nope.json')));
    expect(missing.code).toBe('E_IO');
    expect(missing.exitCode).toBe(ExitCode.Usage);
    expect(missing.message).toContain('nope.json');
    mkdirSync(join(dir, 'empty'));
    expect(err(() => loadRun(join(dir, 'empty'))).message).toMatch(/empty: the folder holds no results.json/);
    writeFileSync(join(dir, 'bad.json'), '{"schemaVersion": 1, ');
    const bad = err(() => loadRun(join(dir, 'bad.json')));
    expect(bad.code).toBe('E_CONFIG');
    expect(bad.message).toMatch(/bad\.json: not valid JSON/);
    writeFileSync(join(dir, 'other.json'), JSON.stringify({ schemaVersion: 2, run: {}, jobs: [{ key: 'x', model: {}, engine: { name: 'e' }, status: 'done' }] }));
    const other = err(() => loadRun(join(dir, 'other.json')));
    expect(other.message).toContain('other.json: not a benchalign results file');
    expect(other.message).toContain('schemaVersion: 2, this benchalign reads 1');
    expect(other.message).toContain('jobs[0].model.name: missing');
    expect(other.message).toContain('jobs[0].status: "done"');
  });

  it('exits 2 from the CLI with the file named, and 0 with the report folder printed', async () => {
    const dir = tempDir('compare-cli');
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      expect(await main(['node', 'benchalign', 'compare', join(dir, 'missing.json')])).toBe(ExitCode.Usage);
      expect(String(stderr.mock.calls.at(-1)?.[0])).toMatch(/error \[E_IO\] .*missing\.json: no such file or folder/);
      process.exitCode = undefined;
      expect(await main(['node', 'benchalign', 'compare', fx.runDir, '--out', join(dir, 'out'), '--baseline-engine', 'onnxruntime'])).toBe(ExitCode.Ok);
      const printed = stdout.mock.calls.map((c) => String(c[0])).join('');
      expect(printed).toContain('9 job(s) from 1 run(s) on 1 device(s), baseline onnxruntime/fp32/t1, 5 not ok');
      expect(printed).toContain(`Report: ${join(dir, 'out')}/ (report.html, report.md, report.csv)`);
      expect(readFileSync(join(dir, 'out', 'report.html'), 'utf8')).toContain('<!doctype html>');
    } finally {
      stderr.mockRestore();
      stdout.mockRestore();
    }
  });
});

describe('cdfQuantiles', () => {
  it('pools repeats and takes the nearest order statistic at k / (points - 1), in ms', () => {
    // 1..10 ms in two repeats; 4 points at p = 0, 1/3, 2/3, 1 -> ranks round(0, 3, 6, 9).
    expect(cdfQuantiles([[5e6, 1e6, 3e6, 7e6, 9e6], [2e6, 4e6, 6e6, 8e6, 10e6]], 4)).toEqual([1, 4, 7, 10]);
    expect(cdfQuantiles([[2.5e6]], 3)).toEqual([2.5, 2.5, 2.5]);
    expect(cdfQuantiles([[], []], 3)).toEqual([]);
  });
});
