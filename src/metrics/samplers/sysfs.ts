/** CPU frequency, thermal zones and RAPL energy from sysfs. Reads never throw. */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

function readNumber(path: string): number | undefined {
  try {
    const v = Number(readFileSync(path, 'utf8').trim());
    return Number.isFinite(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

function list(dir: string, re: RegExp): string[] {
  try {
    return readdirSync(dir)
      .filter((n) => re.test(n))
      .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  } catch {
    return [];
  }
}

/** scaling_cur_freq files of every CPU under sysRoot. */
export function cpuFreqFiles(sysRoot: string): string[] {
  const dir = join(sysRoot, 'devices/system/cpu');
  return list(dir, /^cpu\d+$/).map((c) => join(dir, c, 'cpufreq/scaling_cur_freq'));
}

/** Mean current frequency over the CPUs that report one, MHz (sysfs gives kHz). */
export function readCpuFreqMHz(files: readonly string[]): number | undefined {
  let sum = 0;
  let n = 0;
  for (const f of files) {
    const khz = readNumber(f);
    if (khz !== undefined) {
      sum += khz / 1000;
      n++;
    }
  }
  return n > 0 ? sum / n : undefined;
}

/** temp files of every thermal zone under sysRoot. */
export function thermalFiles(sysRoot: string): string[] {
  const dir = join(sysRoot, 'class/thermal');
  return list(dir, /^thermal_zone\d+$/).map((z) => join(dir, z, 'temp'));
}

/** Hottest zone, degrees C (sysfs gives millidegrees). */
export function readMaxTempC(files: readonly string[]): number | undefined {
  let max: number | undefined;
  for (const f of files) {
    const m = readNumber(f);
    if (m !== undefined) max = Math.max(max ?? -Infinity, m / 1000);
  }
  return max;
}

/** Energy counter increase between two readings, with one wraparound at maxRangeUj. */
export function raplDeltaUj(prevUj: number, curUj: number, maxRangeUj: number): number {
  return curUj >= prevUj ? curUj - prevUj : curUj + maxRangeUj - prevUj;
}

/**
 * Cumulative package energy from RAPL (powercap intel-rapl:N package domains, summed),
 * joules since construction. Sampling must be faster than one counter wrap (minutes).
 */
export class RaplEnergy {
  private readonly domains: Array<{ energyPath: string; maxRangeUj: number; lastUj: number }> = [];
  private totalUj = 0;

  constructor(sysRoot: string) {
    const dir = join(sysRoot, 'class/powercap');
    for (const d of list(dir, /^intel-rapl:\d+$/)) {
      const energyPath = join(dir, d, 'energy_uj');
      const uj = readNumber(energyPath);
      const maxRangeUj = readNumber(join(dir, d, 'max_energy_range_uj'));
      if (uj !== undefined && maxRangeUj !== undefined && maxRangeUj > 0) this.domains.push({ energyPath, maxRangeUj, lastUj: uj });
    }
  }

  get available(): boolean {
    return this.domains.length > 0;
  }

  /** Joules since construction, or undefined when no domain could be read now. */
  readJ(): number | undefined {
    let read = 0;
    for (const d of this.domains) {
      const uj = readNumber(d.energyPath);
      if (uj === undefined) continue;
      this.totalUj += raplDeltaUj(d.lastUj, uj, d.maxRangeUj);
      d.lastUj = uj;
      read++;
    }
    return read > 0 ? this.totalUj / 1e6 : undefined;
  }
}
