/**
 * The resource sampler: reads a worker process from outside (/proc, sysfs, nvidia-smi)
 * on a timer, with timestamps on the latency clock. It never throws on an unreadable source.
 */
import type { ResourceMark, ResourceSample } from '../../model/measurements.js';
import { NvidiaSmiStream, findOnPath } from './nvidia-smi.js';
import { clockTicksPerSec, cpuPctBetween, readProcStat, readProcStatus } from './procfs.js';
import type { ProcCpuTicks } from './procfs.js';
import { RaplEnergy, cpuFreqFiles, readCpuFreqMHz, readMaxTempC, thermalFiles } from './sysfs.js';

/** Options of ResourceSampler. */
export interface ResourceSamplerOptions {
  /** Sampling period, ms. Default 40 (25 Hz, so that >= 20 Hz holds with timer jitter). */
  intervalMs?: number;
  /** Root of procfs. Default '/proc'. */
  procRoot?: string;
  /** Root of sysfs. Default '/sys'. */
  sysRoot?: string;
  /**
   * Clock origin, ns of process.hrtime.bigint() (CLOCK_MONOTONIC, the clock the workers
   * time inferences with). Default: the moment the sampler is constructed.
   */
  clockOriginNs?: bigint;
  /** nvidia-smi executable, or false for none. Default: 'nvidia-smi' when on PATH. */
  nvidiaSmi?: string | false;
  /** Clock ticks per second of /proc/<pid>/stat. Default: `getconf CLK_TCK`, else 100. */
  clkTck?: number;
}

/** Source names, as recorded in `sourcesRead()` and ResourceSummary.sources. */
export type ResourceSource = 'cpu' | 'memory' | 'cpufreq' | 'thermal' | 'rapl' | 'nvidia-smi' | 'nvidia-smi-apps';

export class ResourceSampler {
  readonly clockOriginNs: bigint;
  readonly intervalMs: number;
  private readonly procRoot: string;
  private readonly clkTck: number;
  private readonly freqFiles: string[];
  private readonly tempFiles: string[];
  private readonly rapl: RaplEnergy;
  private readonly nvidiaSmiPath: string | undefined;
  private nvsmi: NvidiaSmiStream | undefined;
  private pid: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private startedNs = 0n;
  private ticksSeen = 0;
  private prevCpu: { ticks: ProcCpuTicks; tMs: number } | undefined;
  private readonly samples: ResourceSample[] = [];
  private readonly markList: ResourceMark[] = [];
  private readonly sources = new Set<ResourceSource>();

  constructor(options: ResourceSamplerOptions = {}) {
    this.clockOriginNs = options.clockOriginNs ?? process.hrtime.bigint();
    this.intervalMs = options.intervalMs ?? 40;
    this.procRoot = options.procRoot ?? '/proc';
    const sysRoot = options.sysRoot ?? '/sys';
    this.clkTck = options.clkTck ?? clockTicksPerSec();
    this.freqFiles = cpuFreqFiles(sysRoot);
    this.tempFiles = thermalFiles(sysRoot);
    this.rapl = new RaplEnergy(sysRoot);
    this.nvidiaSmiPath = options.nvidiaSmi === false ? undefined : findOnPath(options.nvidiaSmi ?? 'nvidia-smi');
  }

  /** Milliseconds since the clock origin, now. */
  nowMs(): number {
    return Number(process.hrtime.bigint() - this.clockOriginNs) / 1e6;
  }

  /** Starts sampling `pid`: one sample now, then one every intervalMs, on an absolute schedule. */
  start(pid: number): void {
    if (this.timer !== undefined) this.stopTimer();
    this.pid = pid;
    this.prevCpu = undefined;
    if (this.nvidiaSmiPath !== undefined && this.nvsmi === undefined) {
      this.nvsmi = new NvidiaSmiStream(this.nvidiaSmiPath, 50);
      this.nvsmi.start();
    }
    this.startedNs = process.hrtime.bigint();
    this.ticksSeen = 0;
    this.sampleNow();
    this.schedule();
  }

