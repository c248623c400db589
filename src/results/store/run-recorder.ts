/**
 * `benchalign run`'s writes into the results store, job by job: the run is recorded `running`
 * when it starts, each finished job as it finishes, and its status (complete / interrupted) at
 * the end. A run killed outright is therefore in the history with the jobs it finished, and the
 * next run on the host marks it interrupted. The run folder is the record of truth: a store
 * failure warns once and stops the store writes, never the run.
 */
import { resolve } from 'node:path';
import { describeError } from '../../errors.js';
import type { JobResult, RunResults } from '../../model/record.js';
import { displayStoreLocation, isPostgresUrl, openStore } from './store.js';
import type { ResultsStore } from './types.js';

export class StoreRecorder {
  private chain: Promise<void> = Promise.resolve();
  private broken = false;
  private ord = 0;

  private constructor(
    private readonly location: string,
    private readonly store: ResultsStore | undefined,
    private readonly results: RunResults,
    private readonly quiet: boolean,
  ) {}

  /** Opens the store and records the run as `running`; on failure, a recorder that only warned. */
  static async open(location: string, results: RunResults, tags: string[], quiet: boolean): Promise<StoreRecorder> {
    let store: ResultsStore | undefined;
    try {
      store = await openStore(location);
      const { abandoned } = await store.beginRun(results, { tags });
      for (const id of abandoned) process.stderr.write(`benchalign: run ${id} was left running by a process that is gone (killed?); marked interrupted in the results store\n`);
      return new StoreRecorder(location, store, results, quiet);
    } catch (e) {
      await store?.close().catch(() => undefined);
      const r = new StoreRecorder(location, undefined, results, quiet);
      r.fail(e);
      return r;
    }
  }

  private where(): string {
    return isPostgresUrl(this.location) ? displayStoreLocation(this.location) : resolve(this.location);
  }

  private fail(e: unknown): void {
    if (this.broken) return;
    this.broken = true;
    process.stderr.write(`benchalign: warning: the run was not recorded in the store ${this.where()}${this.store !== undefined ? ' in full' : ''}: ${describeError(e)} (results.json is complete)\n`);
  }

  /** Queues the write of one finished job. */
  add(job: JobResult): void {
    const ord = this.ord++;
    this.chain = this.chain.then(async () => {
      if (this.broken || this.store === undefined) return;
      try {
        await this.store.appendJob(this.results, job, ord);
      } catch (e) {
        this.fail(e);
      }
    });
  }

  /** Waits for the job writes, records the run's end and closes the store. */
  async finish(): Promise<void> {
    await this.chain;
    if (this.store === undefined) return;
    try {
      if (!this.broken) {
        await this.store.finishRun(this.results);
        if (!this.quiet) process.stderr.write(`benchalign: run ${this.results.run.id} recorded in the results store ${this.where()}\n`);
      }
    } catch (e) {
      this.fail(e);
    } finally {
      await this.store.close().catch(() => undefined);
    }
  }
}
