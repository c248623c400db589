import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { collectFingerprint, fingerprintHash, parseNvidiaGpuList } from '../../src/metrics/fingerprint.js';

const root = mkdtempSync(join(os.tmpdir(), 'benchalign-fp-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('collectFingerprint on this machine', () => {
  it('agrees with what node:os reports, and hashes without the hostname', async () => {
    const fp = await collectFingerprint({ onnxruntime: '1.23.0' }, { nvidiaSmi: false });
    expect(fp.cpuCores).toBe(os.cpus().length);
    expect(fp.memoryBytes).toBe(os.totalmem());
    expect(fp.kernel).toBe(os.release());
    expect(fp.arch).toBe(os.arch());
    expect(fp.hostname).toBe(os.hostname());
    expect(fp.cpuModel.length).toBeGreaterThan(0);
    expect(fp.os.length).toBeGreaterThan(0);
    expect(fp.engineVersions).toEqual({ onnxruntime: '1.23.0' });
    expect(fp.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(fingerprintHash({ ...fp, hostname: 'elsewhere' })).toBe(fp.hash);
    const again = await collectFingerprint({ onnxruntime: '1.23.0' }, { nvidiaSmi: false });
    expect(again.hash).toBe(fp.hash);
    // engine versions sit beside the hash, not in it: the machine is one device
    const otherEngine = await collectFingerprint({ onnxruntime: '1.24.0', openvino: '2025.3' }, { nvidiaSmi: false });
    expect(otherEngine.hash).toBe(fp.hash);
    expect(otherEngine.engineVersions).toEqual({ onnxruntime: '1.24.0', openvino: '2025.3' });
  });

  it('reads the governor from sysfs and GPUs from nvidia-smi when given', async () => {
    const sys = join(root, 'sys');
    mkdirSync(join(sys, 'devices/system/cpu/cpu0/cpufreq'), { recursive: true });
    writeFileSync(join(sys, 'devices/system/cpu/cpu0/cpufreq/scaling_governor'), 'performance\n');
    const fake = join(root, 'nvidia-smi');
    writeFileSync(fake, '#!/bin/sh\necho "NVIDIA H100 80GB HBM3, 570.86.15, 81559"\n');
    chmodSync(fake, 0o755);
    const fp = await collectFingerprint({}, { sysRoot: sys, nvidiaSmi: fake });
    expect(fp.governor).toBe('performance');
    expect(fp.gpus).toEqual([{ model: 'NVIDIA H100 80GB HBM3', driver: '570.86.15', memoryBytes: 81559 * 1024 * 1024 }]);
    const plain = await collectFingerprint({}, { sysRoot: join(root, 'nosys'), nvidiaSmi: false });
    expect(plain.governor).toBeUndefined();
    expect(plain.hash).not.toBe(fp.hash);
  });
});

describe('fingerprintHash', () => {
  it('is sha256 of sorted-key JSON of the machine alone, memory rounded to GiB (hand-built canonical form)', () => {
    const fp = {
      hostname: 'box',
      cpuModel: 'X',
      cpuCores: 2,
      arch: 'x64',
      memoryBytes: 8 * 1024 ** 3 + 12345,
      os: 'Debian 12',
      kernel: '6.1',
      gpus: [{ model: 'G', driver: '1' }],
      engineVersions: { b: '2', a: '1' },
    };
    const text =
      '{"arch":"x64","cpuCores":2,"cpuModel":"X","gpus":[{"driver":"1","model":"G"}],' +
      `"kernel":"6.1","memoryBytes":${8 * 1024 ** 3},"os":"Debian 12"}`;
    expect(fingerprintHash(fp)).toBe(createHash('sha256').update(text).digest('hex'));
    // one machine is one device whatever engines a suite uses
    expect(fingerprintHash({ ...fp, engineVersions: { onnxruntime: '1.23.0', openvino: '2025.3' } })).toBe(fingerprintHash(fp));
    expect(fingerprintHash({ ...fp, engineVersions: {} })).toBe(fingerprintHash(fp));
  });

  it('parses the nvidia-smi GPU list', () => {
    expect(parseNvidiaGpuList('A, 1.0, 1024\nB, [N/A], [N/A]\n\n')).toEqual([
      { model: 'A', driver: '1.0', memoryBytes: 1024 ** 3 },
      { model: 'B' },
    ]);
  });
});
