/**
 * `engine: command` on a runner agent: the agent decides with its own --allow-programs, and the
 * coordinator's `run --allow-programs` does not lend it that right (real stdio agents, real
 * program: test/fixtures/programs/onnx_reference_engine.py).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AgentDef } from '../../src/model/agents.js';
import { pythonPath } from '../../src/runners/python/env.js';
import { runSuite } from '../../src/workflows/run.js';
import { BIN } from './agent-harness.js';
import { REPO, cnnModel, tempDir, writeSuite } from './helpers.js';

const hasPython = existsSync(pythonPath());
if (!hasPython) console.log(`skipped: the command engine's test program needs the Python venv (${pythonPath()} is missing)`);
const PROGRAM = [pythonPath(), join(REPO, 'test/fixtures/programs/onnx_reference_engine.py'), '--mode', 'ok'];
let dir: string;
beforeAll(() => {
  dir = tempDir('agent-programs');
});

function stdioDef(name: string, allowPrograms: boolean): AgentDef {
  const work = join(dir, `work-${name}`);
  mkdirSync(work, { recursive: true });
  return { name, url: 'stdio', kind: 'stdio', labels: {}, command: [process.execPath, BIN, 'agent', 'stdio', '--work-dir', work, ...(allowPrograms ? ['--allow-programs'] : [])], connectTimeoutMs: 60000 };
}

async function runOn(name: string, agentAllows: boolean, coordinatorAllows: boolean) {
  const suite = writeSuite(dir, { models: [cnnModel()], engines: [{ name: 'command', precision: 'fp32', options: { program: PROGRAM } }] }, `${name}.json`);
  const out = await runSuite({
    suitePath: suite,
    outDir: join(dir, name),
    mode: 'accuracy-only',
    quiet: true,
    agents: { agents: [stdioDef(name, agentAllows)], maxAttempts: 1, queueTimeoutMs: 60000, source: 'test' },
    ...(coordinatorAllows ? { allowPrograms: true } : {}),
  });
  return out.results.jobs[0];
}

describe.skipIf(!hasPython)('command engine on a runner agent', () => {
  it('an agent without --allow-programs refuses the job, even when the coordinator ran with --allow-programs', async () => {
    const job = await runOn('refuses', false, true);
    expect(job?.status).toBe('errored');
    expect(job?.reason).toMatch(/programs are not allowed here.*--allow-programs/);
    expect(job?.latency).toBeUndefined();
  }, 120_000);

  it('an agent started with --allow-programs runs the program and the job aligns', async () => {
    const job = await runOn('allows', true, false);
    expect([job?.status, job?.reason]).toEqual(['ok', undefined]);
    expect(job?.engine.appliedOptions).toMatchObject({ program: PROGRAM, contract: '1.0' });
    expect(job?.alignment?.every((a) => a.passed)).toBe(true);
  }, 120_000);
});
