/** /proc/<pid>/stat and /proc/<pid>/status: parsing (pure) and small synchronous reads that never throw. */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Cumulative CPU time of a process, in clock ticks (CLK_TCK per second). */
export interface ProcCpuTicks {
  utimeTicks: number;
  stimeTicks: number;
}

/** utime and stime (fields 14 and 15) of a /proc/<pid>/stat line; the comm field may hold spaces and parens. */
export function parseProcStat(text: string): ProcCpuTicks | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = text.slice(close + 2).trim().split(/\s+/);
  // fields[0] is field 3 (state), so field k is fields[k - 3]
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return { utimeTicks: utime, stimeTicks: stime };
}

/** Resident and peak resident memory from /proc/<pid>/status, bytes. */
export interface ProcMemory {
  rssBytes?: number;
  hwmBytes?: number;
}

export function parseProcStatus(text: string): ProcMemory {
  const out: ProcMemory = {};
  const rss = /^VmRSS:\s+(\d+)\s*kB/m.exec(text);
  const hwm = /^VmHWM:\s+(\d+)\s*kB/m.exec(text);
  if (rss?.[1] !== undefined) out.rssBytes = Number(rss[1]) * 1024;
  if (hwm?.[1] !== undefined) out.hwmBytes = Number(hwm[1]) * 1024;
  return out;
}

function readSmall(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

export function readProcStat(procRoot: string, pid: number): ProcCpuTicks | undefined {
  const text = readSmall(join(procRoot, String(pid), 'stat'));
  return text === undefined ? undefined : parseProcStat(text);
}

export function readProcStatus(procRoot: string, pid: number): ProcMemory | undefined {
  const text = readSmall(join(procRoot, String(pid), 'status'));
  return text === undefined ? undefined : parseProcStatus(text);
}

let clkTckCache: number | undefined;

/** Clock ticks per second (`getconf CLK_TCK`), read once; 100 when it cannot be read. */
export function clockTicksPerSec(): number {
  if (clkTckCache === undefined) {
    try {
      const v = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 2000 }).trim());
      clkTckCache = Number.isFinite(v) && v > 0 ? v : 100;
    } catch {
      clkTckCache = 100;
    }
  }
  return clkTckCache;
}

/** CPU utilisation between two readings, percent of one core. */
export function cpuPctBetween(prev: ProcCpuTicks, cur: ProcCpuTicks, clkTck: number, dtMs: number): number {
  if (!(dtMs > 0)) return 0;
  const ticks = cur.utimeTicks + cur.stimeTicks - prev.utimeTicks - prev.stimeTicks;
  return Math.max(0, ((ticks / clkTck) * 1000 * 100) / dtMs);
}

/**
 * Resets the peak resident memory (VmHWM) of `pid` to its current RSS (Linux: "5" into
 * /proc/<pid>/clear_refs). A worker that serves several jobs in turn starts each job's peak
 * from here, instead of carrying the largest earlier model's. False where it cannot.
 */
export function resetPeakRss(pid: number, procRoot = '/proc'): boolean {
  try {
    writeFileSync(join(procRoot, String(pid), 'clear_refs'), '5');
    return true;
  } catch {
    return false;
  }
}
