/**
 * examples/nightly.yml cannot rot: every benchalign command line in it is checked against the
 * real CLI (the subcommand's --help lists each option, and the real commander program parses
 * the line), and its shell steps are executed for two nights on a real ONNX Runtime suite.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildProgram } from '../../src/cli/main.js';
import { QUICK, REPO, cnnModel, tempDir, writeSuite } from '../agents/helpers.js';

const BIN = join(REPO, 'bin/benchalign.js');
const WORKFLOW = join(REPO, 'examples/nightly.yml');

interface Step {
  name?: string;
  id?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Workflow {
  on: Record<string, unknown>;
  jobs: Record<string, { steps: Step[]; env?: Record<string, string> }>;
}

const workflow = parse(readFileSync(WORKFLOW, 'utf8')) as Workflow;
const steps = Object.values(workflow.jobs).flatMap((j) => j.steps);

/** Shell words of a command line: quotes grouped, backslash-newline joined. */
function words(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (const m of line.matchAll(re)) out.push(m[1] ?? m[2] ?? m[3] ?? '');
  return out;
}

/** Every `benchalign <sub> ...` command of the workflow's run steps, as argv after `benchalign`. */
function benchalignCommands(): string[][] {
  const cmds: string[][] = [];
  for (const s of steps) {
    if (!s.run) continue;
    const script = s.run.replace(/\\\n\s*/g, ' ');
    for (const line of script.split('\n')) {
      const m = /(?:^|\s)(?:npx\s+)?benchalign\s+(.*)$/.exec(line);
      if (m && !/^\s*#/.test(line)) cmds.push(words(m[1] ?? '').filter((w) => !/^[;|&>]/.test(w)));
    }
  }
  return cmds;
}

/** The options a subcommand's --help lists: flag -> takes a value. */
const helpCache = new Map<string, Map<string, boolean>>();
function helpOptions(sub: string): Map<string, boolean> {
  const cached = helpCache.get(sub);
  if (cached) return cached;
  const r = spawnSync(process.execPath, [BIN, sub, '--help'], { encoding: 'utf8' });
  expect(r.status, `${sub} --help`).toBe(0);
  const opts = new Map<string, boolean>();
  for (const m of r.stdout.matchAll(/^\s{2}(?:-\w, )?(--[a-z0-9-]+)( <[^>]+>| \[[^\]]+\])?/gm)) opts.set(m[1] ?? '', m[2] !== undefined);
  helpCache.set(sub, opts);
  return opts;
}

