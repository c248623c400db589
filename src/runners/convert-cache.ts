/**
 * Converted models, cached by content: the key is a hash of the engine, the source model's
 * sha256, the converter and its version, and the conversion options. A conversion writes
 * into a private temporary folder that is renamed into place only when it succeeded, so a
 * failed or interrupted conversion never leaves a half-written entry behind.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { BenchalignError } from '../errors.js';

/** Root of the conversion cache: BENCHALIGN_CACHE_DIR, else $XDG_CACHE_HOME/benchalign, else ~/.cache/benchalign. */
export function cacheRoot(): string {
  if (process.env.BENCHALIGN_CACHE_DIR) return resolve(process.env.BENCHALIGN_CACHE_DIR);
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'benchalign');
}

export interface ConversionKey {
  engine: string;
  /** sha256 of the source model file. */
  modelSha256: string;
  /** Converter name and version, e.g. `pnnx 20261020`. */
  converter: string;
  /** Everything else that changes the converted files. */
  options: Record<string, unknown>;
}

export interface CachedConversion {
  /** Folder holding the converted files. */
  dir: string;
  /** Time the conversion took now, milliseconds; 0 on a cache hit. */
  convertMs: number;
  cacheHit: boolean;
  key: string;
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  }
  return v;
}

/** The cache key of a conversion (hex sha256 of its canonical JSON). */
export function conversionKey(key: ConversionKey): string {
  return createHash('sha256').update(JSON.stringify(canonical(key))).digest('hex');
}

/**
 * The converted files for `key`: from the cache, or made now by `convert(outDir)`, which
 * writes them into `outDir`. Throws whatever `convert` throws, and caches nothing then.
 */
export async function cachedConversion(key: ConversionKey, convert: (outDir: string) => Promise<void>): Promise<CachedConversion> {
  const hash = conversionKey(key);
  const dir = join(cacheRoot(), 'convert', key.engine, hash);
  if (existsSync(join(dir, '.complete'))) return { dir, convertMs: 0, cacheHit: true, key: hash };
  await mkdir(join(cacheRoot(), 'convert', key.engine), { recursive: true });
  const tmp = await mkdtemp(join(cacheRoot(), 'convert', key.engine, `.tmp-${hash.slice(0, 12)}-`));
  const t0 = process.hrtime.bigint();
  try {
    await convert(tmp);
    const convertMs = Number(process.hrtime.bigint() - t0) / 1e6;
    await writeFile(join(tmp, '.complete'), JSON.stringify({ ...key, convertMs }, null, 2));
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
    return { dir, convertMs, cacheHit: false, key: hash };
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

export interface ConverterRun {
  /** Working directory of the converter. */
  cwd: string;
  /** Kill it after this many milliseconds. Default 600000. */
  timeoutMs?: number;
  env?: Record<string, string>;
}

/** Lines of converter output kept for an error message. */
const LOG_TAIL_LINES = 30;

function tail(text: string, lines: number): string {
  return text.split('\n').filter((l) => l.trim() !== '').slice(-lines).join('\n');
}

/**
 * Runs a converter from an argv array (never a shell). Resolves with its combined output;
 * a non-zero exit, a signal or a timeout rejects with E_CONVERT carrying the output's tail.
 */
export function runConverter(argv: readonly string[], run: ConverterRun): Promise<string> {
  const [command, ...args] = argv;
  if (command === undefined) throw new BenchalignError('E_INTERNAL', 'runConverter: empty argv');
  const label = command.split('/').pop() ?? command;
  return new Promise((resolvePromise, reject) => {
    let out = '';
    const child = spawn(command, args, { cwd: run.cwd, env: { ...process.env, ...run.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (b: Buffer) => {
      out += b.toString('utf8');
      if (out.length > 1 << 20) out = out.slice(-(1 << 19));
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), run.timeoutMs ?? 600_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new BenchalignError('E_CONVERT', `cannot start ${label}: ${e.message}`, { expected: `${command} installed (benchalign engines setup)` }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolvePromise(out);
      const how = signal ? `was killed by ${signal}${signal === 'SIGKILL' ? ' (timeout)' : ''}` : `exited with code ${code}`;
      reject(new BenchalignError('E_CONVERT', `${label} ${how}; its last output:\n${tail(out, LOG_TAIL_LINES)}`, { expected: 'a model the converter accepts' }));
    });
  });
}
