/**
 * An agent of another protocol version is refused at `info` with an error that says so, before
 * any of its (renumbered) error codes can be misread. The "old agent" is a real child process
 * speaking NDJSON on stdio that answers `info` as a version-1 agent did.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AGENT_PROTOCOL_VERSION } from '../../src/agents/protocol.js';
import { stdioAgent } from '../../src/agents/transports/stdio.js';
import { tempDir } from './helpers.js';

const dir = tempDir('protocol-version');

function oldAgent(version: unknown): string[] {
  const file = join(dir, `agent-v${String(version)}.mjs`);
  writeFileSync(
    file,
    `import { createInterface } from 'node:readline';
createInterface({ input: process.stdin }).on('line', (l) => {
  const r = JSON.parse(l);
  const result = { agentVersion: '0.0.1', protocolVersion: ${JSON.stringify(version)}, fingerprint: { hash: 'h' }, engines: [], labels: {}, busy: false, queued: 0 };
  process.stdout.write(JSON.stringify(r.method === 'info' ? { jsonrpc: '2.0', id: r.id, result } : { jsonrpc: '2.0', id: r.id, error: { code: -32001, message: 'busy' } }) + '\\n');
});
`,
  );
  return [process.execPath, file];
}

describe('agent protocol version', () => {
  const clients: Array<{ close(): Promise<void> }> = [];
  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('is 2 since the agent error codes moved to -32010..-32013', () => {
    expect(AGENT_PROTOCOL_VERSION).toBe(2);
  });

  it('a version-1 agent is refused with a protocol-version error naming both versions', async () => {
    const client = stdioAgent({ name: 'old', url: 'stdio', kind: 'stdio', labels: {}, command: oldAgent(1), connectTimeoutMs: 20_000 });
    clients.push(client);
    const err = (await client.info().catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toBe('agent old: info failed: agent protocol version 1, but this benchalign speaks version 2 (docs/agents.md); update benchalign on one side');
  });

  it('an agent of this version gets through info', async () => {
    const client = stdioAgent({ name: 'current', url: 'stdio', kind: 'stdio', labels: {}, command: oldAgent(AGENT_PROTOCOL_VERSION), connectTimeoutMs: 20_000 });
    clients.push(client);
    expect((await client.info()).protocolVersion).toBe(AGENT_PROTOCOL_VERSION);
  });
});
