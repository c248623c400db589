/**
 * Scheduled runs on the fleet queue (docs/nightly.md): a named cron schedule (pg-boss's
 * `schedule`, which fires once per tick however many processes watch it) holding the
 * arguments of a `benchalign run`, and the scheduler process that runs each fired one as
 * `benchalign run <args> --queue <url>`, in its own working folder (where the suite files are).
 */
import { spawn } from 'node:child_process';
import { BenchalignError, describeError } from '../../errors.js';
import type { FleetDb } from './db.js';

export const SCHEDULE_PREFIX = 'benchalign.schedule.';
const NAME_RE = /^[A-Za-z0-9_-]{1,60}$/;
/** Options the scheduler sets itself, or that make no sense in a scheduled run. */
const REFUSED = /^--(queue|detach|agents|no-agents|json)(=|$)/;

export interface ScheduleInfo {
  name: string;
  cron: string;
  timezone: string;
  argv: string[];
}

function queueOf(name: string): string {
  if (!NAME_RE.test(name)) throw new BenchalignError('E_USAGE', `schedule name ${JSON.stringify(name)}`, { expected: '1-60 characters of [A-Za-z0-9_-]' });
  return `${SCHEDULE_PREFIX}${name}`;
}

/** Adds or replaces the schedule `name`: `benchalign run <argv>` at each `cron` tick. */
export async function addSchedule(db: FleetDb, name: string, cron: string, argv: string[], tz = 'UTC'): Promise<void> {
  const queue = queueOf(name);
  if (argv.length === 0 || argv[0]?.startsWith('-')) throw new BenchalignError('E_USAGE', 'runs schedule: no suite given', { expected: 'runs schedule <name> --cron "<expr>" --queue URL -- <suite> [run options]' });
  const bad = argv.find((a) => REFUSED.test(a) || /postgres(ql)?:\/\/[^@\s]*:[^@\s]*@/i.test(a));
  if (bad !== undefined) throw new BenchalignError('E_USAGE', `runs schedule: ${bad.replace(/:[^@/]*@/, ':***@')} is not accepted in a scheduled run`, { expected: 'run options without --queue/--detach/--agents (the scheduler adds --queue) and without passwords in URLs' });
  try {
    if ((await db.boss.getQueue(queue)) === null) await db.boss.createQueue(queue, { name: queue, policy: 'standard' });
    await db.boss.schedule(queue, cron, { argv }, { tz, retryLimit: 0 });
  } catch (e) {
    if (/invalid|cron|Validation|expression/i.test(describeError(e))) throw new BenchalignError('E_USAGE', `--cron ${JSON.stringify(cron)}: ${describeError(e)}`, { expected: 'a cron expression, e.g. "0 2 * * *" (02:00 every day)' });
    throw db.infra('scheduling', e);
  }
}

export async function removeSchedule(db: FleetDb, name: string): Promise<void> {
  await db.boss.unschedule(queueOf(name));
}

export async function listSchedules(db: FleetDb): Promise<ScheduleInfo[]> {
  const rows = (await db.boss.getSchedules()) as unknown as Array<{ name: string; cron: string; timezone: string; data: { argv?: string[] } | null }>;
  return rows.filter((r) => r.name.startsWith(SCHEDULE_PREFIX)).map((r) => ({ name: r.name.slice(SCHEDULE_PREFIX.length), cron: r.cron, timezone: r.timezone, argv: r.data?.argv ?? [] }));
}

export interface SchedulerOptions {
  /** The queue URL given to each run (with its password: it only goes to the child's arguments). */
  queueUrl: string;
  /** The benchalign CLI script to run. */
  cli: string;
  signal: AbortSignal;
  pollMs?: number;
  log?: (line: string) => void;
}

/** Takes fired schedules and runs each, one at a time, until `signal` aborts. */
export async function runScheduler(db: FleetDb, o: SchedulerOptions): Promise<void> {
  const log = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const poll = o.pollMs ?? 2000;
  while (!o.signal.aborted) {
    let ran = false;
    try {
      for (const s of await listSchedules(db)) {
        const queue = `${SCHEDULE_PREFIX}${s.name}`;
        const [job] = await db.boss.fetch<{ argv?: unknown }>(queue, { batchSize: 1 });
        if (!job) continue;
        const argv = Array.isArray(job.data?.argv) && job.data.argv.every((a) => typeof a === 'string') ? (job.data.argv as string[]) : undefined;
        if (!argv) {
          await db.boss.fail(queue, job.id, { reason: 'no argv' });
          continue;
        }
        ran = true;
        log(`benchalign scheduler: ${s.name}: benchalign run ${argv.join(' ')}`);
        const code = await new Promise<number>((resolve) => {
          const child = spawn(process.execPath, [o.cli, 'run', ...argv, '--queue', o.queueUrl], { stdio: ['ignore', 'inherit', 'inherit'] });
          child.once('error', () => resolve(3));
          child.once('exit', (c) => resolve(c ?? 3));
        });
        log(`benchalign scheduler: ${s.name}: exit ${code}`);
        await db.boss.complete(queue, job.id, { exitCode: code });
      }
    } catch (e) {
      log(`benchalign scheduler: ${describeError(db.infra('taking a scheduled run', e))}`);
    }
    if (!ran) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, poll);
        o.signal.addEventListener('abort', () => (clearTimeout(t), r()), { once: true });
      });
    }
  }
}
