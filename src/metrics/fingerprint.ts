/**
 * The device fingerprint of a result record: what the machine is, from systeminformation,
 * sysfs and nvidia-smi, with a hash over the fields that change performance.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as si from 'systeminformation';
import type { DeviceFingerprint } from '../model/record.js';
import { findOnPath } from './samplers/nvidia-smi.js';

/** Options of collectFingerprint. */
export interface FingerprintOptions {
  /** Root of sysfs, for the CPU governor. Default '/sys'. */
  sysRoot?: string;
  /** nvidia-smi executable, or false for none. Default: 'nvidia-smi' when on PATH. */
  nvidiaSmi?: string | false;
}

type Gpu = DeviceFingerprint['gpus'][number];

type StaticInfo = Pick<DeviceFingerprint, 'hostname' | 'cpuModel' | 'cpuCores' | 'cpuPhysicalCores' | 'arch' | 'memoryBytes' | 'os' | 'kernel'> & {
  siGpus: Gpu[];
};

let staticCache: Promise<StaticInfo> | undefined;

async function staticInfo(): Promise<StaticInfo> {
  staticCache ??= (async () => {
    const [cpu, mem, os, graphics] = await Promise.all([
      si.cpu(),
      si.mem(),
      si.osInfo(),
      si.graphics().catch(() => ({ controllers: [] as si.Systeminformation.GraphicsControllerData[] })),
    ]);
    const info: StaticInfo = {
      hostname: os.hostname,
      cpuModel: `${cpu.manufacturer} ${cpu.brand}`.trim(),
      cpuCores: cpu.cores,
      arch: os.arch,
      memoryBytes: mem.total,
      os: `${os.distro} ${os.release}`.trim(),
      kernel: os.kernel,
      siGpus: graphics.controllers
        .filter((c) => c.model !== '')
        .map((c) => {
          const g: Gpu = { model: `${c.vendor} ${c.model}`.trim() };
          if (c.driverVersion) g.driver = c.driverVersion;
          if (c.vram !== null && c.vram > 0) g.memoryBytes = c.vram * 1024 * 1024;
          return g;
        }),
    };
    if (cpu.physicalCores > 0) info.cpuPhysicalCores = cpu.physicalCores;
    return info;
  })();
  return staticCache;
}

/** Forget the cached systeminformation answers (they are read once per process). */
export function clearFingerprintCache(): void {
  staticCache = undefined;
}

/** Parses `name, driver_version, memory.total` lines (csv, noheader, nounits; MiB). */
export function parseNvidiaGpuList(text: string): Gpu[] {
  const out: Gpu[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(',').map((s) => s.trim());
    if (f.length !== 3 || f[0] === '' || f[0] === undefined) continue;
    const g: Gpu = { model: f[0] };
    if (f[1] && f[1] !== '[N/A]') g.driver = f[1];
    const mib = Number(f[2]);
    if (f[2] !== '' && Number.isFinite(mib)) g.memoryBytes = mib * 1024 * 1024;
    out.push(g);
  }
  return out;
}

function nvidiaGpus(path: string): Promise<Gpu[] | undefined> {
  return new Promise((resolve) => {
    execFile(path, ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader,nounits'], { timeout: 10_000 }, (err, stdout) =>
      resolve(err === null ? parseNvidiaGpuList(stdout) : undefined),
    );
  });
}

async function governor(sysRoot: string): Promise<string | undefined> {
  try {
    const g = (await readFile(join(sysRoot, 'devices/system/cpu/cpu0/cpufreq/scaling_governor'), 'utf8')).trim();
    return g === '' ? undefined : g;
  } catch {
    return undefined;
  }
}

const GiB = 1024 ** 3;

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = canonical(v);
    }
    return out;
  }
  return value;
}

/**
 * sha256 (hex) over the performance-relevant fields: everything but hostname, with memory
 * rounded to whole GiB (the kernel's reservation moves the exact total between boots), as
 * JSON with sorted keys.
 */
export function fingerprintHash(fp: Omit<DeviceFingerprint, 'hash' | 'hostname'> & { hostname?: string }): string {
  const { hostname: _hostname, ...rest } = fp as DeviceFingerprint;
  const { hash: _hash, ...fields } = rest as DeviceFingerprint;
  const payload = canonical({ ...fields, memoryBytes: Math.round(fields.memoryBytes / GiB) * GiB });
  return createHash('sha256').update(JSON.stringify(payload)).digest('hex');
}

/** Collects the fingerprint of this machine. The systeminformation part is cached per process. */
export async function collectFingerprint(
  engineVersions: Record<string, string>,
  options: FingerprintOptions = {},
): Promise<DeviceFingerprint> {
  const info = await staticInfo();
  const smi = options.nvidiaSmi === false ? undefined : findOnPath(options.nvidiaSmi ?? 'nvidia-smi');
  const gov = await governor(options.sysRoot ?? '/sys');
  const gpus = (smi !== undefined ? await nvidiaGpus(smi) : undefined) ?? info.siGpus;
  const fp: Omit<DeviceFingerprint, 'hash'> = {
    hostname: info.hostname,
    cpuModel: info.cpuModel,
    cpuCores: info.cpuCores,
    arch: info.arch,
    memoryBytes: info.memoryBytes,
    os: info.os,
    kernel: info.kernel,
    gpus,
    engineVersions: { ...engineVersions },
  };
  if (info.cpuPhysicalCores !== undefined) fp.cpuPhysicalCores = info.cpuPhysicalCores;
  if (gov !== undefined) fp.governor = gov;
  return { ...fp, hash: fingerprintHash(fp) };
}
