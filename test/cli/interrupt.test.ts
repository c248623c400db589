/**
 * The interrupt helper of `run` and `signoff` (src/cli/interrupt.ts), in a real child process that receives real
 * signals: the first SIGINT or SIGTERM aborts gracefully, a second one (of either kind) exits with ExitCode.Infra;
 * before install() and after dispose() a signal ends the process as Node does by default.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/errors.js';

const REPO = join(__dirname, '..', '..');
const HELPER = join(REPO, 'src/cli/interrupt.ts');

interface Child {
  /** install / dispose go in through stdin, one per line. */
  stdin: NodeJS.WritableStream;
  send: (signal: NodeJS.Signals) => void;
  waitFor: (text: string) => Promise<void>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/** A process that calls install() / dispose() on stdin lines and says on stdout when its signal aborts. */
function child(): Child {
  const script = `
    import { interruptOnSignals } from ${JSON.stringify(HELPER)};
    const i = interruptOnSignals();
    i.signal.addEventListener('abort', () => process.stdout.write('aborted\\n'));
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (d) => { for (const l of d.split('\\n').filter(Boolean)) { i[l](); process.stdout.write(l + ' done\\n'); } });
    setInterval(() => undefined, 1000);
    process.stdout.write('ready\\n');
  `;
  const proc = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let stderr = '';
  const waiters: { text: string; resolve: () => void; reject: (e: Error) => void }[] = [];
  proc.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    for (const w of waiters.filter((x) => out.includes(x.text))) w.resolve();
  });
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // A process that ends while something is awaited fails the wait at once instead of timing out.
  proc.on('exit', (code, signal) => {
    for (const w of waiters) w.reject(new Error(`the child ended (code ${code}, signal ${signal}) before printing "${w.text}"; stdout: ${out}`));
  });
  return {
    stdin: proc.stdin,
    send: (signal) => proc.kill(signal),
    waitFor: (text) => (out.includes(text) ? Promise.resolve() : new Promise((resolve, reject) => waiters.push({ text, resolve, reject }))),
    exit: new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal, stderr }))),
  };
}

async function started(steps: string[]): Promise<Child> {
  const c = child();
  await c.waitFor('ready');
  for (const s of steps) {
    c.stdin.write(`${s}\n`);
    await c.waitFor(`${s} done`);
  }
  return c;
}

describe('interruptOnSignals (run and signoff)', () => {
  for (const [first, second] of [['SIGTERM', 'SIGINT'], ['SIGINT', 'SIGTERM']] as const) {
    it(`${first} aborts gracefully, a following ${second} exits with ExitCode.Infra`, async () => {
      const c = await started(['install']);
      c.send(first);
      await c.waitFor('aborted');
      c.send(second);
      const e = await c.exit;
      expect(e.code).toBe(ExitCode.Infra);
      expect(e.stderr).toContain('benchalign: interrupted; finishing the run folder');
    }, 30_000);
  }

  it('before install() and after dispose() a signal ends the process at once', async () => {
    const before = await started([]);
    before.send('SIGTERM');
    expect((await before.exit).signal).toBe('SIGTERM');
    const after = await started(['install', 'dispose']);
    after.send('SIGINT');
    const e = await after.exit;
    expect(e.signal).toBe('SIGINT');
    expect(e.stderr).not.toContain('interrupted');
  }, 30_000);
});
