/**
 * `benchalign agent serve`: the agent as a network daemon.
 * - `GET /healthz`: "ok", no auth.
 * - `ws(s)://host:port/rpc`: the agent protocol, one JSON message per text frame; the upgrade
 *   request needs `Authorization: Bearer <token>` when the agent has a token.
 * - `PUT /artifacts/<sha256>`: a streamed artifact upload, same auth.
 * Routes are exact (case-sensitive). Slow clients are cut off: headers within 10 s, a whole
 * request within 30 min (DaemonOptions).
 * A non-loopback listen address needs a token. Tokens are compared in constant time, and
 * auth failures are logged with the peer address, never with the token.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { BenchalignError, describeError } from '../../src/errors.js';
import { MAX_REQUEST_BYTES, isSha256 } from '../../src/agents/protocol.js';
import { RpcCode, RpcError, type JsonRpcMessage } from '../../src/rpc/index.js';
import { AgentConnection } from './connection.js';
import { AgentCore, type AgentOptions } from './core.js';

export interface DaemonOptions extends AgentOptions {
  /** HOST:PORT; port 0 picks a free one. IPv6 hosts in brackets: [::1]:7070. */
  listen: string;
  /** Bearer token; required for a non-loopback host. */
  token?: string;
  /** PEM files: both or neither. */
  tlsCert?: string;
  tlsKey?: string;
  /** A request's headers must arrive within this, ms (slow-header clients are cut off). Default 10 s. */
  headersTimeoutMs?: number;
  /** A whole HTTP request (an artifact upload included) must arrive within this, ms. Default 30 min. */
  requestTimeoutMs?: number;
}

/** Default limits on slow clients: headers in 10 s, a whole request (4 GiB upload at ~2.5 MB/s) in 30 min. */
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30 * 60_000;

export interface RunningDaemon {
  /** e.g. ws://127.0.0.1:7070/rpc */
  url: string;
  port: number;
  /** Cancels the running job, closes every socket, ends the engine workers. */
  close(): Promise<void>;
}

/** HOST:PORT -> parts. Throws E_USAGE. */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(listen.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) throw new BenchalignError('E_USAGE', `--listen ${JSON.stringify(listen)}`, { expected: 'HOST:PORT, e.g. 127.0.0.1:7070 or [::1]:7070' });
  return { host: (m[1] ?? m[2]) as string, port };
}

/** True for localhost, 127.0.0.0/8 and ::1. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (h.startsWith('::ffff:')) return isLoopbackHost(h.slice(7));
  return false;
}

/** Constant-time token check (both sides hashed first, so lengths leak nothing either). */
export function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer (.+)$/.exec(header ?? '');
  const given = createHash('sha256').update(m ? (m[1] as string) : '').digest();
  const want = createHash('sha256').update(token).digest();
  return timingSafeEqual(given, want) && m !== null;
}

function plain(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(body.endsWith('\n') ? body : `${body}\n`);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(`${JSON.stringify(body)}\n`);
}

