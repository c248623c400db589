/**
 * The http(s) transport: a `benchalign agent serve` daemon. JSON-RPC over a WebSocket at
 * `/rpc` (one message per text frame), the bearer token on the upgrade request, artifacts by
 * a streamed `PUT /artifacts/<sha256>`. The token is read from a file or an environment
 * variable and never appears in a message or a record.
 */
import { createReadStream, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { pipeline } from 'node:stream/promises';
import WebSocket from 'ws';
import { BenchalignError, describeError } from '../../errors.js';
import type { AgentDef } from '../../model/agents.js';
import { MAX_LINE_BYTES } from '../protocol.js';
import { RpcAgentClient, type Channel } from './rpc.js';

/** The agent's bearer token: its tokenFile (trimmed), else its tokenEnv variable; undefined when neither is set. */
export function readAgentToken(def: AgentDef): string | undefined {
  if (def.tokenFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(def.tokenFile, 'utf8');
    } catch (e) {
      throw new BenchalignError('E_CONFIG', `agent ${def.name}: cannot read its token file (${(e as NodeJS.ErrnoException).code ?? describeError(e)})`, { file: def.tokenFile });
    }
    const token = text.trim();
    if (token === '') throw new BenchalignError('E_CONFIG', `agent ${def.name}: the token file is empty`, { file: def.tokenFile });
    return token;
  }
  if (def.tokenEnv !== undefined) {
    const token = process.env[def.tokenEnv]?.trim();
    if (!token) throw new BenchalignError('E_CONFIG', `agent ${def.name}: environment variable ${def.tokenEnv} is not set`, { expected: 'the bearer token of the agent' });
    return token;
  }
  return undefined;
}

function baseUrl(def: AgentDef): URL {
  return new URL(def.url.endsWith('/') ? def.url : `${def.url}/`);
}

function tlsOptions(def: AgentDef): { ca?: Buffer } {
  return def.caFile !== undefined ? { ca: readFileSync(def.caFile) } : {};
}

export function openWsChannel(def: AgentDef, token: string | undefined): Promise<Channel> {
  const base = baseUrl(def);
  const url = new URL('rpc', base);
  url.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, {
      headers: token !== undefined ? { Authorization: `Bearer ${token}` } : {},
      maxPayload: MAX_LINE_BYTES,
      handshakeTimeout: def.connectTimeoutMs,
      ...tlsOptions(def),
    });
    const closeCbs: Array<(reason: string) => void> = [];
    let onMessage: (text: string) => void = () => undefined;
    let closed = false;
    let opened = false;
    const fireClose = (reason: string): void => {
      if (closed) return;
      closed = true;
      for (const cb of closeCbs) cb(reason);
    };
    ws.on('unexpected-response', (_req, res) => {
      const why = res.statusCode === 401 ? 'HTTP 401: the agent refused the token (check tokenFile/tokenEnv)' : `HTTP ${res.statusCode} on the WebSocket upgrade`;
      res.resume();
      ws.terminate();
      fireClose(why);
      reject(new Error(why));
    });
    ws.on('error', (e) => {
      fireClose(`connection error: ${describeError(e)}`);
      if (!opened) reject(e);
    });
    ws.on('close', (code, reason) => fireClose(`connection closed (${code}${reason.length > 0 ? ` ${reason.toString('utf8')}` : ''})`));
    ws.on('message', (data, isBinary) => {
      if (!isBinary) onMessage(Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8'));
    });
    ws.on('open', () => {
      opened = true;
      resolve({
        send: (text) => {
          if (closed) throw new Error('closed');
          ws.send(text);
        },
        onMessage: (cb) => {
          onMessage = cb;
        },
        onClose: (cb) => {
          closeCbs.push(cb);
        },
        close: async () => {
          if (ws.readyState === WebSocket.CLOSED) return;
          const done = new Promise<void>((r) => ws.once('close', () => r()));
          ws.close(1000);
          const t = setTimeout(() => ws.terminate(), 2000);
          await done;
          clearTimeout(t);
        },
      });
    });
  });
}

/** Streams a file to `PUT /artifacts/<sha256>`; the agent checks the hash and the size. */
export async function putArtifact(def: AgentDef, token: string | undefined, sha256: string, localPath: string, size: number): Promise<void> {
  const url = new URL(`artifacts/${sha256}`, baseUrl(def));
  const mod = url.protocol === 'https:' ? https : http;
  await new Promise<void>((resolve, reject) => {
    const req = mod.request(url, {
      method: 'PUT',
      headers: {
        'Content-Type': 'application/octet-stream',
        'Content-Length': String(size),
        ...(token !== undefined ? { Authorization: `Bearer ${token}` } : {}),
      },
      ...tlsOptions(def),
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => {
        if (chunks.length < 16) chunks.push(c);
      });
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) resolve();
        else reject(new Error(`PUT /artifacts/${sha256.slice(0, 12)}…: HTTP ${status} ${Buffer.concat(chunks).toString('utf8').slice(0, 200)}`));
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    pipeline(createReadStream(localPath), req).catch(reject);
  });
}

/** True for a loopback host (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

export function httpAgent(def: AgentDef): RpcAgentClient {
  let token: string | undefined;
  let read = false;
  const getToken = (): string | undefined => {
    if (!read) {
      token = readAgentToken(def);
      read = true;
      if (token !== undefined && def.url.startsWith('http://') && !isLoopbackHost(new URL(def.url).hostname)) {
        process.stderr.write(`benchalign: warning: agent ${def.name}: its token travels unencrypted over http:// (use https:// with --tls-cert/--tls-key on the agent off a trusted network)\n`);
      }
    }
    return token;
  };
  return new RpcAgentClient(def, {
    open: async () => openWsChannel(def, getToken()),
    upload: (sha256, localPath, size) => putArtifact(def, getToken(), sha256, localPath, size),
  });
}
