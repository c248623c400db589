/**
 * Artifact upload throughput to a real `benchalign agent serve` process on loopback: a
 * streamed `PUT /artifacts/<sha256>` and chunked `artifact.put` over the WebSocket (4 MiB
 * base64 chunks), next to a raw loopback copy (an HTTP PUT to a plain node:http child process
 * that only writes the body to a file), and `artifact.put` to `benchalign agent stdio`. 64 MiB of random bytes, best of 3, MB/s and ratios.
 * Neither side fsyncs; the gap is the agent's hashing, and for artifact.put base64 and the
 * JSON-RPC round trips.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_CHUNK_BYTES } from '../src/agents/protocol.js';
import { connectWs, httpRequest, startDaemonProcess, startStdioAgent, stopProcess } from '../test/agents/agent-harness.js';

const BYTES = 64 * 2 ** 20;
const REPEATS = 3;
const TOKEN = 'bench-token-0123456789abcdef';

const RAW_SERVER = `
const http = require('node:http');
const fs = require('node:fs');
const dir = process.argv[1];
let n = 0;
const s = http.createServer((req, res) => {
  const out = fs.createWriteStream(dir + '/raw-' + (n++));
  req.pipe(out);
  out.on('finish', () => { res.writeHead(201); res.end('ok'); });
});
s.listen(0, '127.0.0.1', () => process.stderr.write('listening on http://127.0.0.1:' + s.address().port + '\\n'));
`;

function variant(base: Buffer, i: number): Buffer {
  const b = Buffer.from(base);
  b.writeUInt32LE(i + 1, 0);
  return b;
}

async function best(fn: (i: number) => Promise<void>): Promise<number> {
  let bestS = Infinity;
  for (let i = 0; i < REPEATS; i++) {
    const t0 = process.hrtime.bigint();
    await fn(i);
    bestS = Math.min(bestS, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return bestS;
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'benchalign-bench-agent-'));
  const raw = spawn(process.execPath, ['-e', RAW_SERVER, join(dir)], { stdio: ['ignore', 'ignore', 'pipe'] });
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, TOKEN, { mode: 0o600 });
  const agent = await startDaemonProcess(['--listen', '127.0.0.1:0', '--token-file', tokenFile, '--work-dir', join(dir, 'agent')]);
  try {
    const rawBase = await new Promise<string>((resolve) => {
      let err = '';
      raw.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /listening on (\S+)/.exec(err);
        if (m) resolve(m[1] as string);
      });
    });
    const base = randomBytes(BYTES);
    const auth = { authorization: `Bearer ${TOKEN}` };
    const mbps = (s: number): string => (BYTES / s / 1e6).toFixed(0);
    let k = 0;
    const rawS = await best(async () => {
      const r = await httpRequest(rawBase, 'PUT', '/x', { body: variant(base, k++) });
      if (r.status !== 201) throw new Error(`raw copy: HTTP ${r.status}`);
    });
    const putS = await best(async () => {
      const b = variant(base, k++);
      const r = await httpRequest(agent.httpBase, 'PUT', `/artifacts/${createHash('sha256').update(b).digest('hex')}`, { body: b, headers: auth });
      if (r.status !== 201) throw new Error(`PUT /artifacts: HTTP ${r.status} ${r.body}`);
    });
    const client = await connectWs(agent.url, { token: TOKEN });
    const rpcS = await best(async () => {
      await client.upload(variant(base, k++), MAX_CHUNK_BYTES);
    });
    const rpc4S = await best(async () => {
      await client.upload(variant(base, k++), MAX_CHUNK_BYTES, 4);
    });
    client.closeTransport();
    const stdio = startStdioAgent(['--work-dir', join(dir, 'stdio')]);
    await stdio.client.call('info');
    const stdioS = await best(async () => {
      await stdio.client.upload(variant(base, k++), MAX_CHUNK_BYTES);
    });
    const stdio4S = await best(async () => {
      await stdio.client.upload(variant(base, k++), MAX_CHUNK_BYTES, 4);
    });
    stdio.client.closeTransport();
    await stdio.exited;
    console.log(`raw loopback copy (HTTP PUT to a plain server)${mbps(rawS).padStart(4)} MB/s`);
    console.log(`PUT /artifacts/<sha256> (streamed, hashed)     ${mbps(putS).padStart(4)} MB/s   ratio ${(putS / rawS).toFixed(2)}x the raw copy's time`);
    const line = (label: string, sec: number): void => console.log(`${label.padEnd(47)}${mbps(sec).padStart(4)} MB/s   ratio ${(sec / rawS).toFixed(2)}x the raw copy's time`);
    line('artifact.put over WebSocket, 1 chunk in flight', rpcS);
    line('artifact.put over WebSocket, 4 chunks in flight', rpc4S);
    line('artifact.put over stdio, 1 chunk in flight', stdioS);
    line('artifact.put over stdio, 4 chunks in flight', stdio4S);
    console.log(`(best of ${REPEATS}, 64 MiB random bytes, loopback, agent in its own process)`);
  } finally {
    raw.kill();
    await stopProcess(agent);
    rmSync(dir, { recursive: true, force: true });
  }
}
