/**
 * A run's output folder. results.json is rewritten atomically (write, fsync, rename) after
 * every job, so Ctrl-C or a crash of the harness keeps every finished job.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
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

export class RunDirectory {
  readonly dir: string;
  readonly results: RunResults;

  constructor(dir: string, results: RunResults) {
    this.dir = dir;
    this.results = results;
    mkdirSync(dir, { recursive: true });
    this.flush();
  }

  get resultsPath(): string {
    return join(this.dir, 'results.json');
  }

  addJob(job: JobResult): void {
    this.results.jobs.push(job);
    this.flush();
  }

  /** Marks the run finished (or interrupted) and writes every report. */
  finish(status: 'complete' | 'interrupted'): void {
    this.results.run.status = status;
    this.results.run.endedAt = new Date().toISOString();
    this.flush();
    writeFileAtomic(join(this.dir, 'results.csv'), toCsv(this.results));
    writeFileAtomic(join(this.dir, 'report.md'), toMarkdown(this.results));
    writeFileAtomic(join(this.dir, 'junit.xml'), toJunit(this.results));
  }

  private flush(): void {
    writeFileAtomic(this.resultsPath, `${JSON.stringify(this.results, null, 1)}\n`);
  }
}
