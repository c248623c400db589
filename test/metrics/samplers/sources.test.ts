import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NvidiaSmiStream, findOnPath, parseComputeApps, parseGpuQueryLine } from '../../../src/metrics/samplers/nvidia-smi.js';
import { cpuPctBetween, parseProcStat, parseProcStatus } from '../../../src/metrics/samplers/procfs.js';
import { ResourceSampler } from '../../../src/metrics/samplers/sampler.js';
import { RaplEnergy, raplDeltaUj } from '../../../src/metrics/samplers/sysfs.js';

const root = mkdtempSync(join(tmpdir(), 'benchalign-sampler-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function write(path: string, text: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('/proc parsing', () => {
  it('utime and stime of a stat line whose comm holds spaces and parens', () => {
    const line = '4242 (my (odd) proc) R 1 4242 4242 0 -1 4194304 97 0 0 0 1234 567 0 0 20 0 1 0 189579 3133440 382 18446744073709551615';
    expect(parseProcStat(line)).toEqual({ utimeTicks: 1234, stimeTicks: 567 });
    expect(parseProcStat('garbage')).toBeUndefined();
  });

  it('VmRSS and VmHWM in bytes', () => {
    expect(parseProcStatus('Name:\tx\nVmHWM:\t    2048 kB\nVmRSS:\t    1024 kB\n')).toEqual({ rssBytes: 1024 * 1024, hwmBytes: 2048 * 1024 });
    expect(parseProcStatus('Name:\tkthread\n')).toEqual({});
  });

  it('CPU% from tick deltas: 50 ticks at 100 Hz over 1 s is 50% of a core', () => {
    expect(cpuPctBetween({ utimeTicks: 100, stimeTicks: 10 }, { utimeTicks: 140, stimeTicks: 20 }, 100, 1000)).toBe(50);
    expect(cpuPctBetween({ utimeTicks: 0, stimeTicks: 0 }, { utimeTicks: 300, stimeTicks: 100 }, 100, 2000)).toBe(200);
  });

  it('reads a fake /proc tree through the sampler', () => {
    const proc = join(root, 'proc');
    write(join(proc, '77/stat'), '77 (w) S 1 77 77 0 -1 0 0 0 0 0 10 5 0 0 20 0 1 0 1 1 1');
    write(join(proc, '77/status'), 'VmHWM:\t  300 kB\nVmRSS:\t  200 kB\n');
    const s = new ResourceSampler({ procRoot: proc, sysRoot: join(root, 'nosys'), nvidiaSmi: false, clkTck: 100 });
    s.start(77);
    write(join(proc, '77/status'), 'VmHWM:\t  900 kB\nVmRSS:\t  800 kB\n');
    const mk = s.mark('loaded');
    const samples = s.stop();
    expect(mk).toMatchObject({ label: 'loaded', hwmBytes: 900 * 1024, rssBytes: 800 * 1024 });
    expect(samples[0]).toMatchObject({ rssBytes: 200 * 1024, hwmBytes: 300 * 1024 });
    expect(samples[0]?.cpuPct).toBeUndefined();
    expect(samples[1]?.cpuPct).toBe(0);
    expect(s.sourcesRead().sort()).toEqual(['cpu', 'memory']);
  });

  it('an unreadable pid records no process fields and does not throw', () => {
    const s = new ResourceSampler({ procRoot: join(root, 'proc'), sysRoot: join(root, 'nosys'), nvidiaSmi: false });
    s.start(999999);
    const samples = s.stop();
    expect(samples.length).toBeGreaterThanOrEqual(1);
    expect(samples[0]?.rssBytes).toBeUndefined();
    expect(s.sourcesRead()).toEqual([]);
  });
});

