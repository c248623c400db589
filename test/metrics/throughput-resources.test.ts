import { describe, expect, it } from 'vitest';
import { integratePowerJ, summarizeResources } from '../../src/metrics/resources.js';
import { itemsPerSec, throughputPoint } from '../../src/metrics/throughput.js';
import type { ResourceSample } from '../../src/model/measurements.js';

describe('throughput', () => {
  it('items per second from wall time', () => {
    expect(itemsPerSec(500, 250)).toBe(2000);
    expect(() => itemsPerSec(1, 0)).toThrow(/positive wall time/);
  });

  it('a throughput point: requests x batch / wall, p50 of request latencies', () => {
    const pt = throughputPoint({ concurrency: 4, batchSize: 8, wallNs: 2e9, latenciesMs: [4, 1, 3, 2] });
    expect(pt).toEqual({ concurrency: 4, batchSize: 8, itemsPerSec: 16, p50Ms: 2.5, requests: 4 });
  });
});

describe('summarizeResources (hand-worked)', () => {
  const MiB = 1024 * 1024;
  const samples: ResourceSample[] = [
    { tMs: -100, rssBytes: 50 * MiB, hwmBytes: 60 * MiB, cpuPct: 100 },
    { tMs: 0, cpuPct: 90, rssBytes: 55 * MiB, hwmBytes: 60 * MiB, gpuPowerW: 10, cpuEnergyJ: 0, cpuFreqMHz: 2000, tempC: 50, gpuUtilPct: 40, gpuMemBytes: 1000 },
    { tMs: 100, cpuPct: 100, rssBytes: 70 * MiB, hwmBytes: 75 * MiB, gpuPowerW: 20, cpuEnergyJ: 1, cpuFreqMHz: 2200, tempC: 55, gpuUtilPct: 60, gpuMemBytes: 3000 },
    { tMs: 200, cpuPct: 110, rssBytes: 70 * MiB, hwmBytes: 80 * MiB, gpuPowerW: 30, cpuEnergyJ: 2.5, cpuFreqMHz: 2400, tempC: 60, gpuUtilPct: 80, gpuMemBytes: 2000 },
    { tMs: 300, cpuPct: 100, rssBytes: 70 * MiB, hwmBytes: 80 * MiB, gpuPowerW: 40, cpuEnergyJ: 3 },
    { tMs: 400, cpuPct: 0, rssBytes: 90 * MiB, hwmBytes: 95 * MiB },
  ];

  it('means, peaks, trapezoid energy and RAPL delta over the window', () => {
    const s = summarizeResources(samples, { startMs: 0, endMs: 300 }, 100);
    expect(s.cpuPctMean).toBe(100); // (90 + 100 + 110 + 100) / 4
    expect(s.peakRssBytes).toBe(80 * MiB);
    expect(s.loadPeakRssBytes).toBe(60 * MiB);
    expect(s.inferencePeakIncreaseBytes).toBe(20 * MiB);
    expect(s.cpuFreqMHzMean).toBe(2200);
    expect(s.tempCMax).toBe(60);
    expect(s.gpuUtilPctMean).toBe(60);
    expect(s.gpuMemPeakBytes).toBe(3000);
    expect(s.gpuPowerWMean).toBe(25);
    expect(s.gpuEnergyJ).toBeCloseTo(7.5, 12); // (15 + 25 + 35) W x 0.1 s
    expect(s.cpuEnergyJ).toBe(3);
    expect(s.energyJ).toBeCloseTo(10.5, 12);
    expect(s.energyPerInferenceJ).toBeCloseTo(0.105, 12);
    expect(s.sampleRateHz).toBeCloseTo(10, 12); // 4 samples over 0.3 s
    expect(s.sources.sort()).toEqual(['cpu', 'cpufreq', 'memory', 'nvidia-smi', 'rapl', 'thermal']);
  });

  it('marks take precedence for the load and end HWM', () => {
    const s = summarizeResources(samples, { startMs: 0, endMs: 300 }, 0, [
      { label: 'loaded', tMs: -50, hwmBytes: 58 * MiB },
      { label: 'steady-end', tMs: 300, hwmBytes: 81 * MiB },
    ]);
    expect(s.inferencePeakIncreaseBytes).toBe(23 * MiB);
    expect(s.energyPerInferenceJ).toBeUndefined();
  });

  it('an empty window reports no sources and no rate', () => {
    const s = summarizeResources(samples, { startMs: 1000, endMs: 2000 }, 10);
    expect(s.sampleRateHz).toBe(0);
    expect(s.cpuPctMean).toBeUndefined();
    expect(s.energyJ).toBeUndefined();
  });

  it('integrates power with the trapezoid rule on uneven steps', () => {
    expect(integratePowerJ([{ tMs: 0, powerW: 100 }, { tMs: 500, powerW: 100 }, { tMs: 2000, powerW: 0 }])).toBeCloseTo(50 + 75, 12);
  });
});
