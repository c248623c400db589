/**
 * The ssh:// transport against a real OpenSSH server (Debian's openssh-server) started here on
 * a loopback port: generated host and user keys, its own sshd_config (no PAM, public keys
 * only, AuthorizedKeysFile in the temp folder), a known_hosts written here. An agent reached
 * by ssh runs a job; a wrong host key is refused. Skips only when sshd is missing and this
 * is not root (as root, scripts/setup-test-env.sh installs it).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentDef } from '../../src/model/agents.js';
import { probeAgents } from '../../src/agents/probe.js';
import { runSuite } from '../../src/workflows/run.js';
import { ExitCode } from '../../src/errors.js';
import { BIN } from './agent-harness.js';
import { REPO, cnnModel, tempDir, writeSuite } from './helpers.js';

const SSHD = '/usr/sbin/sshd';
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const missing = [SSHD, 'ssh', 'ssh-keygen'].filter((c) => (c.startsWith('/') ? !existsSync(c) : spawnSync('sh', ['-c', `command -v ${c}`]).status !== 0));
const skipReason = !isRoot ? 'not root (sshd must run as root to log in with keys)' : missing.length > 0 ? `missing ${missing.join(', ')}` : undefined;
if (skipReason !== undefined && !isRoot) console.log(`skipped: ssh agent tests: ${skipReason}`);
const skip = skipReason !== undefined && !isRoot;

const ORT = { name: 'onnxruntime', precision: 'fp32', options: { intraOpThreads: 1, interOpThreads: 1 } };

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

function keygen(file: string): string {
  const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'benchalign-test', '-f', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ssh-keygen: ${r.stderr}`);
  return readFileSync(`${file}.pub`, 'utf8').trim();
}

describe.skipIf(skip)('ssh:// agent through a real OpenSSH server', () => {
  let dir: string;
  let port: number;
  let sshd: ChildProcess | undefined;
  let sshdLog = '';
  let def: AgentDef;

  beforeAll(async () => {
    if (skipReason !== undefined) throw new Error(`ssh agent tests cannot run as root: ${skipReason}`);
    dir = tempDir('ssh');
    port = await freePort();
    const hostPub = keygen(join(dir, 'host_key'));
    const userPub = keygen(join(dir, 'id_user'));
    writeFileSync(join(dir, 'authorized_keys'), `${userPub}\n`, { mode: 0o600 });
    writeFileSync(join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${hostPub.split(' ').slice(0, 2).join(' ')}\n`);
    const config = [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_key')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'UsePAM no',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'StrictModes no',
      'X11Forwarding no',
      'AllowTcpForwarding no',
      'LogLevel VERBOSE',
    ];
    writeFileSync(join(dir, 'sshd_config'), `${config.join('\n')}\n`);
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    const proc = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
    sshd = proc;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`sshd did not start: ${sshdLog}`)), 15_000);
      proc.stderr?.on('data', (d: Buffer) => {
        sshdLog += d.toString();
        if (/Server listening on/.test(sshdLog)) {
          clearTimeout(timer);
          resolve();
        }
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`sshd exited with ${code}: ${sshdLog}`));
      });
    });
    const remote = `cd ${REPO} && exec ${process.execPath} ${BIN} agent stdio --work-dir ${join(dir, 'work')} --labels via=ssh`;
    def = {
      name: 'sshbox',
      url: `ssh://root@127.0.0.1:${port}`,
      kind: 'ssh',
      labels: {},
      identity: join(dir, 'id_user'),
      knownHosts: join(dir, 'known_hosts'),
      remoteCommand: remote,
      connectTimeoutMs: 30000,
    };
  }, 60_000);

  afterAll(async () => {
    if (sshd && sshd.exitCode === null && sshd.signalCode === null) {
      const exited = new Promise((r) => sshd?.once('exit', r));
      sshd.kill('SIGTERM');
      await exited;
    }
  });

  it('an ssh://root@127.0.0.1:PORT agent runs a job and records where it ran', async () => {
    const suite = writeSuite(dir, { models: [cnnModel({ outputs: { logits: { topK: 5 } } })], engines: [ORT] });
    const out = await runSuite({ suitePath: suite, outDir: join(dir, 'run'), quiet: true, mode: 'accuracy-only', agents: { agents: [def], maxAttempts: 1, queueTimeoutMs: 60000, source: 'test' } });
    const j = out.results.jobs[0];
    expect(j?.reason).toBeUndefined();
    expect(j?.status).toBe('ok');
    expect(out.exitCode).toBe(ExitCode.Ok);
    expect(j?.agent).toMatchObject({ name: 'sshbox', url: `ssh://root@127.0.0.1:${port}` });
    expect(j?.alignment?.[0]?.passed).toBe(true);
    expect(j?.alignment?.[0]?.topk?.top1Agreement).toBe(1);
    expect(sshdLog).toMatch(/Accepted publickey for root from 127\.0\.0\.1/);
  });

  it('a wrong host key is refused: the agent is unreachable and the job errored with the reason', async () => {
    const other = keygen(join(dir, 'impostor'));
    const badKnown = join(dir, 'known_hosts_wrong');
    writeFileSync(badKnown, `[127.0.0.1]:${port} ${other.split(' ').slice(0, 2).join(' ')}\n`);
    const wrong: AgentDef = { ...def, name: 'mitm', knownHosts: badKnown };
    const [probe] = await probeAgents({ agents: [wrong], maxAttempts: 1, queueTimeoutMs: 1000, source: 'test' });
    expect(probe?.reachable).toBe(false);
    expect(probe?.reason).toMatch(/host key|Host key verification failed/i);
    const suite = writeSuite(dir, { models: [cnnModel()], engines: [ORT] }, 'wrong.json');
    const out = await runSuite({ suitePath: suite, outDir: join(dir, 'wrong'), quiet: true, mode: 'accuracy-only', agents: { agents: [wrong], maxAttempts: 1, queueTimeoutMs: 60000, source: 'test' } });
    expect(out.exitCode).toBe(ExitCode.Infra);
    expect(out.results.jobs[0]?.status).toBe('errored');
    expect(out.results.jobs[0]?.reason).toMatch(/mitm: unreachable: .*Host key verification failed/);
  });
});