describe('sysfs: cpufreq, thermal, RAPL', () => {
  const sys = join(root, 'sys');
  const rapl0 = join(sys, 'class/powercap/intel-rapl:0');
  const rapl1 = join(sys, 'class/powercap/intel-rapl:1');
  write(join(sys, 'devices/system/cpu/cpu0/cpufreq/scaling_cur_freq'), '2000000\n');
  write(join(sys, 'devices/system/cpu/cpu1/cpufreq/scaling_cur_freq'), '3000000\n');
  mkdirSync(join(sys, 'devices/system/cpu/cpufreq'), { recursive: true });
  write(join(sys, 'class/thermal/thermal_zone0/temp'), '45000\n');
  write(join(sys, 'class/thermal/thermal_zone1/temp'), '67500\n');
  write(join(rapl0, 'energy_uj'), '999000\n');
  write(join(rapl0, 'max_energy_range_uj'), '1000000\n');
  write(join(rapl1, 'energy_uj'), '10\n');
  write(join(rapl1, 'max_energy_range_uj'), '5000000\n');
  // a sub-domain (core) must not be added to the package total
  write(join(sys, 'class/powercap/intel-rapl:0:0/energy_uj'), '123\n');
  write(join(sys, 'class/powercap/intel-rapl:0:0/max_energy_range_uj'), '1000000\n');

  it('wraparound: the counter restarting below its previous value adds max_energy_range_uj', () => {
    expect(raplDeltaUj(999_000, 500, 1_000_000)).toBe(1_500);
    expect(raplDeltaUj(100, 600, 1_000_000)).toBe(500);
  });

  it('sampler reads mean frequency, hottest zone and cumulative package energy across a wrap', () => {
    write(join(rapl0, 'energy_uj'), '999000\n');
    write(join(rapl1, 'energy_uj'), '10\n');
    const s = new ResourceSampler({ procRoot: join(root, 'noproc'), sysRoot: sys, nvidiaSmi: false });
    s.start(1);
    write(join(rapl0, 'energy_uj'), '500\n'); // wrapped: +1500 uJ
    write(join(rapl1, 'energy_uj'), '2000010\n'); // +2 J
    s.sampleNow();
    write(join(rapl0, 'energy_uj'), '250500\n'); // +250000 uJ
    s.sampleNow();
    const samples = s.stop();
    expect(samples[0]).toMatchObject({ cpuFreqMHz: 2500, tempC: 67.5, cpuEnergyJ: 0 });
    expect(samples[1]?.cpuEnergyJ).toBeCloseTo(2.0015, 12);
    expect(samples[2]?.cpuEnergyJ).toBeCloseTo(2.2515, 12);
    expect(s.sourcesRead().sort()).toEqual(['cpufreq', 'rapl', 'thermal']);
  });

  it('RaplEnergy is unavailable without powercap', () => {
    expect(new RaplEnergy(join(root, 'nosys')).available).toBe(false);
  });
});

describe('nvidia-smi', () => {
  it('parses query lines, [N/A] fields and compute apps', () => {
    expect(parseGpuQueryLine('0, 37, 1024, 55.50')).toEqual({ index: 0, utilPct: 37, memUsedBytes: 1024 * 1024 * 1024, powerW: 55.5 });
    expect(parseGpuQueryLine('1, [N/A], 2048, [N/A]')).toEqual({ index: 1, memUsedBytes: 2048 * 1024 * 1024 });
    expect(parseGpuQueryLine('No devices were found')).toBeUndefined();
    const apps = parseComputeApps('123, 512\n456, 100\n123, 256\n');
    expect(apps.get(123)).toBe(768 * 1024 * 1024);
    expect(apps.get(456)).toBe(100 * 1024 * 1024);
  });

  it('stream parser keeps partial lines until their newline, totals over GPUs', () => {
    const st = new NvidiaSmiStream('/nonexistent');
    st.feed('0, 40, 100, 50\n1, 6');
    expect(st.latest()).toEqual({ utilPct: 40, memUsedBytes: 100 * 1024 * 1024, powerW: 50 });
    st.feed('0, 200, 70\n');
    expect(st.latest()).toEqual({ utilPct: 50, memUsedBytes: 300 * 1024 * 1024, powerW: 120 });
  });

  it('a fake nvidia-smi on PATH feeds GPU fields and per-process memory into samples', async () => {
    const bin = join(root, 'bin');
    mkdirSync(bin, { recursive: true });
    const fake = join(bin, 'nvidia-smi');
    writeFileSync(
      fake,
      [
        '#!/bin/sh',
        'case "$1" in',
        '  --query-compute-apps=*) echo "$FAKE_NVSMI_PID, 640"; echo "1, 10";;',
        '  *) while true; do echo "0, 75, 4096, 120.5"; sleep 0.05; done;;',
        'esac',
      ].join('\n'),
    );
    chmodSync(fake, 0o755);
    expect(findOnPath(fake)).toBe(fake);
    process.env['FAKE_NVSMI_PID'] = String(process.pid);
    const s = new ResourceSampler({ nvidiaSmi: fake, sysRoot: join(root, 'nosys') });
    expect(s.hasNvidiaSmi).toBe(true);
    s.start(process.pid);
    await sleep(700);
    const samples = s.stop();
    const last = samples[samples.length - 1]!;
    expect(last).toMatchObject({ gpuUtilPct: 75, gpuMemBytes: 4096 * 1024 * 1024, gpuPowerW: 120.5, gpuProcessMemBytes: 640 * 1024 * 1024 });
    expect(s.sourcesRead()).toEqual(expect.arrayContaining(['nvidia-smi', 'nvidia-smi-apps', 'cpu', 'memory']));
  });

  it('no nvidia-smi: the sampler runs without GPU fields', () => {
    const s = new ResourceSampler({ nvidiaSmi: join(root, 'missing-nvidia-smi') });
    expect(s.hasNvidiaSmi).toBe(false);
  });
});
