/**
 * Progress on long work: a bar on a terminal (cli-progress), plain lines in CI or when
 * output is piped. Everything goes to stderr so that `--json` stdout stays clean.
 */
import cliProgress from 'cli-progress';
import type { JobProgress } from '../execution/execute-job.js';

/**
 * Progress of a run. With runner agents several jobs run at once, one per agent: `agent`
 * names the agent a call is about (absent for the local path).
 */
export interface ProgressReporter {
  start(totalJobs: number): void;
  /** The run added `steps` more steps to its total (adaptive repeats). */
  addSteps?(steps: number): void;
  jobStarted(index: number, label: string, agent?: string): void;
  jobProgress(p: JobProgress, agent?: string): void;
  jobFinished(label: string, summary: string, agent?: string): void;
  /** Something happened to an agent: connected, unreachable, lost. */
  agentStatus?(agent: string, status: string): void;
  stop(): void;
}

function progressDetail(p: JobProgress): string {
  return p.phase === 'measure' && p.samples !== undefined
    ? `${p.samples} samples, p50 CI ±${Number.isFinite(p.p50HalfWidthPct) ? (p.p50HalfWidthPct ?? 0).toFixed(2) : '∞'}%`
    : p.phase;
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
  addSteps(steps: number): void {
    this.bar.setTotal(this.bar.getTotal() + steps);
  }
  jobStarted(_index: number, label: string): void {
    this.label = label;
    this.bar.update(this.done, { job: label, detail: 'starting' });
  }
  jobProgress(p: JobProgress): void {
    this.bar.update(this.done, { job: this.label, detail: progressDetail(p) });
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
  /** Per agent ('' for the local path): the step it runs and when it last logged. */
  private state = new Map<string, { index: number; lastLogMs: number }>();

  private at(agent: string | undefined): { index: number; lastLogMs: number } {
    const key = agent ?? '';
    let s = this.state.get(key);
    if (!s) {
      s = { index: 0, lastLogMs: 0 };
      this.state.set(key, s);
    }
    return s;
  }
  private prefix(agent: string | undefined): string {
    return `[${this.at(agent).index + 1}/${this.total}]${agent !== undefined ? ` [${agent}]` : ''}`;
  }

  start(totalJobs: number): void {
    this.total = totalJobs;
    process.stderr.write(`benchalign: ${totalJobs} job(s)\n`);
  }
  addSteps(steps: number): void {
    this.total += steps;
  }
  jobStarted(index: number, label: string, agent?: string): void {
    const s = this.at(agent);
    s.index = index;
    s.lastLogMs = Date.now();
    process.stderr.write(`${this.prefix(agent)} ${label} ...\n`);
  }
  jobProgress(p: JobProgress, agent?: string): void {
    const s = this.at(agent);
    if (p.phase !== 'measure' || Date.now() - s.lastLogMs < 5000) return;
    s.lastLogMs = Date.now();
    process.stderr.write(`${this.prefix(agent)}   ${p.samples ?? 0} samples, p50 CI ±${(p.p50HalfWidthPct ?? Infinity).toFixed(2)}%\n`);
  }
  jobFinished(label: string, summary: string, agent?: string): void {
    process.stderr.write(`${this.prefix(agent)} ${label}: ${summary}\n`);
  }
  agentStatus(agent: string, status: string): void {
    process.stderr.write(`benchalign: agent ${agent}: ${status}\n`);
  }
  stop(): void {}
}

/** On a terminal with runner agents: the run's bar, and one line per agent with its job. */
class AgentBarsReporter implements ProgressReporter {
  private multi = new cliProgress.MultiBar(
    { format: ' {bar} {value}/{total} {name} | {job} | {detail}', hideCursor: true, clearOnComplete: false, stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  private total: cliProgress.SingleBar | undefined;
  private bars = new Map<string, { bar: cliProgress.SingleBar; done: number; label: string }>();
  private done = 0;
  private count = 0;

  private agentBar(agent: string): { bar: cliProgress.SingleBar; done: number; label: string } {
    let b = this.bars.get(agent);
    if (!b) {
      b = { bar: this.multi.create(this.count, 0, { name: agent, job: '', detail: '' }), done: 0, label: '' };
      this.bars.set(agent, b);
    }
    return b;
  }
  start(totalJobs: number): void {
    this.count = totalJobs;
    this.total = this.multi.create(totalJobs, 0, { name: 'jobs', job: '', detail: '' });
  }
  addSteps(steps: number): void {
    this.count += steps;
    this.total?.setTotal(this.count);
  }
  jobStarted(_index: number, label: string, agent?: string): void {
    const b = this.agentBar(agent ?? 'local');
    b.label = label;
    b.bar.update(b.done, { job: label, detail: 'starting' });
  }
  jobProgress(p: JobProgress, agent?: string): void {
    const b = this.agentBar(agent ?? 'local');
    b.bar.update(b.done, { job: b.label, detail: progressDetail(p) });
  }
  jobFinished(label: string, summary: string, agent?: string): void {
    const b = this.agentBar(agent ?? 'local');
    b.done++;
    this.done++;
    b.bar.update(b.done, { job: label, detail: summary });
    this.total?.update(this.done, { job: label, detail: summary });
  }
  agentStatus(agent: string, status: string): void {
    const b = this.agentBar(agent);
    b.bar.update(b.done, { job: '', detail: status });
  }
  stop(): void {
    this.multi.stop();
  }
}

class QuietReporter implements ProgressReporter {
  start(): void {}
  jobStarted(): void {}
  jobProgress(): void {}
  jobFinished(): void {}
  stop(): void {}
}

/**
 * A bar on an interactive terminal outside CI (with `agents`, one line per agent under the
 * run's bar); plain lines otherwise, prefixed by the agent; nothing when quiet.
 */
export function createProgressReporter(options: { quiet?: boolean; agents?: boolean } = {}): ProgressReporter {
  if (options.quiet) return new QuietReporter();
  const interactive = process.stderr.isTTY === true && !process.env.CI;
  if (!interactive) return new LineReporter();
  return options.agents ? new AgentBarsReporter() : new BarReporter();
}
