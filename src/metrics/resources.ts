/** Resource samples -> summary over a phase (pure). */
import type { ResourceMark, ResourceSample, ResourceSummary } from '../model/measurements.js';

/** The phase to summarise, on the sampler's clock. */
export interface ResourceWindow {
  /** Start of the phase, ms since the clock origin (inclusive). */
  startMs: number;
  /** End of the phase, ms since the clock origin (inclusive). */
  endMs: number;
}

const meanOf = (xs: number[]): number | undefined => (xs.length > 0 ? xs.reduce((a, b) => a + b, 0) / xs.length : undefined);
const maxOf = (xs: number[]): number | undefined => (xs.length > 0 ? Math.max(...xs) : undefined);

function pick(samples: readonly ResourceSample[], key: keyof ResourceSample): number[] {
  const out: number[] = [];
  for (const s of samples) {
    const v = s[key];
    if (v !== undefined && Number.isFinite(v)) out.push(v);
  }
  return out;
}

/** Trapezoid integral of watts over ms, in joules. */
export function integratePowerJ(points: ReadonlyArray<{ tMs: number; powerW: number }>): number {
  let j = 0;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1]!;
    const b = points[i]!;
    j += ((a.powerW + b.powerW) / 2) * ((b.tMs - a.tMs) / 1000);
  }
  return j;
}

/**
 * Summarise the samples that fall in `window`. Peak RSS is the VmHWM at the end of the
 * window (the 'steady-end' mark when given, else the last sample in it); the load peak is
 * the 'loaded' mark's VmHWM when given, else the last sample at or before the window start.
 * Energy: trapezoid of GPU power plus the RAPL delta, over the window.
 */
export function summarizeResources(
  samples: readonly ResourceSample[],
  window: ResourceWindow,
  inferences: number,
  marks: readonly ResourceMark[] = [],
): ResourceSummary {
  const inWin = samples.filter((s) => s.tMs >= window.startMs && s.tMs <= window.endMs).sort((a, b) => a.tMs - b.tMs);
  const summary: ResourceSummary = { sampleRateHz: 0, sources: [] };
  const first = inWin[0];
  const last = inWin[inWin.length - 1];
  if (first !== undefined && last !== undefined && inWin.length > 1 && last.tMs > first.tMs) {
    summary.sampleRateHz = (inWin.length - 1) / ((last.tMs - first.tMs) / 1000);
  }
  const sources = new Set<string>();
  const cpu = pick(inWin, 'cpuPct');
  if (cpu.length > 0) {
    summary.cpuPctMean = meanOf(cpu);
    sources.add('cpu');
  }

  const hwmAt = (tMs: number): number | undefined => {
    let v: number | undefined;
    for (const s of samples) if (s.tMs <= tMs && s.hwmBytes !== undefined) v = Math.max(v ?? 0, s.hwmBytes);
    return v;
  };
  const endMark = marks.find((mk) => mk.label === 'steady-end' && mk.hwmBytes !== undefined);
  const loadedMark = marks.find((mk) => mk.label === 'loaded' && mk.hwmBytes !== undefined);
  const peak = endMark?.hwmBytes ?? hwmAt(window.endMs);
  const loadPeak = loadedMark?.hwmBytes ?? hwmAt(window.startMs);
  if (peak !== undefined) {
    summary.peakRssBytes = peak;
    sources.add('memory');
  }
  if (loadPeak !== undefined) summary.loadPeakRssBytes = loadPeak;
  if (peak !== undefined && loadPeak !== undefined) summary.inferencePeakIncreaseBytes = Math.max(0, peak - loadPeak);

  const freq = pick(inWin, 'cpuFreqMHz');
  if (freq.length > 0) {
    summary.cpuFreqMHzMean = meanOf(freq);
    sources.add('cpufreq');
  }
  const temp = pick(inWin, 'tempC');
  if (temp.length > 0) {
    summary.tempCMax = maxOf(temp);
    sources.add('thermal');
  }
  const gpuUtil = pick(inWin, 'gpuUtilPct');
  if (gpuUtil.length > 0) summary.gpuUtilPctMean = meanOf(gpuUtil);
  const gpuMem = pick(inWin, 'gpuMemBytes');
  if (gpuMem.length > 0) summary.gpuMemPeakBytes = maxOf(gpuMem);
  const gpuProc = pick(inWin, 'gpuProcessMemBytes');
  if (gpuProc.length > 0) summary.gpuProcessMemPeakBytes = maxOf(gpuProc);
  const power = inWin.filter((s) => s.gpuPowerW !== undefined).map((s) => ({ tMs: s.tMs, powerW: s.gpuPowerW as number }));
  if (power.length > 0) summary.gpuPowerWMean = meanOf(power.map((x) => x.powerW));
  if (power.length > 1) summary.gpuEnergyJ = integratePowerJ(power);
  if (gpuUtil.length + gpuMem.length + power.length > 0) sources.add('nvidia-smi');

  const rapl = inWin.filter((s) => s.cpuEnergyJ !== undefined);
  if (rapl.length > 1) {
    summary.cpuEnergyJ = (rapl[rapl.length - 1]!.cpuEnergyJ as number) - (rapl[0]!.cpuEnergyJ as number);
    sources.add('rapl');
  }
  if (summary.gpuEnergyJ !== undefined || summary.cpuEnergyJ !== undefined) {
    summary.energyJ = (summary.gpuEnergyJ ?? 0) + (summary.cpuEnergyJ ?? 0);
    if (inferences > 0) summary.energyPerInferenceJ = summary.energyJ / inferences;
  }
  summary.sources = [...sources];
  return summary;
}
