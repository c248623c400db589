/** The agent daemon against slow and odd HTTP clients: header/request timeouts and exact routes. */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type RunningDaemon } from '../../runner-agents/agent/daemon.js';
import { tempDir } from './helpers.js';

let daemon: RunningDaemon;

beforeAll(async () => {
  daemon = await startDaemon({ listen: '127.0.0.1:0', workDir: tempDir('daemon-limits'), token: 'limits-token-0123456789', headersTimeoutMs: 1500, requestTimeoutMs: 3000, log: () => undefined });
});
afterAll(async () => {
  await daemon?.close();
});

/** Opens a raw connection, sends `head`, then one more byte every 250 ms; resolves with what came back and when the socket closed. */
function trickle(head: string, byte: string): Promise<{ ms: number; reply: string }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const s = connect(daemon.port, '127.0.0.1');
    let reply = '';
    let timer: NodeJS.Timeout | undefined;
    s.on('connect', () => {
      s.write(head);
      timer = setInterval(() => {
        if (!s.destroyed) s.write(byte);
      }, 250);
    });
    s.on('data', (d) => (reply += d.toString()));
    s.on('error', () => undefined);
    s.on('close', () => {
      clearInterval(timer);
      resolve({ ms: Date.now() - t0, reply });
    });
    setTimeout(() => s.destroy(), 20_000);
  });
}

describe('agent daemon limits', () => {
  it('a client sending its headers one byte at a time is cut off after the headers timeout', async () => {
    const r = await trickle('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ', 'a');
    expect(r.ms).toBeLessThan(6000);
    expect(r.reply).toMatch(/^HTTP\/1\.1 408|^$/);
  });

  it('an upload trickling its body is cut off after the request timeout', async () => {
    const sha = 'a'.repeat(64);
    const r = await trickle(`PUT /artifacts/${sha} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer limits-token-0123456789\r\nContent-Length: 1000000\r\n\r\n`, 'b');
    expect(r.ms).toBeLessThan(9000);
  });

  it('routes are exact: /ARTIFACTS/ is not found, /artifacts/ is', async () => {
    const base = `http://127.0.0.1:${daemon.port}`;
    const sha = 'b'.repeat(64);
    // not a route at all: 404 before any auth (a case-insensitive match would answer 401)
    const upper = await fetch(`${base}/ARTIFACTS/${sha}`, { method: 'PUT', body: 'x' });
    expect(upper.status).toBe(404);
    const lower = await fetch(`${base}/artifacts/${sha}`, { method: 'HEAD', headers: { authorization: 'Bearer limits-token-0123456789' } });
    expect(lower.status).toBe(404);
    const unauth = await fetch(`${base}/artifacts/${sha}`, { method: 'HEAD' });
    expect(unauth.status).toBe(401);
    const bare = await fetch(`${base}/artifacts`, { method: 'HEAD', headers: { authorization: 'Bearer limits-token-0123456789' } });
    expect(bare.status).toBe(404);
  });
});
