/** `benchalign runs status|wait|cancel <id> --queue URL`: follow a run on the fleet queue from any machine (docs/fleet.md). */
import type { Command } from 'commander';
import { ExitCode } from '../../errors.js';
import { FleetDb } from '../../agents/queue/db.js';
import { cancelRun, runStatus } from '../../agents/queue/runs.js';
import { waitAndFinishRun } from '../../workflows/fleet-runs.js';
import { addSchedule, listSchedules, removeSchedule, runScheduler } from '../../agents/queue/schedule.js';
import { toMarkdown } from '../../reports/markdown.js';
import { runFolderLine } from '../../reports/run-summary.js';
import { runStatusText } from '../../reports/fleet.js';
import { DEFAULT_STORE_PATH } from '../../results/store/store.js';

async function withDb<T>(url: string, fn: (db: FleetDb) => Promise<T>): Promise<T> {
  const db = await FleetDb.open(url, { applicationName: 'benchalign-runs' });
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

const QUEUE_HELP = 'the fleet queue: postgres://user@host:port/db (password from the URL, PGPASSWORD or a pgpass file)';

export function registerRuns(program: Command): void {
  const runs = program.command('runs').description('Follow runs on the fleet queue (`benchalign run --queue`) from any machine (docs/fleet.md)');
  runs
    .command('status')
    .description('The state of a run and of each of its jobs (`--json` for scripts: its `settled` is true once every job is final)')
    .argument('<run-id>')
    .requiredOption('--queue <url>', QUEUE_HELP)
    .option('--json', 'print the status as JSON')
    .action(async (runId: string, opts: { queue: string; json?: boolean }) => {
      await withDb(opts.queue, async (db) => {
        const s = await runStatus(db, runId);
        process.stdout.write(opts.json ? `${JSON.stringify(s, null, 1)}\n` : runStatusText(s));
      });
    });
  runs
    .command('wait')
    .description('Wait for a run to finish, then write its run folder and record it in the store; exits as `benchalign run` would')
    .argument('<run-id>')
    .requiredOption('--queue <url>', QUEUE_HELP)
    .option('--out <dir>', 'run folder (default: reports/<run-id>/)')
    .option('--store <path>', 'record the run in this results store (a SQLite file or a postgres:// URL)', DEFAULT_STORE_PATH)
    .option('--no-store', 'do not record the run in a results store')
    .option('--tag <name>', 'tag the run in the store (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--timeout <s>', 'give up after this many seconds (exit 3; the run goes on)', (v) => Number(v))
    .option('--quiet', 'no progress output')
    .action(async (runId: string, opts: { queue: string; out?: string; store?: string | false; tag?: string[]; timeout?: number; quiet?: boolean }) => {
      const done = await waitAndFinishRun(opts.queue, runId, {
        quiet: opts.quiet === true,
        ...(opts.timeout !== undefined ? { timeoutMs: opts.timeout * 1000 } : {}),
        ...(opts.out !== undefined ? { outDir: opts.out } : {}),
        ...(typeof opts.store === 'string' ? { store: opts.store } : {}),
        tags: opts.tag ?? [],
      });
      if (!done.settled) {
        process.stderr.write(`benchalign: run ${runId} still has ${done.status.counts.queued} queued and ${done.status.counts.running} running job(s) after ${opts.timeout} s\n`);
        process.exitCode = ExitCode.Infra;
        return;
      }
      process.stdout.write(`${toMarkdown(done.results)}\n`);
      process.stdout.write(runFolderLine(done.runDir));
      process.exitCode = done.exitCode;
    });
  runs
    .command('cancel')
    .description('Cancel a run: its queued jobs leave the queue, its running jobs are stopped on their agents')
    .argument('<run-id>')
    .requiredOption('--queue <url>', QUEUE_HELP)
    .action(async (runId: string, opts: { queue: string }) => {
      await withDb(opts.queue, async (db) => {
        const n = await cancelRun(db, runId);
        process.stdout.write(`run ${runId}: cancelled (${n} job(s) stopped)\n`);
      });
    });
  runs
    .command('schedule')
    .description('Run a suite on the fleet at each tick of a cron expression (pg-boss cron; `runs scheduler` starts the runs): runs schedule nightly --cron "0 2 * * *" --queue URL -- suites/smoke.yaml --tag nightly')
    .argument('<name>', 'schedule name ([A-Za-z0-9_-]); the same name replaces it')
    .argument('<run-args...>', 'after --: the arguments of `benchalign run` (suite first; --queue is added)')
    .requiredOption('--cron <expr>', 'cron expression, e.g. "0 2 * * *"')
    .option('--tz <zone>', 'time zone of the cron expression', 'UTC')
    .requiredOption('--queue <url>', QUEUE_HELP)
    .action(async (name: string, runArgs: string[], opts: { cron: string; tz: string; queue: string }) => {
      await withDb(opts.queue, async (db) => {
        await addSchedule(db, name, opts.cron, runArgs, opts.tz);
        process.stdout.write(`schedule ${name}: benchalign run ${runArgs.join(' ')} at "${opts.cron}" (${opts.tz})\n`);
      });
    });
  runs
    .command('unschedule')
    .description('Remove a schedule')
    .argument('<name>')
    .requiredOption('--queue <url>', QUEUE_HELP)
    .action(async (name: string, opts: { queue: string }) => {
      await withDb(opts.queue, (db) => removeSchedule(db, name));
    });
  runs
    .command('schedules')
    .description('List the schedules')
    .requiredOption('--queue <url>', QUEUE_HELP)
    .action(async (opts: { queue: string }) => {
      await withDb(opts.queue, async (db) => {
        for (const s of await listSchedules(db)) process.stdout.write(`${s.name}\t${s.cron} (${s.timezone})\tbenchalign run ${s.argv.join(' ')}\n`);
      });
    });
  runs
    .command('scheduler')
    .description('Start the scheduled runs, one at a time, in this folder (where the suite files are), until SIGTERM/SIGINT')
    .requiredOption('--queue <url>', QUEUE_HELP)
    .action(async (opts: { queue: string }) => {
      const db = await FleetDb.open(opts.queue, { worker: true, applicationName: 'benchalign-scheduler' });
      const stop = new AbortController();
      process.once('SIGTERM', () => stop.abort());
      process.once('SIGINT', () => stop.abort());
      process.stderr.write(`benchalign scheduler: watching the schedules on ${db.shown}\n`);
      try {
        await runScheduler(db, { queueUrl: opts.queue, cli: process.argv[1] as string, signal: stop.signal });
      } finally {
        await db.close();
      }
    });
}
