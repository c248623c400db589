/**
 * A run's output folder. Each finished job is appended (and fsynced) to the journal
 * `results.jobs.jsonl`, one JSON line per job: constant time per job, where rewriting
 * results.json after every job was quadratic in the number of jobs. results.json holds the run
 * header while the run goes on, and everything once it ends (Ctrl-C included), when the
 * journal is folded into it and removed. A run killed outright (SIGKILL, power) leaves both;
 * readRunFile (run-file.ts) folds the journal's complete lines, so every finished job is kept.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { toCsv } from './csv.js';
import { toJunit } from './junit.js';
import { toMarkdown } from './markdown.js';
import type { JobResult, RunResults } from '../model/record.js';

/** Writes `data` to `path` so that readers see the old file or the new one, never half. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** The journal of finished jobs beside results.json, one JSON line per job. */
export const JOURNAL_FILE = 'results.jobs.jsonl';

export class RunDirectory {
  readonly dir: string;
  readonly results: RunResults;
  private journal: number | undefined;

  /** `onJob` is told of each finished job after it is in the journal (the results store's writes). */
  constructor(
    dir: string,
    results: RunResults,
    private readonly onJob?: (job: JobResult) => void,
  ) {
    this.dir = dir;
    this.results = results;
    mkdirSync(dir, { recursive: true });
    this.flush();
    this.journal = openSync(join(dir, JOURNAL_FILE), 'w');
    fsyncSync(this.journal);
  }

  get resultsPath(): string {
    return join(this.dir, 'results.json');
  }

  /** Records a finished job: one line appended to the journal and fsynced. */
  addJob(job: JobResult): void {
    this.results.jobs.push(job);
    if (this.journal === undefined) this.flush();
    else {
      writeSync(this.journal, Buffer.from(`${JSON.stringify(job)}\n`));
      fsyncSync(this.journal);
    }
    this.onJob?.(job);
  }

  /** Marks the run finished (or interrupted) and writes every report. */
  finish(status: 'complete' | 'interrupted'): void {
    this.results.run.status = status;
    this.results.run.endedAt = new Date().toISOString();
    this.flush();
    if (this.journal !== undefined) {
      closeSync(this.journal);
      this.journal = undefined;
      rmSync(join(this.dir, JOURNAL_FILE), { force: true });
    }
    writeFileAtomic(join(this.dir, 'results.csv'), toCsv(this.results));
    writeFileAtomic(join(this.dir, 'report.md'), toMarkdown(this.results));
    writeFileAtomic(join(this.dir, 'junit.xml'), toJunit(this.results));
  }

  private flush(): void {
    writeFileAtomic(this.resultsPath, `${JSON.stringify(this.results, null, 1)}\n`);
  }
}
