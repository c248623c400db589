/** The agent's option checks: listen addresses, loopback, labels, byte counts, tokens. */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isLoopbackHost, parseListen, tokenMatches } from '../../runner-agents/agent/daemon.js';
import { loadToken, parseBytes, parseLabels } from '../../runner-agents/agent/serve.js';
import { tempDir } from './helpers.js';

describe('agent options', () => {
  it('parses HOST:PORT, IPv6 in brackets, and refuses the rest', () => {
    expect(parseListen('127.0.0.1:7070')).toEqual({ host: '127.0.0.1', port: 7070 });
    expect(parseListen('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(parseListen('board.local:80')).toEqual({ host: 'board.local', port: 80 });
    for (const bad of ['7070', '::1:7070', 'host:70000', 'host:', ':80', 'a b:1']) expect(() => parseListen(bad)).toThrow(/--listen/);
  });

  it('knows loopback addresses', () => {
    for (const h of ['localhost', '127.0.0.1', '127.3.2.1', '::1', '::ffff:127.0.0.1']) expect([h, isLoopbackHost(h)]).toEqual([h, true]);
    for (const h of ['0.0.0.0', '::', '192.168.1.4', '10.0.0.1', 'board.local', '128.0.0.1', '::ffff:10.0.0.1']) expect([h, isLoopbackHost(h)]).toEqual([h, false]);
  });

  it('matches bearer tokens exactly', () => {
    const t = 'abcdefghijklmnopqrstuvwxyz';
    expect(tokenMatches(`Bearer ${t}`, t)).toBe(true);
    for (const h of [undefined, '', t, `Bearer ${t}x`, `Bearer ${t.slice(1)}`, `bearer ${t}`, `Basic ${t}`, 'Bearer ']) expect([h, tokenMatches(h, t)]).toEqual([h, false]);
  });

  it('parses labels and byte counts, naming the flag on error', () => {
    expect(parseLabels('board=rk3588, site=lab,gpu=nvidia')).toEqual({ board: 'rk3588', site: 'lab', gpu: 'nvidia' });
    expect(parseLabels(undefined)).toEqual({});
    for (const bad of ['board', 'a=b c', 'a=b;rm -rf', '=x']) expect(() => parseLabels(bad)).toThrow(/--labels/);
    expect(parseBytes('1024', '--max-artifact-bytes')).toBe(1024);
    expect(parseBytes('512M', '--max-artifact-bytes')).toBe(512 * 1024 ** 2);
    expect(parseBytes('4G', '--max-artifact-bytes')).toBe(4 * 1024 ** 3);
    expect(parseBytes('2KiB', '--max-artifact-bytes')).toBe(2048);
    for (const bad of ['0', '-1', '1.5G', 'lots']) expect(() => parseBytes(bad, '--max-artifact-bytes')).toThrow(/--max-artifact-bytes/);
  });

  it('loads the token from the file first, then the environment; refuses short tokens; warns on open permissions', () => {
    const dir = tempDir('agent-token');
    const f = join(dir, 'token');
    writeFileSync(f, '  0123456789abcdef0123\n', { mode: 0o600 });
    const warnings: string[] = [];
    expect(loadToken(f, { BENCHALIGN_AGENT_TOKEN: 'from-the-environment-xyz' }, (w) => warnings.push(w))).toBe('0123456789abcdef0123');
    expect(warnings).toEqual([]);
    chmodSync(f, 0o644);
    loadToken(f, {}, (w) => warnings.push(w));
    expect(warnings).toEqual([expect.stringMatching(/readable by other users/)]);
    expect(loadToken(undefined, { BENCHALIGN_AGENT_TOKEN: 'from-the-environment-xyz' })).toBe('from-the-environment-xyz');
    expect(loadToken(undefined, {})).toBeUndefined();
    expect(loadToken(undefined, { BENCHALIGN_AGENT_TOKEN: '' })).toBeUndefined();
    expect(() => loadToken(undefined, { BENCHALIGN_AGENT_TOKEN: 'short' })).toThrow(/too short/);
    writeFileSync(f, 'short');
    expect(() => loadToken(f, {})).toThrow(/too short/);
    expect(() => loadToken(join(dir, 'missing'), {})).toThrow(/cannot read the token file/);
  });
});