describe('examples/nightly.yml', () => {
  const cmds = benchalignCommands();

  it('is a scheduled workflow that checks out, sets up node, npm ci, runs, regresses, publishes JUnit and the run folder', () => {
    expect(Object.keys(workflow.on)).toEqual(expect.arrayContaining(['schedule', 'workflow_dispatch']));
    const uses = steps.map((s) => s.uses?.split('@')[0]).filter(Boolean);
    expect(uses).toEqual(expect.arrayContaining(['actions/checkout', 'actions/setup-node', 'actions/cache/restore', 'actions/cache/save', 'mikepenz/action-junit-report', 'actions/upload-artifact']));
    expect(steps.some((s) => s.run?.trim() === 'npm ci')).toBe(true);
    expect(cmds.map((c) => c[0])).toEqual(['run', 'regress']);
    const regress = cmds[1] ?? [];
    for (const o of ['--baseline', '--current', '--store', '--junit', '--github-summary']) expect(regress).toContain(o);
    const junit = steps.find((s) => s.uses?.startsWith('mikepenz/'))?.with?.report_paths as string;
    const glob = new RegExp(`^${junit.replace(/[.]/g, '\\.').replace(/\*/g, '[^/]*')}$`);
    expect(regress[regress.indexOf('--junit') + 1]).toMatch(glob);
    expect('reports/nightly/junit.xml').toMatch(glob);
    expect(existsSync(join(REPO, cmds[0]?.[1] ?? ''))).toBe(true);
  });

  it('every benchalign command line uses only options its --help lists, with a value where one is needed', () => {
    expect(cmds.length).toBeGreaterThan(0);
    for (const argv of cmds) {
      const [sub, ...rest] = argv;
      const opts = helpOptions(sub ?? '');
      for (let i = 0; i < rest.length; i++) {
        const w = rest[i] as string;
        if (!w.startsWith('--')) continue;
        expect(opts.has(w), `benchalign ${sub}: ${w} is not in its --help`).toBe(true);
        if (opts.get(w)) {
          expect(rest[i + 1], `benchalign ${sub} ${w} needs a value`).toBeDefined();
          expect(rest[i + 1]?.startsWith('--'), `benchalign ${sub} ${w} needs a value`).toBe(false);
          i++;
        }
      }
    }
  });

  it('the benchalign lines of docs/nightly.md and docs/signoff.md use options their --help lists', () => {
    let n = 0;
    for (const doc of ['docs/nightly.md', 'docs/signoff.md', 'examples/release-policy.yaml']) {
      const text = readFileSync(join(REPO, doc), 'utf8').replace(/\\\n\s*/g, ' ');
      for (const m of text.matchAll(/(?:npx\s+)?benchalign\s+(run|regress|signoff|history|compare)\s+(.*)$/gm)) {
        const opts = helpOptions(m[1] ?? '');
        for (const w of words(m[2] ?? '').map((x) => x.replace(/^\[|[\]`),.;:]+$/g, ''))) {
          if (!w.startsWith('--')) continue;
          n++;
          expect(opts.has(w), `${doc}: benchalign ${m[1]} ${w} is not in its --help`).toBe(true);
        }
      }
    }
    expect(n).toBeGreaterThan(10);
  });

  it('the real commander program parses every command line', async () => {
    for (const argv of cmds) {
      const program = buildProgram();
      const cmd = program.commands.find((c) => c.name() === argv[0]);
      expect(cmd, `no command ${argv[0]}`).toBeDefined();
      let parsed: unknown;
      cmd!.exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
      cmd!.action((...args: unknown[]) => {
        parsed = args;
      });
      await program.parseAsync(argv, { from: 'user' });
      expect(parsed, argv.join(' ')).toBeDefined();
    }
  });

  it('its shell steps work for two nights on a real ONNX Runtime suite (first night, then a comparison), and the gate maps exit codes', () => {
    const work = tempDir('nightly');
    const suite = writeSuite(work, { name: 'nightly-test', models: [cnnModel()], engines: [{ name: 'onnxruntime', options: { intraOpThreads: 1, interOpThreads: 1 } }], measurement: { ...QUICK, repeats: 2 } });
    const script = (name: string): string => {
      const s = steps.find((x) => x.name === name);
      expect(s?.run, name).toBeDefined();
      return (s?.run ?? '')
        .replace(/npx benchalign/g, `"${process.execPath}" "${BIN}"`)
        .replace(/suites\/smoke\.yaml/g, suite)
        .replace(/\$\{\{ github\.run_number \}\}/g, '7');
    };
    const sh = (name: string, env: Record<string, string> = {}) => {
      const out = join(work, 'github_output');
      writeFileSync(out, '');
      const r = spawnSync('bash', ['-c', script(name)], { cwd: work, encoding: 'utf8', timeout: 120_000, env: { ...process.env, STORE: 'reports/benchalign.db', GITHUB_OUTPUT: out, GITHUB_STEP_SUMMARY: join(work, 'summary.md'), ...env } });
      const outputs = Object.fromEntries(readFileSync(out, 'utf8').split('\n').filter(Boolean).map((l) => l.split('=') as [string, string]));
      return { ...r, outputs };
    };
    // night 1
    const run1 = sh('Run the suite');
    expect(run1.outputs.code, run1.stderr).toBe('0');
    const reg1 = sh('Regress against the previous nightly');
    expect(reg1.status).toBe(0);
    expect(reg1.outputs.code).toBe('first');
    expect(sh('Keep tonight\'s run as the next baseline').status).toBe(0);
    expect(existsSync(join(work, 'reports/nightly-previous/results.json'))).toBe(true);
    // night 2
    const run2 = sh('Run the suite');
    expect(run2.outputs.code, run2.stderr).toBe('0');
    const reg2 = sh('Regress against the previous nightly');
    expect(reg2.status).toBe(0);
    // a loaded shared machine may move between two runs: any verdict is fine here, the exit code must be regress's
    expect(['0', '1']).toContain(reg2.outputs.code);
    expect(readFileSync(join(work, 'reports/nightly/regress-junit.xml'), 'utf8')).toMatch(/<testsuite/);
    expect(readFileSync(join(work, 'summary.md'), 'utf8')).toMatch(/First nightly[\s\S]*## benchalign regress: /);
    // the store holds both nights with their tags
    const history = spawnSync(process.execPath, [BIN, 'history', '--store', join(work, 'reports/benchalign.db'), '--json'], { encoding: 'utf8' });
    const series = JSON.parse(history.stdout) as Array<{ points: Array<{ tags: string[] }> }>;
    expect(series[0]?.points.map((p) => p.tags)).toEqual([['nightly', 'nightly-7'], ['nightly', 'nightly-7']]);
    // the gate
    const gate = (RUN_CODE: string, REGRESS_CODE: string) => sh('Gate', { RUN_CODE, REGRESS_CODE }).status;
    expect(gate('0', 'first')).toBe(0);
    expect(gate('0', '0')).toBe(0);
    expect(gate('0', '1')).toBe(1);
    expect(gate('0', '4')).toBe(1);
    expect(gate('1', '0')).toBe(1);
    expect(gate('3', '')).toBe(1);
  }, 180_000);
});
