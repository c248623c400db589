/**
 * `benchalign signoff` on a REAL ONNX Runtime run of the bundled CNN (QUICK measurement),
 * with synthetic edits of that run's results.json for the failing cases, in process and
 * through the real CLI process.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runSuite } from '../../src/workflows/run.js';
import { summarizeLatency } from '../../src/metrics/latency.js';
import { samplesNsToMs } from '../../src/metrics/percentile.js';
import type { RunResults } from '../../src/model/record.js';
import { compareForRegress } from '../../src/results/regress/compare-runs.js';
import { budgetVerdict, evaluateSignoff, globToRegExp, repeatsToDecide, type BaselineContext, type SignoffCheck } from '../../src/results/signoff/evaluate.js';
import { PolicyConfigError, loadPolicy, parsePolicy, policyJsonSchemaText, type PolicyFile } from '../../src/results/signoff/policy.js';
import type { SignoffRecord } from '../../src/results/signoff/record.js';
import { signoff } from '../../src/workflows/signoff.js';
import { openStore } from '../../src/results/store/store.js';
import { QUICK, REPO, cnnModel, tempDir, writeSuite } from '../agents/helpers.js';

const BIN = join(REPO, 'bin/benchalign.js');
const ORT = { name: 'onnxruntime', options: { intraOpThreads: 1, interOpThreads: 1 } };

function cli(args: string[], cwd?: string) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, CI: '1' }, timeout: 300_000, maxBuffer: 64 * 2 ** 20, ...(cwd ? { cwd } : {}) });
}

let dir: string;
let db: string;
let suitePath: string;
let run: RunResults;
let runFile: string;

const copyOf = (r: RunResults): RunResults => JSON.parse(JSON.stringify(r)) as RunResults;
const job = (r: RunResults) => r.jobs[0]!;

function writeRun(name: string, r: RunResults): string {
  const folder = join(dir, name);
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'results.json'), JSON.stringify(r));
  return join(folder, 'results.json');
}

function writePolicy(name: string, policy: Record<string, unknown>, yaml = true): string {
  const p = join(dir, name);
  writeFileSync(p, yaml ? stringify(policy) : JSON.stringify(policy, null, 2));
  return p;
}

const policy = (raw: Record<string, unknown>): PolicyFile => parsePolicy(raw, 'test-policy');
const NO_BASELINE: BaselineContext = { tag: 'release', missing: 'no store in this test' };
const failed = (checks: SignoffCheck[]) => checks.filter((c) => !c.passed);
const of = (checks: SignoffCheck[], check: SignoffCheck['check']) => checks.filter((c) => c.check === check);

beforeAll(async () => {
  dir = tempDir('signoff');
  db = join(dir, 'store/benchalign.db');
  suitePath = writeSuite(dir, { name: 'signoff-test', models: [cnnModel()], engines: [ORT], measurement: { ...QUICK, concurrency: [1] } });
  run = (await runSuite({ suitePath, outDir: join(dir, 'real'), quiet: true, store: db })).results;
  runFile = join(dir, 'real/results.json');
}, 120_000);

describe('the real run', () => {
  it('measured the CNN on ONNX Runtime: latency, throughput, memory and alignment', () => {
    const j = job(run);
    expect(j.status).toBe('ok');
    expect(j.latency?.percentiles.p99.value).toBeGreaterThan(0);
    expect(j.throughput?.some((t) => t.concurrency === 1)).toBe(true);
    expect(j.resources?.peakRssBytes).toBeGreaterThan(0);
    expect(j.alignment?.every((o) => o.passed)).toBe(true);
  });
});

describe('criteria pass and fail', () => {
  it('every criterion passes with limits around what was measured, and fails past them', () => {
    const j = job(run);
    const p99 = j.latency!.percentiles.p99.value;
    const ci50 = j.latency!.percentiles.p50;
    const ci99 = j.latency!.percentiles.p99;
    const tput = Math.max(...j.throughput!.filter((t) => t.concurrency === 1).map((t) => t.itemsPerSec));
    const mib = j.resources!.peakRssBytes! / 2 ** 20;
    const pass = evaluateSignoff(run, policy({ criteria: [{ model: 'cnn', alignment: true, p50Ms: ci50.high * 1.01, p99Ms: ci99.high * 1.01, throughput: { minPerSec: tput * 0.99 }, peakMemoryMiB: mib * 1.01 }] }), NO_BASELINE);
    expect(failed(pass)).toEqual([]);
    expect(pass.map((c) => c.check)).toEqual(['run-complete', 'alignment', 'p50Ms', 'p99Ms', 'throughput', 'peakMemoryMiB']);
    expect(of(pass, 'p99Ms')[0]?.measured).toBe(p99);
    expect(of(pass, 'throughput')[0]?.measured).toBe(tput);
    expect(of(pass, 'peakMemoryMiB')[0]?.measured).toBeCloseTo(mib, 9);

    const fail = evaluateSignoff(run, policy({ criteria: [{ engine: 'onnxruntime/fp32', p50Ms: ci50.low * 0.99, p99Ms: ci99.low * 0.99, throughput: { minPerSec: tput * 1.01 }, peakMemoryMiB: mib * 0.99 }] }), NO_BASELINE);
    expect(failed(fail).map((c) => c.check)).toEqual(['p50Ms', 'p99Ms', 'throughput', 'peakMemoryMiB']);
    expect(of(fail, 'p99Ms')[0]?.why).toMatch(/over budget by \+/);
    expect(of(fail, 'p99Ms')[0]?.verdict).toBe('fail');
    expect(of(pass, 'p50Ms')[0]?.verdict).toBe('pass');
    expect(of(fail, 'p99Ms')[0]?.text).toMatch(/^p99 .* ms \[95% CI .*\] > .* ms$/);
    expect(of(fail, 'throughput')[0]?.why).toMatch(/below the floor/);
  });

  it('a latency budget inside the CI is inconclusive, not a pass, with the repeats that would decide', () => {
    const r = copyOf(run);
    const lat = job(r).latency!;
    lat.repeats = 3;
    lat.percentiles.p50 = { value: 10, low: 9, high: 11 };
    const c = of(evaluateSignoff(r, policy({ criteria: [{ model: 'cnn', p50Ms: 10.5 }] }), NO_BASELINE), 'p50Ms')[0]!;
    expect(c.passed).toBe(false);
    expect(c.verdict).toBe('inconclusive');
    // hand-worked: half-width ln(11/9)/2 = 0.10034, distance ln(10.5/10) = 0.04879: 3 × (0.10034/0.04879)^2 = 12.69
    expect(c.why).toMatch(/inconclusive: .*about --repeats 13 would decide it/);
    expect(c.text).toBe('p50 10 ms [95% CI 9, 11] straddles 10.5 ms');
    expect(repeatsToDecide({ value: 10, low: 9, high: 11 }, 10.5, 3)).toBe(13);
    expect(repeatsToDecide({ value: 10, low: 9, high: 11 }, 10, 3)).toBeUndefined();
    expect([budgetVerdict({ low: 9, high: 11 }, 11), budgetVerdict({ low: 9, high: 11 }, 8.99), budgetVerdict({ low: 9, high: 11 }, 9)]).toEqual(['pass', 'fail', 'inconclusive']);
  });

  it('alignment: a failing output fails, and a job with no alignment fails rather than passes', () => {
    const bad = copyOf(run);
    const out = job(bad).alignment![0]!;
    out.passed = false;
    out.reasons = ['max abs error 0.3 > atol 1e-5'];
    const p = policy({ criteria: [{ alignment: true }] });
    expect(failed(evaluateSignoff(run, p, NO_BASELINE))).toEqual([]);
    const f = failed(evaluateSignoff(bad, p, NO_BASELINE));
    expect(f).toHaveLength(1);
    expect(f[0]?.why).toBe(`${out.name}: max abs error 0.3 > atol 1e-5`);
    expect(f[0]?.text).toMatch(/0\/1 outputs pass/);
    delete job(bad).alignment;
    expect(failed(evaluateSignoff(bad, p, NO_BASELINE))[0]?.why).toMatch(/no alignment recorded/);
  });

  it('throughput at a concurrency the run did not measure fails and says how to measure it', () => {
    const f = failed(evaluateSignoff(run, policy({ criteria: [{ throughput: { minPerSec: 1, concurrency: 4 } }] }), NO_BASELINE));
    expect(f).toHaveLength(1);
    expect(f[0]?.why).toMatch(/measured concurrency 1 only: add 4/);
  });

  it('a missing required engine or device fails; a skipped or errored job fails', () => {
    const p = policy({ require: [{ engine: 'onnxruntime' }, { engine: 'ncnn' }, { engine: '*', device: 'NVIDIA*' }], criteria: [{ p99Ms: 1e6 }] });
    const checks = evaluateSignoff(run, p, NO_BASELINE);
    expect(of(checks, 'required').map((c) => c.passed)).toEqual([true, false, false]);
    expect(of(checks, 'required')[1]?.why).toMatch(/no job of the run matches \(jobs: cnn\/onnxruntime\/fp32\)/);
    // the device selector matches the real fingerprint by CPU model, arch, hostname or hash prefix
    const d = run.device!;
    for (const device of [d.cpuModel.toUpperCase(), `${d.arch}`, d.hostname, d.hash.slice(0, 8), '*']) {
      expect(failed(evaluateSignoff(run, policy({ require: [{ engine: 'onnxruntime', device }], criteria: [{ p99Ms: 1e6 }] }), NO_BASELINE)), device).toEqual([]);
    }
    for (const status of ['skipped', 'errored'] as const) {
      const r = copyOf(run);
      job(r).status = status;
      job(r).reason = `engine ${status} for the test`;
      delete job(r).latency;
      const c = evaluateSignoff(r, policy({ require: [{ engine: 'onnxruntime' }], criteria: [{ p99Ms: 1e6, alignment: true }] }), NO_BASELINE);
      expect(failed(c).map((x) => x.check)).toEqual(['required', 'measured']);
      expect(of(c, 'required')[0]?.why).toBe(`cnn/onnxruntime/fp32 ${status}: engine ${status} for the test`);
    }
  });

  it('a criterion that matches no job fails, and an interrupted run fails', () => {
    const f = failed(evaluateSignoff(run, policy({ criteria: [{ model: 'transformer', p99Ms: 5 }] }), NO_BASELINE));
    expect(f.map((c) => c.check)).toEqual(['matched']);
    expect(failed(evaluateSignoff(run, policy({ criteria: [{ model: 'cnn', precision: 'fp16', p99Ms: 1e6 }] }), NO_BASELINE)).map((c) => c.text)).toEqual(['model cnn × engine * fp16 × device *: no job matches']);
    expect(failed(evaluateSignoff(run, policy({ criteria: [{ model: 'cnn', precision: 'fp32', p99Ms: 1e6 }] }), NO_BASELINE))).toEqual([]);
    const r = copyOf(run);
    r.run.status = 'interrupted';
    expect(failed(evaluateSignoff(r, policy({ criteria: [{ p99Ms: 1e6 }] }), NO_BASELINE)).map((c) => c.check)).toEqual(['run-complete']);
  });

  it('noRegression: unchanged passes, an injected 50% slowdown or an accuracy flip fails, no baseline fails unless allowed', () => {
    const current = copyOf(run);
    current.run.id = `${run.run.id}-again`;
    const p = policy({ criteria: [{ noRegression: true }], regress: { metrics: ['p50'] } });
    const ctx = (cur: RunResults): BaselineContext => ({ tag: 'release', runId: run.run.id, report: compareForRegress(run, cur) });
    const same = evaluateSignoff(current, p, ctx(current));
    expect(failed(same)).toEqual([]);
    expect(of(same, 'noRegression')[0]?.text).toMatch(/p50 \+0\.0% .* unchanged/);

    const slow = copyOf(current);
    job(slow).samplesNs = job(slow).samplesNs!.map((rep) => rep.map((ns) => Math.round(ns * 1.5)));
    job(slow).latency = summarizeLatency(job(slow).samplesNs!.map(samplesNsToMs));
    const s = failed(evaluateSignoff(slow, p, ctx(slow)));
    expect(s.map((c) => c.check)).toEqual(['noRegression']);
    expect(s[0]?.why).toMatch(/^p50 regressed \+50\.0%/);

    const flip = copyOf(current);
    job(flip).alignment![0]!.passed = false;
    job(flip).alignment![0]!.reasons = ['mismatch'];
    expect(failed(evaluateSignoff(flip, p, ctx(flip)))[0]?.why).toMatch(/accuracy of .*: alignment flipped to FAIL/);

    const none = failed(evaluateSignoff(current, p, { tag: 'release', missing: 'no run tagged release' }));
    expect(none[0]?.why).toBe('no run tagged release');
    expect(failed(evaluateSignoff(current, policy({ criteria: [{ noRegression: true }], regress: { missingBaseline: 'pass' } }), { tag: 'release', missing: 'x' }))).toEqual([]);

    const moved = copyOf(current);
    job(moved).device = { ...run.device!, cpuModel: 'Another CPU', hash: 'f'.repeat(64) };
    expect(failed(evaluateSignoff(moved, p, ctx(moved)))[0]?.why).toMatch(/device fingerprint changed .*regress\.allowEnvChange/);
    const allowed = evaluateSignoff(moved, policy({ criteria: [{ noRegression: true }], regress: { metrics: ['p50'], allowEnvChange: true } }), { tag: 'release', runId: run.run.id, report: compareForRegress(run, moved, { allowEnvChange: true }) });
    expect(failed(allowed)).toEqual([]);
    expect(of(allowed, 'noRegression')[0]?.why).toMatch(/compared anyway/);

    // inconclusive (a CI too wide for the minimum effect) fails unless the policy lets it pass
    const report = compareForRegress(run, current);
    const perf = report.jobs[0]!.perf.find((x) => x.metric === 'p50')!;
    perf.verdict = 'inconclusive';
    perf.recommendation = 'measure both sides with --repeats 5';
    const inc = failed(evaluateSignoff(current, p, { tag: 'release', runId: run.run.id, report }));
    expect(inc[0]?.why).toBe('inconclusive: measure both sides with --repeats 5');
    expect(failed(evaluateSignoff(current, policy({ criteria: [{ noRegression: true }], regress: { metrics: ['p50'], inconclusive: 'pass' } }), { tag: 'release', runId: run.run.id, report }))).toEqual([]);
    // a p99 verdict does not count when the policy counts p50 only
    const p99 = report.jobs[0]!.perf.find((x) => x.metric === 'p99')!;
    p99.verdict = 'regressed';
    perf.verdict = 'unchanged';
    expect(failed(evaluateSignoff(current, p, { tag: 'release', runId: run.run.id, report }))).toEqual([]);
    expect(failed(evaluateSignoff(current, policy({ criteria: [{ noRegression: true }] }), { tag: 'release', runId: run.run.id, report }))[0]?.why).toMatch(/^p99 regressed/);
  });

  it('globs: * and ? only, everything else literal', () => {
    expect(globToRegExp('onnx*').test('onnxruntime')).toBe(true);
    expect(globToRegExp('cnn?').test('cnn1')).toBe(true);
    expect(globToRegExp('a.b').test('axb')).toBe(false);
    expect(globToRegExp('zoo/(x)').test('zoo/(x)')).toBe(true);
  });
});

describe('the policy file', () => {
  it('a bad policy gives every problem with its path, line and column', async () => {
    const p = join(dir, 'bad.yaml');
    writeFileSync(p, ['name: bad', 'criteria:', '  - model: cnn', '    alignment: true', '  - p99Ms: 5', '  - p99Ms: -2', '    throughput: { minPerSec: 0, concurency: 2 }', '  - model: cnn', 'regress: { inconclusive: maybe }', ''].join('\n'));
    const e = await loadPolicy(p).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(PolicyConfigError);
    expect((e as PolicyConfigError).exitCode).toBe(2);
    expect((e as PolicyConfigError).problems).toEqual([
      { path: 'criteria[2].p99Ms', message: 'expected a positive number, got -2', line: 6, col: 5 },
      { path: 'criteria[2].throughput.minPerSec', message: 'expected a positive number, got 0', line: 7, col: 19 },
      { path: 'criteria[2].throughput.concurency', message: 'unknown key; did you mean "concurrency"?', line: 7, col: 33 },
      { path: 'criteria[3]', message: 'checks nothing: expected at least one of alignment, p50Ms, p99Ms, throughput, peakMemoryMiB, noRegression', line: 8, col: 5 },
      { path: 'regress.inconclusive', message: 'expected one of fail|pass, got "maybe"', line: 9, col: 12 },
    ]);
    expect((e as Error).message).toContain(`${p}: 5 problems in sign-off policy:\n  criteria[2].p99Ms: expected a positive number, got -2 (line 6, col 5)`);
    const j = writePolicy('bad.json', { criteria: [] }, false);
    await expect(loadPolicy(j)).rejects.toThrow(/criteria: expected at least 1 item, got 0/);
    await expect(loadPolicy(join(dir, 'absent.yaml'))).rejects.toThrow(/policy file not found/);
  });

  it('docs/signoff-policy.schema.json equals a fresh export (run npx tsx scripts/export-schemas.ts)', () => {
    const committed = readFileSync(join(REPO, 'docs/signoff-policy.schema.json'), 'utf8');
    expect(committed).toBe(policyJsonSchemaText());
    const schema = JSON.parse(committed) as { additionalProperties: boolean; required: string[]; definitions: Record<string, { properties: Record<string, unknown> }> };
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(['criteria']);
    expect(Object.keys(schema.definitions.Criterion?.properties ?? {})).toEqual(['model', 'engine', 'device', 'precision', 'alignment', 'p50Ms', 'p99Ms', 'throughput', 'peakMemoryMiB', 'noRegression']);
  });

  it('docs/signoff.md shows a policy the schema accepts, and examples/ policies load', async () => {
    const blocks = [...readFileSync(join(REPO, 'docs/signoff.md'), 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
    const policies = blocks.filter((b) => /^criteria:/m.test(b));
    expect(policies.length).toBeGreaterThan(0);
    const { parse } = await import('yaml');
    for (const b of policies) parsePolicy(parse(b), 'docs/signoff.md');
    const example = await loadPolicy(join(REPO, 'examples/release-policy.yaml'));
    expect(example.criteria.length).toBeGreaterThan(0);
    expect(example.regress.metrics).toEqual(['p50', 'p99']);
    let ajv: { compile(s: unknown): (d: unknown) => boolean } | undefined;
    try {
      const Ajv = createRequire(import.meta.url)('ajv') as new (o: object) => { compile(s: unknown): (d: unknown) => boolean };
      ajv = new Ajv({ allErrors: true, strict: false });
    } catch {
      console.log('skipped: the JSON Schema check with ajv (ajv is not installed)');
    }
    if (ajv) {
      const validate = ajv.compile(JSON.parse(readFileSync(join(REPO, 'docs/signoff-policy.schema.json'), 'utf8')));
      for (const b of policies) expect(validate(parse(b))).toBe(true);
      expect(validate({ criteria: [{ p99Ms: -1 }] })).toBe(false);
    }
  });
});

describe('signoff: files, hashes, promotion', () => {
  it('signoff.json carries the results, policy and suite hashes, fingerprints and commit; the store and the file hash alike', async () => {
    const pol = writePolicy('plain.yaml', { name: 'plain', criteria: [{ alignment: true, p99Ms: 1e6 }] });
    const fromFile = await signoff({ target: runFile, policyPath: pol, store: db, quiet: true });
    expect(fromFile.exitCode).toBe(0);
    expect(fromFile.outDir).toBe(join(dir, 'real'));
    const rec = JSON.parse(readFileSync(join(dir, 'real/signoff.json'), 'utf8')) as SignoffRecord;
    // independent canonical form: sort keys recursively through a replacer
    const sortKeys = (_k: string, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v);
    const file = JSON.parse(readFileSync(runFile, 'utf8')) as unknown;
    expect(rec.resultsSha256).toBe(createHash('sha256').update(JSON.stringify(file, sortKeys)).digest('hex'));
    expect(rec.policy.sha256).toBe(createHash('sha256').update(readFileSync(pol)).digest('hex'));
    expect(rec.suite.sha256).toBe(createHash('sha256').update(readFileSync(suitePath)).digest('hex'));
    expect(rec.devices.map((d) => d.hash)).toEqual([run.device!.hash]);
    expect(rec.git.source).toBe('store');
    expect(rec.git.commit === null || /^[0-9a-f]{40}$/.test(rec.git.commit)).toBe(true);
    expect(rec.verdict).toBe('pass');
    expect(rec.checks.map((c) => c.check)).toEqual(['run-complete', 'alignment', 'p99Ms']);
    expect(readFileSync(join(dir, 'real/signoff.md'), 'utf8')).toContain(`| results sha256 | \`${rec.resultsSha256}\``);

    const fromStore = await signoff({ target: run.run.id, policyPath: pol, store: db, outDir: join(dir, 'from-store') });
    expect(fromStore.record.resultsSha256).toBe(rec.resultsSha256);
    expect(fromStore.record.run.source).toBe('store');

    const edited = copyOf(run);
    job(edited).samplesNs![0]![0]! += 1;
    const other = await signoff({ target: writeRun('edited', edited), policyPath: pol, store: db });
    expect(other.record.resultsSha256).not.toBe(rec.resultsSha256);
  });

  it('--promote tags only when every criterion passed; the next sign-off compares against it', async () => {
    const failing = writePolicy('failing.yaml', { criteria: [{ p99Ms: 1e-6 }] });
    const no = await signoff({ target: runFile, policyPath: failing, store: db, promote: true, outDir: join(dir, 'no-promote') });
    expect(no.exitCode).toBe(1);
    expect(no.record.promotion).toMatchObject({ promoted: false, note: '1 check failed: the run is not tagged release' });
    let store = await openStore(db, { mustExist: true });
    expect(await store.resolveRunId('release')).toBeUndefined();
    await store.close();

    const first = writePolicy('first.yaml', { criteria: [{ alignment: true, noRegression: true }], regress: { missingBaseline: 'pass' } });
    const yes = await signoff({ target: runFile, policyPath: first, store: db, promote: true, outDir: join(dir, 'promote') });
    expect(yes.exitCode).toBe(0);
    expect(yes.record.promotion?.promoted).toBe(true);
    store = await openStore(db, { mustExist: true });
    expect(await store.resolveRunId('release')).toBe(run.run.id);
    await store.close();

    const slow = copyOf(run);
    slow.run.id = `${run.run.id}-slow`;
    slow.run.startedAt = new Date(Date.parse(run.run.startedAt) + 1000).toISOString();
    job(slow).samplesNs = job(slow).samplesNs!.map((rep) => rep.map((ns) => Math.round(ns * 1.5)));
    job(slow).latency = summarizeLatency(job(slow).samplesNs!.map(samplesNsToMs));
    const next = await signoff({ target: writeRun('slow', slow), policyPath: writePolicy('strict.yaml', { criteria: [{ noRegression: true }], regress: { metrics: ['p50'] } }), store: db, promote: true });
    expect(next.exitCode).toBe(1);
    expect(next.record.baseline.runId).toBe(run.run.id);
    expect(next.record.checks.find((c) => c.check === 'noRegression')?.why).toMatch(/p50 regressed/);
    store = await openStore(db, { mustExist: true });
    expect(await store.resolveRunId('release')).toBe(run.run.id);
    await store.close();
  });
});

describe('benchalign signoff, the real CLI process', () => {
  it('runs a suite, prints the checklist, writes the record, promotes (exit 0); a failing policy exits 1; a bad one 2', () => {
    const work = tempDir('signoff-cli');
    const pol = join(work, 'policy.yaml');
    writeFileSync(pol, stringify({ name: 'cli', baselineTag: 'ship', require: [{ engine: 'onnxruntime' }], criteria: [{ model: 'cnn', alignment: true, p99Ms: 1e6, throughput: { minPerSec: 1 }, peakMemoryMiB: 1e6 }] }));
    const r = cli(['signoff', suitePath, '--policy', pol, '--store', 'db/b.db', '--out', 'out', '--promote', '--quiet'], work);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines.filter((l) => /^ {2}✔ /.test(l))).toHaveLength(6);
    expect(r.stdout).toMatch(/✔ criteria\[0\] cnn\/onnxruntime\/fp32: p99 [\d.]+ ms \[95% CI [\d.]+, [\d.]+\] ≤ 1000000 ms/);
    expect(r.stdout).toContain('SIGN-OFF PASSED: 6 of 6 checks passed');
    expect(r.stdout).toMatch(/Promoted: run .* tagged ship/);
    for (const f of ['results.json', 'signoff.json', 'signoff.md']) expect(existsSync(join(work, 'out', f)), f).toBe(true);
    const rec = JSON.parse(readFileSync(join(work, 'out/signoff.json'), 'utf8')) as SignoffRecord;
    expect(rec.run.source).toBe('suite');

    const again = cli(['signoff', 'ship', '--policy', pol, '--store', 'db/b.db', '--out', 'out2', '--json'], work);
    expect(again.status).toBe(0);
    expect((JSON.parse(again.stdout) as SignoffRecord).resultsSha256).toBe(rec.resultsSha256);
    writeFileSync(pol, stringify({ criteria: [{ model: 'cnn', p99Ms: 1e-6 }, { engine: 'tensorrt', alignment: true }] }));
    const f = cli(['signoff', 'ship', '--policy', pol, '--store', 'db/b.db', '--out', 'out3'], work);
    expect(f.status).toBe(1);
    expect(f.stdout).toMatch(/✘ criteria\[0\] cnn\/onnxruntime\/fp32: p99 .* > 0\.000001 ms — over budget by \+/);
    expect(f.stdout).toMatch(/✘ criteria\[1\]: model \* × engine tensorrt × device \*: no job matches/);
    expect(f.stdout).toContain('SIGN-OFF FAILED: 2 of 3 checks failed');

    writeFileSync(pol, 'criteria:\n  - p99Ms: fast\n');
    const bad = cli(['signoff', 'ship', '--policy', pol, '--store', 'db/b.db'], work);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('criteria[0].p99Ms: expected a number, got "fast" (line 2, col 5)');
    writeFileSync(pol, 'criteria:\n  - p99Ms: 5\n');
    const nostore = cli(['signoff', 'no-such-run', '--policy', pol, '--store', 'db/absent.db'], work);
    expect(nostore.status).toBe(3);
    expect(nostore.stderr).toMatch(/E_INFRA.*no-such-run/);
    expect(cli(['signoff', 'no-such-run', '--policy', pol, '--store', 'db/b.db'], work).status).toBe(2);
  }, 120_000);
});