  private schedule(): void {
    this.ticksSeen++;
    const dueNs = this.startedNs + BigInt(Math.round(this.ticksSeen * this.intervalMs * 1e6));
    const delayMs = Math.max(0, Number(dueNs - process.hrtime.bigint()) / 1e6);
    this.timer = setTimeout(() => {
      this.sampleNow();
      if (this.timer !== undefined) this.schedule();
    }, delayMs);
    this.timer.unref();
  }

  /** Takes one sample immediately (also used by start, mark and stop). */
  sampleNow(): ResourceSample {
    const tMs = this.nowMs();
    const s: ResourceSample = { tMs };
    if (this.pid !== undefined) {
      const ticks = readProcStat(this.procRoot, this.pid);
      if (ticks !== undefined) {
        this.sources.add('cpu');
        if (this.prevCpu !== undefined) s.cpuPct = cpuPctBetween(this.prevCpu.ticks, ticks, this.clkTck, tMs - this.prevCpu.tMs);
        this.prevCpu = { ticks, tMs };
      }
      const mem = readProcStatus(this.procRoot, this.pid);
      if (mem?.rssBytes !== undefined || mem?.hwmBytes !== undefined) this.sources.add('memory');
      if (mem?.rssBytes !== undefined) s.rssBytes = mem.rssBytes;
      if (mem?.hwmBytes !== undefined) s.hwmBytes = mem.hwmBytes;
    }
    const freq = readCpuFreqMHz(this.freqFiles);
    if (freq !== undefined) {
      s.cpuFreqMHz = freq;
      this.sources.add('cpufreq');
    }
    const temp = readMaxTempC(this.tempFiles);
    if (temp !== undefined) {
      s.tempC = temp;
      this.sources.add('thermal');
    }
    const energy = this.rapl.available ? this.rapl.readJ() : undefined;
    if (energy !== undefined) {
      s.cpuEnergyJ = energy;
      this.sources.add('rapl');
    }
    const gpu = this.nvsmi?.latest();
    if (gpu !== undefined) {
      this.sources.add('nvidia-smi');
      if (gpu.utilPct !== undefined) s.gpuUtilPct = gpu.utilPct;
      if (gpu.memUsedBytes !== undefined) s.gpuMemBytes = gpu.memUsedBytes;
      if (gpu.powerW !== undefined) s.gpuPowerW = gpu.powerW;
    }
    const procGpu = this.pid !== undefined ? this.nvsmi?.processMemBytes(this.pid) : undefined;
    if (procGpu !== undefined) {
      s.gpuProcessMemBytes = procGpu;
      this.sources.add('nvidia-smi-apps');
    }
    this.samples.push(s);
    return s;
  }

  /** Records a phase boundary ('loaded', 'steady-start', 'steady-end', ...) with the VmHWM at that moment. */
  mark(label: string): ResourceMark {
    const s = this.sampleNow();
    const m: ResourceMark = { label, tMs: s.tMs };
    if (s.hwmBytes !== undefined) m.hwmBytes = s.hwmBytes;
    if (s.rssBytes !== undefined) m.rssBytes = s.rssBytes;
    this.markList.push(m);
    return m;
  }

  marks(): ResourceMark[] {
    return [...this.markList];
  }

  /** The sources that could be read at least once. */
  sourcesRead(): ResourceSource[] {
    return [...this.sources];
  }

  /** Whether nvidia-smi was found. */
  get hasNvidiaSmi(): boolean {
    return this.nvidiaSmiPath !== undefined;
  }

  private stopTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Takes a last sample, stops the timer and nvidia-smi, and returns every sample so far. */
  stop(): ResourceSample[] {
    if (this.timer !== undefined) {
      this.stopTimer();
      this.sampleNow();
    }
    this.nvsmi?.stop();
    this.nvsmi = undefined;
    return [...this.samples];
  }
}
