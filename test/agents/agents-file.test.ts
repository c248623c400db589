import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AgentsConfigError, loadAgentsFile, parseAgentsText, redactUrl } from '../../src/config/agents-file.js';
import { agentsJsonSchemaText } from '../../src/config/agents-schema.js';
import { formatLabels, jobNeeds, labelsMatch, missingLabels } from '../../src/agents/selection.js';
import { isLoopbackHost } from '../../src/agents/transports/http.js';
import { checkInfo } from '../../src/agents/transports/rpc.js';
import { sshArgv } from '../../src/agents/transports/ssh.js';
import { expandJobs, loadSuite } from '../../src/suite/index.js';
import { SuiteConfigError } from '../../src/config/errors.js';
import { REPO, cnnModel, tempDir, writeSuite } from './helpers.js';

function problemsOf(text: string): string[] {
  try {
    parseAgentsText(text, '/x/agents.yaml');
  } catch (e) {
    if (e instanceof AgentsConfigError) return e.problems.map((p) => `${p.path}: ${p.message}`);
    throw e;
  }
  throw new Error('expected problems');
}

describe('agents file', () => {
  it('resolves every field: kinds, paths relative to the file, ~, defaults', () => {
    const c = parseAgentsText(
      [
        'maxAttempts: 2',
        'agents:',
        '  - { name: gpu1, url: "https://gpu1.lan:7070", labels: { gpu: nvidia }, tokenFile: secrets/t, caFile: ca.pem }',
        '  - { name: rk, url: "ssh://bench@rk3588:2222", identity: ~/.ssh/id_ed25519, knownHosts: kh, remoteCommand: "/opt/benchalign/bin/benchalign agent stdio" }',
        '  - { name: here, url: local }',
        '  - { name: child, url: stdio, command: [node, bin/benchalign.js, agent, stdio] }',
      ].join('\n'),
      '/etc/bench/agents.yaml',
    );
    expect(c.maxAttempts).toBe(2);
    expect(c.queueTimeoutMs).toBe(600000);
    expect(c.agents.map((a) => a.kind)).toEqual(['http', 'ssh', 'local', 'stdio']);
    expect(c.agents[0]).toMatchObject({ name: 'gpu1', url: 'https://gpu1.lan:7070', labels: { gpu: 'nvidia' }, tokenFile: '/etc/bench/secrets/t', caFile: '/etc/bench/ca.pem', connectTimeoutMs: 20000 });
    expect(c.agents[1]).toMatchObject({ identity: join(homedir(), '.ssh/id_ed25519'), knownHosts: '/etc/bench/kh' });
  });

  it('reports every problem at once with its path', () => {
    const lines = problemsOf(
      [
        'agents:',
        '  - { name: a, url: "ftp://x" }',
        '  - { name: b, url: local, tokenFile: t, labels: { "bad key": x } }',
        '  - { name: c, url: "http://h:1", identity: k, colour: red }',
        'maxAttempts: 0',
      ].join('\n'),
    );
    expect(lines).toEqual(
      expect.arrayContaining([
        'agents[0].url: expected local, stdio, ssh://user@host[:port] or http(s)://host:port, got "ftp://x"',
        'agents[2].colour: unknown key (expected one of: name, url, labels, tokenFile, tokenEnv, caFile, identity, knownHosts, remoteCommand, command, connectTimeoutMs)',
        'maxAttempts: expected a number >= 1, got 0',
      ]),
    );
    expect(lines.some((l) => l.startsWith('agents[1].labels'))).toBe(true);
    // Checks past the schema: misplaced transport keys and duplicate names.
    expect(problemsOf('agents:\n  - { name: a, url: local, tokenFile: t }\n  - { name: a, url: "ssh://u@h", tokenEnv: T }')).toEqual([
      'agents[0].tokenFile: only for http agents, this one is local (local)',
      'agents[1].name: duplicate agent name "a" (also agents[0])',
      'agents[1].tokenEnv: only for http agents, this one is ssh (ssh://u@h)',
    ]);
  });

  it('names the file when it is missing, and never records a password in a url', async () => {
    await expect(loadAgentsFile('/nonexistent/agents.yaml')).rejects.toThrow(/agents file not found/);
    expect(redactUrl('https://user:secret@h:1')).toBe('https://h:1');
    expect(parseAgentsText('agents: [{ name: a, url: "http://u:pw@h:7" }]', '/a.yaml').agents[0]?.url).toBe('http://h:7');
  });
});

describe('docs/agents.schema.json', () => {
  it('is the committed export of the zod schema (npx tsx scripts/export-schemas.ts)', () => {
    expect(readFileSync(join(REPO, 'docs/agents.schema.json'), 'utf8')).toBe(agentsJsonSchemaText());
    const schema = JSON.parse(agentsJsonSchemaText()) as { required: string[]; additionalProperties: boolean };
    expect(schema.required).toEqual(['agents']);
    expect(schema.additionalProperties).toBe(false);
  });
});