function rejectUpgrade(socket: Duplex, status: number, text: string): void {
  const body = `${text}\n`;
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${status === 401 ? 'WWW-Authenticate: Bearer\r\n' : ''}\r\n${body}`);
  socket.destroy();
}

function peer(req: IncomingMessage): string {
  const a = req.socket.remoteAddress ?? '?';
  return `${a}:${req.socket.remotePort ?? '?'}`;
}

/** Starts the daemon; resolves once it listens. */
export async function startDaemon(options: DaemonOptions): Promise<RunningDaemon> {
  const { host, port } = parseListen(options.listen);
  const token = options.token !== undefined && options.token !== '' ? options.token : undefined;
  if (token === undefined && !isLoopbackHost(host)) {
    throw new BenchalignError('E_USAGE', `refusing to listen on ${host} without a token`, {
      expected: '--token-file F or BENCHALIGN_AGENT_TOKEN for a non-loopback address (or listen on 127.0.0.1)',
    });
  }
  if ((options.tlsCert === undefined) !== (options.tlsKey === undefined)) {
    throw new BenchalignError('E_USAGE', 'TLS needs both --tls-cert and --tls-key');
  }
  const readPem = (file: string, flag: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (e) {
      throw new BenchalignError('E_USAGE', `${flag}: cannot read: ${(e as Error).message}`, { file, expected: 'a PEM file' });
    }
  };
  const tls = options.tlsCert !== undefined && options.tlsKey !== undefined ? { cert: readPem(options.tlsCert, '--tls-cert'), key: readPem(options.tlsKey, '--tls-key') } : undefined;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const core = new AgentCore({ ...options, log });
  await core.init();

  const authorized = (req: IncomingMessage, what: string): boolean => {
    if (token === undefined) return true;
    if (tokenMatches(req.headers.authorization, token)) return true;
    log(`benchalign agent: auth failure from ${peer(req)} on ${what} (${req.headers.authorization === undefined ? 'no Authorization header' : 'wrong token'})`);
    return false;
  };

  const handleRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/';
    if (url === '/healthz') {
      if (req.method !== 'GET' && req.method !== 'HEAD') return plain(res, 405, 'method not allowed', { allow: 'GET' });
      return plain(res, 200, 'ok');
    }
    // Routes are exact and case-sensitive: /ARTIFACTS/ is not /artifacts/.
    if (url.startsWith('/artifacts/')) {
      if (!authorized(req, 'PUT /artifacts')) {
        req.resume();
        return plain(res, 401, 'unauthorized', { 'www-authenticate': 'Bearer' });
      }
      const name = url.slice('/artifacts/'.length);
      if (!isSha256(name)) {
        req.resume();
        log(`benchalign agent: artifact name refused from ${peer(req)}: ${JSON.stringify(url.slice(0, 120))}`);
        return plain(res, 400, 'artifact name refused: expected /artifacts/<sha256> (64 lowercase hex digits)');
      }
      if (req.method === 'HEAD') {
        void core.store.has(name).then((h) => {
          res.writeHead(h.present ? 200 : 404, { 'content-length': String(h.present ? (h.size ?? 0) : 0), 'cache-control': 'no-store' });
          res.end();
        });
        return;
      }
      if (req.method !== 'PUT') {
        req.resume();
        return plain(res, 405, 'method not allowed', { allow: 'PUT, HEAD' });
      }
      const cl = req.headers['content-length'];
      const declared = cl !== undefined && /^\d+$/.test(cl) ? Number(cl) : undefined;
      if (declared !== undefined && declared > core.store.maxBytes) {
        log(`benchalign agent: artifact ${name} refused from ${peer(req)}: ${declared} bytes over --max-artifact-bytes ${core.store.maxBytes}`);
        plain(res, 413, `artifact of ${declared} bytes refused: the limit is ${core.store.maxBytes} bytes`, { connection: 'close' });
        req.destroy();
        return;
      }
      core.store.putStream(name, req, declared).then(
        (r) => json(res, 201, r),
        (e: unknown) => {
          const status = e instanceof RpcError ? (/limit|more data/.test(e.message) ? 413 : e.code === RpcCode.ArtifactRefused ? 422 : 400) : 500;
          if (!res.headersSent) plain(res, status, e instanceof Error ? e.message : String(e), { connection: 'close' });
          if (status === 413) req.destroy();
        },
      );
      return;
    }
    req.resume();
    plain(res, 404, 'not found');
  };

  const headersTimeout = options.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS;
  const requestTimeout = Math.max(options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS, headersTimeout);
  // Node checks these timeouts every connectionsCheckingInterval; 1 s keeps the cut-off close to them.
  const limits = { headersTimeout, requestTimeout, connectionsCheckingInterval: Math.min(1000, headersTimeout) };
  let server: Server;
  try {
    server = tls !== undefined ? createHttpsServer({ ...tls, ...limits }, handleRequest) : createHttpServer(limits, handleRequest);
  } catch (e) {
    await core.shutdown();
    throw new BenchalignError('E_USAGE', `TLS: ${(e as Error).message}`, { file: options.tlsCert, expected: 'a PEM certificate and its private key' });
  }
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_REQUEST_BYTES });
  const sockets = new Set<WebSocket>();

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if ((req.url ?? '') !== '/rpc') return rejectUpgrade(socket, 404, 'Not Found');
    if (!authorized(req, 'GET /rpc')) return rejectUpgrade(socket, 401, 'Unauthorized');
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      const who = peer(req);
      const conn = new AgentConnection(core, (m: JsonRpcMessage) => ws.send(JSON.stringify(m)), log);
      log(`benchalign agent: client ${who} connected`);
      ws.on('message', (data, isBinary) => {
        if (isBinary) return conn.receive('');
        conn.receive(Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8'));
      });
      ws.on('close', () => {
        sockets.delete(ws);
        conn.close();
        log(`benchalign agent: client ${who} disconnected`);
      });
      ws.on('error', (e) => log(`benchalign agent: client ${who}: ${describeError(e)}`));
    });
  });
  server.on('clientError', (_e, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new BenchalignError('E_INFRA', `cannot listen on ${options.listen}: ${e.message}`, { cause: e })));
    server.listen(port, host, () => resolve());
  }).catch(async (e: unknown) => {
    await core.shutdown();
    throw e;
  });
  const addr = server.address();
  const actualPort = typeof addr === 'object' && addr !== null ? addr.port : port;
  const scheme = options.tlsCert !== undefined ? 'wss' : 'ws';
  const url = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${actualPort}/rpc`;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      server.close();
      await core.shutdown();
      await new Promise((r) => setTimeout(r, 50));
      for (const ws of sockets) ws.close(1001, 'agent shutting down');
      await new Promise((r) => setTimeout(r, 100));
      for (const ws of sockets) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    })();
    return closing;
  };
  return { url, port: actualPort, close };
}
