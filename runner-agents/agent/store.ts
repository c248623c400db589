/**
 * The agent's artifact store: content-addressed files under `<work-dir>/artifacts/<sha256>`.
 * An upload is streamed into `<work-dir>/tmp/`, hashed as it arrives, and renamed into place
 * only once its sha256 matches its name; a failed upload leaves nothing behind. Names are
 * lowercase 64-hex sha256 only, so no client string ever becomes a path.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { link, copyFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { isSha256, type ArtifactHasResult, type ArtifactPutParams, type ArtifactPutResult } from '../../src/agents/protocol.js';
import { RpcCode, RpcError } from '../../src/rpc/index.js';
import { MAX_CHUNK_BYTES } from '../../src/agents/protocol.js';

interface Upload {
  sha256: string;
  size: number;
  received: number;
  hash: Hash;
  tmpPath: string;
  out: WriteStream;
  /** Serializes the chunks of one upload. */
  chain: Promise<unknown>;
}

function refused(message: string, data?: unknown): RpcError {
  return new RpcError(RpcCode.ArtifactRefused, message, data);
}

function writeAll(out: WriteStream, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    out.write(bytes, (e) => (e ? reject(e) : resolve()));
  });
}

function closeStream(out: WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (out.closed) return resolve();
    out.end(() => resolve());
    out.once('error', () => resolve());
  });
}

export class ArtifactStore {
  readonly dir: string;
  readonly tmpDir: string;
  private readonly uploads = new Map<string, Upload>();
  private readonly order = new Map<string, Promise<void>>();

