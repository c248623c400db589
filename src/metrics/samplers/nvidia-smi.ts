/**
 * GPU utilisation, memory and power from a non-blocking `nvidia-smi --query-gpu ... -lms`
 * stream, and per-process GPU memory from `--query-compute-apps`, polled asynchronously.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** One GPU's reading. Fields nvidia-smi reports as [N/A] are absent. */
export interface GpuReading {
  index: number;
  utilPct?: number;
  memUsedBytes?: number;
  powerW?: number;
}

const MiB = 1024 * 1024;

function num(field: string | undefined): number | undefined {
  if (field === undefined) return undefined;
  const v = Number(field.trim());
  return field.trim() !== '' && Number.isFinite(v) ? v : undefined;
}

/** A `index, utilization.gpu, memory.used, power.draw` line (csv, noheader, nounits; memory in MiB). */
export function parseGpuQueryLine(line: string): GpuReading | undefined {
  const f = line.split(',');
  if (f.length !== 4) return undefined;
  const index = num(f[0]);
  if (index === undefined) return undefined;
  const r: GpuReading = { index };
  const util = num(f[1]);
  const mem = num(f[2]);
  const power = num(f[3]);
  if (util !== undefined) r.utilPct = util;
  if (mem !== undefined) r.memUsedBytes = mem * MiB;
  if (power !== undefined) r.powerW = power;
  return r;
}

/** `pid, used_memory` lines (csv, noheader, nounits; MiB) -> bytes by pid, summed over GPUs. */
export function parseComputeApps(text: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const line of text.split('\n')) {
    const f = line.split(',');
    const pid = num(f[0]);
    const mem = num(f[1]);
    if (f.length === 2 && pid !== undefined && mem !== undefined) out.set(pid, (out.get(pid) ?? 0) + mem * MiB);
  }
  return out;
}

/** The executable's path when `name` is on PATH (or is itself an executable path). */
export function findOnPath(name: string): string | undefined {
  const candidates = name.includes('/') ? [name] : (process.env['PATH'] ?? '').split(delimiter).filter(Boolean).map((d) => join(d, name));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  return undefined;
}

/** Totals over all GPUs of the latest reading of each. */
export interface GpuTotals {
  utilPct?: number;
  memUsedBytes?: number;
  powerW?: number;
}

export class NvidiaSmiStream {
  private child: ChildProcess | undefined;
  private buffer = '';
  private readonly byIndex = new Map<number, GpuReading>();
  private appsTimer: NodeJS.Timeout | undefined;
  private appsInFlight = false;
  private apps = new Map<number, number>();
  private appsRead = false;

  constructor(
    private readonly path: string,
    private readonly intervalMs = 50,
    private readonly appsIntervalMs = 500,
  ) {}

  start(): void {
    const child = spawn(
      this.path,
      ['--query-gpu=index,utilization.gpu,memory.used,power.draw', '--format=csv,noheader,nounits', `-lms`, String(this.intervalMs)],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    this.child = child;
    child.on('error', () => {
      this.child = undefined;
    });
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => this.feed(chunk));
    this.pollApps();
    this.appsTimer = setInterval(() => this.pollApps(), this.appsIntervalMs);
    this.appsTimer.unref();
  }

  /** Feed raw stream text (exposed for tests of the parser on partial lines). */
  feed(chunk: string): void {
    this.buffer += chunk;
    let nl = this.buffer.indexOf('\n');
    while (nl >= 0) {
      const r = parseGpuQueryLine(this.buffer.slice(0, nl));
      if (r !== undefined) this.byIndex.set(r.index, r);
      this.buffer = this.buffer.slice(nl + 1);
      nl = this.buffer.indexOf('\n');
    }
  }

  private pollApps(): void {
    if (this.appsInFlight) return;
    this.appsInFlight = true;
    execFile(
      this.path,
      ['--query-compute-apps=pid,used_memory', '--format=csv,noheader,nounits'],
      { timeout: 5000 },
      (err, stdout) => {
        this.appsInFlight = false;
        if (err === null) {
          this.apps = parseComputeApps(stdout);
          this.appsRead = true;
        }
      },
    );
  }

  latest(): GpuTotals | undefined {
    if (this.byIndex.size === 0) return undefined;
    const t: GpuTotals = {};
    let utilN = 0;
    for (const r of this.byIndex.values()) {
      if (r.utilPct !== undefined) {
        t.utilPct = (t.utilPct ?? 0) + r.utilPct;
        utilN++;
      }
      if (r.memUsedBytes !== undefined) t.memUsedBytes = (t.memUsedBytes ?? 0) + r.memUsedBytes;
      if (r.powerW !== undefined) t.powerW = (t.powerW ?? 0) + r.powerW;
    }
    if (t.utilPct !== undefined) t.utilPct /= utilN;
    return t;
  }

  /** GPU memory of one process, bytes; 0 once the apps query has answered without it. */
  processMemBytes(pid: number): number | undefined {
    if (!this.appsRead) return undefined;
    return this.apps.get(pid) ?? 0;
  }

  stop(): void {
    if (this.appsTimer !== undefined) clearInterval(this.appsTimer);
    this.child?.kill('SIGTERM');
    this.child = undefined;
  }
}
