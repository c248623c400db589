/**
 * Progress on long work: a bar on a terminal (cli-progress), plain lines in CI or when
 * output is piped. Everything goes to stderr so that `--json` stdout stays clean.
 */
import cliProgress from 'cli-progress';
import type { JobProgress } from '../../runner-agents/execute-job.js';

export interface ProgressReporter {
  start(totalJobs: number): void;
  jobStarted(index: number, label: string): void;
  jobProgress(p: JobProgress): void;
  jobFinished(label: string, summary: string): void;
  stop(): void;
}

class BarReporter implements ProgressReporter {
  private bar = new cliProgress.SingleBar(
    { format: ' {bar} {value}/{total} jobs | {job} | {detail}', hideCursor: true, clearOnComplete: false, stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  private done = 0;
  private label = '';

  start(totalJobs: number): void {
    this.bar.start(totalJobs, 0, { job: '', detail: '' });
  }
  jobStarted(_index: number, label: string): void {
    this.label = label;
    this.bar.update(this.done, { job: label, detail: 'starting' });
  }
  jobProgress(p: JobProgress): void {
    const detail =
      p.phase === 'measure' && p.samples !== undefined
        ? `${p.samples} samples, p50 CI ±${Number.isFinite(p.p50HalfWidthPct) ? (p.p50HalfWidthPct ?? 0).toFixed(2) : '∞'}%`
        : p.phase;
    this.bar.update(this.done, { job: this.label, detail });
  }
  jobFinished(label: string, summary: string): void {
    this.done++;
    this.bar.update(this.done, { job: label, detail: summary });
  }
  stop(): void {
    this.bar.stop();
  }
}

class LineReporter implements ProgressReporter {
  private total = 0;
  private index = 0;
  private lastLogMs = 0;

  start(totalJobs: number): void {
    this.total = totalJobs;
    process.stderr.write(`benchalign: ${totalJobs} job(s)\n`);
  }
  jobStarted(index: number, label: string): void {
    this.index = index;
    this.lastLogMs = Date.now();
    process.stderr.write(`[${index + 1}/${this.total}] ${label} ...\n`);
  }
  jobProgress(p: JobProgress): void {
    if (p.phase !== 'measure' || Date.now() - this.lastLogMs < 5000) return;
    this.lastLogMs = Date.now();
    process.stderr.write(`[${this.index + 1}/${this.total}]   ${p.samples ?? 0} samples, p50 CI ±${(p.p50HalfWidthPct ?? Infinity).toFixed(2)}%\n`);
  }
  jobFinished(label: string, summary: string): void {
    process.stderr.write(`[${this.index + 1}/${this.total}] ${label}: ${summary}\n`);
  }
  stop(): void {}
}

class QuietReporter implements ProgressReporter {
  start(): void {}
  jobStarted(): void {}
  jobProgress(): void {}
  jobFinished(): void {}
  stop(): void {}
}

/** A bar on an interactive terminal outside CI; plain lines otherwise; nothing when quiet. */
export function createProgressReporter(options: { quiet?: boolean } = {}): ProgressReporter {
  if (options.quiet) return new QuietReporter();
  const interactive = process.stderr.isTTY === true && !process.env.CI;
  return interactive ? new BarReporter() : new LineReporter();
}