  /**
   * @param workDir the agent's work folder
   * @param maxBytes largest artifact accepted, bytes
   */
  constructor(
    workDir: string,
    readonly maxBytes: number,
  ) {
    this.dir = join(workDir, 'artifacts');
    this.tmpDir = join(workDir, 'tmp');
  }

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await rm(this.tmpDir, { recursive: true, force: true });
    await mkdir(this.tmpDir, { recursive: true, mode: 0o700 });
  }

  /** The file of a stored artifact. Throws RpcCode.ArtifactRefused for a name that is not a sha256. */
  pathOf(sha256: unknown): string {
    if (!isSha256(sha256)) throw refused(`artifact name refused: ${JSON.stringify(sha256)?.slice(0, 100)}`, { expected: '64 lowercase hex digits (sha256)' });
    return join(this.dir, sha256);
  }

  async has(sha256: unknown): Promise<ArtifactHasResult> {
    const p = this.pathOf(sha256);
    try {
      const st = await stat(p);
      return st.isFile() ? { present: true, size: st.size } : { present: false };
    } catch {
      return { present: false };
    }
  }

  private checkSize(size: unknown): number {
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw new RpcError(RpcCode.InvalidParams, 'artifact.put: size: expected a non-negative integer');
    if (size > this.maxBytes) throw refused(`artifact of ${size} bytes refused: the limit is ${this.maxBytes} bytes (--max-artifact-bytes)`, { size, maxBytes: this.maxBytes });
    return size;
  }

  private async begin(key: string, sha256: string, size: number): Promise<Upload> {
    await this.abort(key);
    const tmpPath = join(this.tmpDir, `${sha256}.${randomBytes(6).toString('hex')}.part`);
    const out = createWriteStream(tmpPath, { flags: 'wx', mode: 0o600 });
    const up: Upload = { sha256, size, received: 0, hash: createHash('sha256'), tmpPath, out, chain: Promise.resolve() };
    out.on('error', () => undefined);
    this.uploads.set(key, up);
    return up;
  }

  /** Drops an upload in progress (its partial file too). */
  private async abort(key: string): Promise<void> {
    const up = this.uploads.get(key);
    if (!up) return;
    this.uploads.delete(key);
    await closeStream(up.out);
    await rm(up.tmpPath, { force: true });
  }

  /** Drops the uploads in progress of one client (its connection closed). */
  async abortOwner(owner: string): Promise<void> {
    for (const key of [...this.uploads.keys()]) if (key.startsWith(`${owner}:`)) await this.abort(key);
  }

  private async finish(key: string, up: Upload): Promise<void> {
    const sha256 = up.sha256;
    this.uploads.delete(key);
    await closeStream(up.out);
    const digest = up.hash.digest('hex');
    if (up.received !== up.size) {
      await rm(up.tmpPath, { force: true });
      throw refused(`artifact ${sha256}: received ${up.received} bytes, declared ${up.size}`);
    }
    if (digest !== sha256) {
      await rm(up.tmpPath, { force: true });
      throw refused(`artifact ${sha256}: content hash is ${digest}, not its name; upload discarded`, { actual: digest });
    }
    await rename(up.tmpPath, join(this.dir, sha256));
  }

  /**
   * One `artifact.put` chunk. Uploads are per `owner` (a client connection): two clients may
   * upload the same artifact at once without disturbing each other.
   */
  async put(p: ArtifactPutParams, owner = 'rpc'): Promise<ArtifactPutResult> {
    if (typeof p !== 'object' || p === null) throw new RpcError(RpcCode.InvalidParams, 'artifact.put: expected {sha256, size, offset, data, final}');
    this.pathOf(p.sha256);
    const size = this.checkSize(p.size);
    const key = `${owner}:${p.sha256}`;
    // chunks of one upload are handled in arrival order, so a client may send them without waiting
    const run = (this.order.get(key) ?? Promise.resolve()).then(() => this.putInOrder(p, key, size));
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.order.set(key, tail);
    void tail.then(() => {
      if (this.order.get(key) === tail) this.order.delete(key);
    });
    return run;
  }

  private async putInOrder(p: ArtifactPutParams, key: string, size: number): Promise<ArtifactPutResult> {
    const have = await this.has(p.sha256);
    if (have.present) {
      await this.abort(key);
      return { received: have.size ?? size, stored: true };
    }
    if (typeof p.offset !== 'number' || !Number.isSafeInteger(p.offset) || p.offset < 0) throw new RpcError(RpcCode.InvalidParams, 'artifact.put: offset: expected a non-negative integer');
    if (typeof p.data !== 'string') throw new RpcError(RpcCode.InvalidParams, 'artifact.put: data: expected base64');
    if (typeof p.final !== 'boolean') throw new RpcError(RpcCode.InvalidParams, 'artifact.put: final: expected a boolean');
    if (p.data.length > Math.ceil(MAX_CHUNK_BYTES / 3) * 4 + 4) throw refused(`artifact.put chunk refused: over ${MAX_CHUNK_BYTES} bytes`);
    const bytes = Buffer.from(p.data, 'base64');
    let up = this.uploads.get(key);
    if (p.offset === 0 && (!up || up.received !== 0)) up = await this.begin(key, p.sha256, size);
    if (!up) throw new RpcError(RpcCode.InvalidParams, `artifact.put ${p.sha256}: no upload in progress at offset ${p.offset}`, { expected: 'offset 0 first' });
    const u = up;
    const run = u.chain.then(async () => {
      if (this.uploads.get(key) !== u) throw new RpcError(RpcCode.InvalidParams, `artifact.put ${p.sha256}: the upload was restarted or dropped`);
      if (size !== u.size) {
        await this.abort(key);
        throw refused(`artifact.put ${p.sha256}: size changed from ${u.size} to ${size} during the upload`);
      }
      if (p.offset !== u.received) throw new RpcError(RpcCode.InvalidParams, `artifact.put ${p.sha256}: offset ${p.offset}, expected ${u.received}`, { received: u.received });
      if (u.received + bytes.length > u.size) {
        await this.abort(key);
        throw refused(`artifact ${p.sha256}: more data than the declared ${u.size} bytes; upload discarded`);
      }
      u.hash.update(bytes);
      u.received += bytes.length;
      await writeAll(u.out, bytes);
      if (p.final) {
        await this.finish(key, u);
        return { received: u.received, stored: true };
      }
      return { received: u.received, stored: false };
    });
    u.chain = run.catch(() => undefined);
    return run;
  }

  /**
   * Stores a streamed body (`PUT /artifacts/<sha256>`). `declaredSize` (Content-Length) is
   * checked before reading; the limit also applies while streaming.
   */
  async putStream(sha256: string, body: Readable, declaredSize?: number): Promise<ArtifactPutResult> {
    this.pathOf(sha256);
    if (declaredSize !== undefined) this.checkSize(declaredSize);
    const have = await this.has(sha256);
    if (have.present) {
      body.resume();
      return { received: have.size ?? 0, stored: true };
    }
    const key = `stream-${randomBytes(8).toString('hex')}:${sha256}`;
    const up = await this.begin(key, sha256, declaredSize ?? -1);
    try {
      for await (const chunk of body) {
        const b = chunk as Buffer;
        if (up.received + b.length > this.maxBytes) throw refused(`artifact ${sha256} refused: over the limit of ${this.maxBytes} bytes (--max-artifact-bytes)`, { maxBytes: this.maxBytes });
        if (declaredSize !== undefined && up.received + b.length > declaredSize) throw refused(`artifact ${sha256}: more data than the declared ${declaredSize} bytes`);
        up.hash.update(b);
        up.received += b.length;
        if (!up.out.write(b)) await new Promise<void>((r) => up.out.once('drain', () => r()));
      }
      if (declaredSize === undefined) up.size = up.received;
      await this.finish(key, up);
      return { received: up.received, stored: true };
    } catch (e) {
      await this.abort(key);
      throw e;
    }
  }

  /** Puts a stored artifact at `dest` (hard link, else copy). */
  async materialize(sha256: string, dest: string): Promise<void> {
    const src = this.pathOf(sha256);
    try {
      await link(src, dest);
    } catch {
      await copyFile(src, dest);
    }
  }

  /** Drops every upload in progress. */
  async close(): Promise<void> {
    for (const key of [...this.uploads.keys()]) await this.abort(key);
  }
}