describe('label selection', () => {
  it('matches every needed label; "*" asks only for presence', () => {
    expect(labelsMatch({ arch: 'arm64', os: 'linux' }, { arch: 'arm64' })).toBe(true);
    expect(labelsMatch({ arch: 'x64' }, { arch: 'arm64' })).toBe(false);
    expect(labelsMatch({ gpu: 'nvidia' }, { gpu: '*' })).toBe(true);
    expect(labelsMatch({}, { gpu: '*' })).toBe(false);
    expect(labelsMatch({}, {})).toBe(true);
    expect(missingLabels({ arch: 'x64' }, { arch: 'arm64', gpu: 'nvidia' })).toEqual(['arch=arm64 (has arch=x64)', 'gpu=nvidia']);
    expect(formatLabels({})).toBe('(none)');
  });

  it('a job needs its engine’s requirements plus the suite, model and engine selectors', async () => {
    const dir = tempDir('sel');
    const suite = await loadSuite(
      writeSuite(dir, {
        agents: { labels: { site: 'lab' } },
        models: [cnnModel({ agents: { labels: { arch: 'arm64' } } })],
        engines: [{ name: 'onnxruntime' }, { name: 'tensorrt', agents: { labels: { board: 'orin' } } }],
      }),
    );
    const [ort, trt] = expandJobs(suite);
    expect(jobNeeds(ort!)).toEqual({ site: 'lab', arch: 'arm64' });
    expect(jobNeeds(trt!)).toEqual({ gpu: 'nvidia', site: 'lab', arch: 'arm64', board: 'orin' });
  });

  it('a suite agents list is checked like a file, with suite paths', async () => {
    const dir = tempDir('sel2');
    mkdirSync(join(dir, 'keys'));
    writeFileSync(join(dir, 'keys/t'), 'x');
    const suite = await loadSuite(writeSuite(dir, { agents: [{ name: 'd', url: 'http://h:1', tokenFile: 'keys/t' }], models: [cnnModel()], engines: [{ name: 'onnxruntime' }] }));
    expect(suite.agents?.list?.[0]?.tokenFile).toBe(join(dir, 'keys/t'));
    const bad = writeSuite(dir, { agents: [{ name: 'd', url: 'local' }, { name: 'd', url: 'stdio' }], models: [cnnModel()], engines: [{ name: 'onnxruntime' }] }, 'bad.json');
    await expect(loadSuite(bad)).rejects.toThrow(SuiteConfigError);
    await expect(loadSuite(bad)).rejects.toThrow(/agents\[1\]\.name: duplicate agent name "d"/);
  });
});

describe('http hosts', () => {
  it('knows loopback hosts (no clear-text token warning for them)', () => {
    expect(['127.0.0.1', '127.3.2.1', 'localhost', '[::1]', '::1'].map(isLoopbackHost)).toEqual([true, true, true, true, true]);
    expect(['10.0.0.2', 'gpu1.lan', '128.0.0.1', '[::2]'].map(isLoopbackHost)).toEqual([false, false, false, false]);
  });
});

describe('info answers', () => {
  it('an agent answering info with the wrong shapes is refused with what is wrong', () => {
    expect(() => checkInfo({ labels: { a: 1 }, engines: {}, busy: 'no' })).toThrow(
      'bad info answer: labels: expected a mapping of strings; fingerprint: expected a device fingerprint with a hash; engines: expected a list; busy: expected a boolean; protocolVersion: this benchalign speaks 2, the agent undefined (update one of them)',
    );
    const ok = { labels: { arch: 'arm64' }, fingerprint: { hash: 'h' }, engines: [], busy: false, protocolVersion: 2 };
    expect(() => checkInfo({ ...ok, protocolVersion: 1 })).toThrow('agent protocol version 1, but this benchalign speaks version 2 (docs/agents.md); update benchalign on one side');
    // An agent of another version is named as such, whatever else its answer holds.
    expect(() => checkInfo({ protocolVersion: 1 })).toThrow(/^agent protocol version 1, but this benchalign speaks version 2/);
    expect(checkInfo(ok)).toBe(ok);
  });
});

describe('ssh argv', () => {
  it('checks host keys strictly, never prompts, and passes each option as its own argument', () => {
    const argv = sshArgv({ name: 'b', url: 'ssh://bench@10.0.0.7:2222', kind: 'ssh', labels: {}, identity: '/k/id', knownHosts: '/k/known', connectTimeoutMs: 5000 });
    expect(argv).toEqual([
      'ssh', '-T', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', 'UserKnownHostsFile=/k/known', '-o', 'ServerAliveInterval=15', '-o', 'ServerAliveCountMax=4',
      '-o', 'ConnectTimeout=5', '-p', '2222', '-i', '/k/id', '-o', 'IdentitiesOnly=yes', '-l', 'bench', '--', '10.0.0.7', 'benchalign agent stdio',
    ]);
    expect(() => sshArgv({ name: 'b', url: 'ssh://-oProxyCommand=x', kind: 'ssh', labels: {}, connectTimeoutMs: 1 })).toThrow(/bad ssh url/);
  });
});
