/** `benchalign run`: commander wiring for runSuite. */
import type { Command } from 'commander';
import { runAndLocalize } from '../../workflows/run-localize.js';
import { localizeLine, runSummaryText } from '../../reports/run-summary.js';
import { DEFAULT_STORE_PATH } from '../../results/store/store.js';
import { interruptOnSignals } from '../interrupt.js';

function list(v: string, prev: string[] = []): string[] {
  return [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('Measure every model on every engine of a suite and check the outputs against the references (exit 0 all good, 1 a gate failed, 2 bad input, 3 engine missing or interrupted, 4 nothing measured)')
    .argument('[suite]', 'suite file (YAML or JSON)')
    .option('--onnx-tests <dir>', 'run a folder of ONNX test-data cases (model.onnx + test_data_set_*) without a suite file')
    .option('--engines <names>', 'only these engines (comma-separated, repeatable)', list)
    .option('--models <names>', 'only these models (comma-separated, repeatable)', list)
    .option('--out <dir>', 'run folder (default: reports/<timestamp>-<suite>/)')
    .option('--overwrite', 'empty an --out folder that already holds a run instead of refusing it')
    .option('--accuracy-only', 'load, infer once and align; no timing loop')
    .option('--repeats <k>', 'measure each job in k fresh worker processes, interleaved', (v) => Number(v))
    .option('--max-repeats <m>', 'adaptive repeats: add repeats (up to m) while a job\'s combined p50 interval is wider than its target (docs/methodology.md)', (v) => Number(v))
    .option('--save-outputs', 'keep each job\'s output tensors in the run folder (outputs/<job>.safetensors), for `benchalign align`')
    .option('--profile', 'after each timed loop, profile the job with the engine\'s own profiler: per-layer and per-op times (docs/profile.md)')
    .option('--localize', 'for each job that fails alignment, find the first divergent layer (benchalign localize) into <run>/localize/ (docs/localize.md)')
    .option('--json', 'print results.json to stdout')
    .option('--quiet', 'no progress output')
    .option('--store <path>', 'also record the run in this results store (a SQLite file or a postgres:// URL; default $BENCHALIGN_STORE, else reports/benchalign.db)', DEFAULT_STORE_PATH)
    .option('--no-store', 'do not record the run in a results store')
    .option('--tag <name>', 'tag the run in the store (repeatable), e.g. nightly', (v: string, prev: string[] = []) => [...prev, v])
    .option('--agents <file>', 'run the jobs on the runner agents of this agents.yaml (docs/agents-client.md)')
    .option('--no-agents', 'run here, ignoring the suite\'s agents')
    .option('--allow-programs', 'run jobs of the `command` engine here: it runs the program the suite names (default: refused; an agent decides with its own --allow-programs)')
    .option('--queue <url>', 'run the jobs on the pull agents of this fleet queue, postgres://user@host:port/db (docs/fleet.md)')
    .option('--detach', 'with --queue: print the run id and return at once (`benchalign runs wait <id>` finishes it)')
    .action(async (suite: string | undefined, opts: { onnxTests?: string; engines?: string[]; models?: string[]; out?: string; overwrite?: boolean; accuracyOnly?: boolean; repeats?: number; maxRepeats?: number; saveOutputs?: boolean; profile?: boolean; localize?: boolean; json?: boolean; quiet?: boolean; store?: string | false; tag?: string[]; agents?: string | false; allowPrograms?: boolean; queue?: string; detach?: boolean }) => {
      // Installed once the suite is loaded (onRunStart): while loading, Ctrl-C ends the process at once.
      const interrupt = interruptOnSignals();
      try {
        const outcome = await runAndLocalize({
          ...(suite !== undefined ? { suitePath: suite } : {}),
          ...(opts.onnxTests !== undefined ? { onnxTests: opts.onnxTests } : {}),
          ...(opts.engines ? { engines: opts.engines } : {}),
          ...(opts.models ? { models: opts.models } : {}),
          ...(opts.out !== undefined ? { outDir: opts.out } : {}),
          ...(opts.overwrite === true ? { overwrite: true } : {}),
          mode: opts.accuracyOnly ? 'accuracy-only' : 'benchmark',
          ...(opts.repeats !== undefined ? { repeats: opts.repeats } : {}),
          ...(opts.maxRepeats !== undefined ? { maxRepeats: opts.maxRepeats } : {}),
          saveOutputs: opts.saveOutputs === true,
          ...(opts.profile === true ? { profile: true } : {}),
          quiet: opts.quiet === true || opts.json === true,
          argv: process.argv.slice(2),
          signal: interrupt.signal,
          ...(typeof opts.store === 'string' ? { store: opts.store } : {}),
          ...(opts.tag ? { tags: opts.tag } : {}),
          ...(typeof opts.agents === 'string' ? { agentsFile: opts.agents } : {}),
          ...(opts.agents === false ? { noAgents: true } : {}),
          onRunStart: interrupt.install,
          ...(opts.allowPrograms === true ? { allowPrograms: true } : {}),
          ...(opts.queue !== undefined ? { queue: opts.queue } : {}),
          ...(opts.detach === true ? { detach: true } : {}),
          localize: opts.localize === true,
          ...(opts.quiet || opts.json ? {} : { onLocalizeLog: (line: string) => process.stderr.write(`${line}\n`) }),
        });
        if (outcome.queued?.detached) {
          process.stdout.write(`${outcome.queued.runId}\n`);
          process.exitCode = outcome.exitCode;
          return;
        }
        for (const l of outcome.localized) process.stderr.write(localizeLine(l));
        process.stdout.write(opts.json ? `${JSON.stringify(outcome.results, null, 1)}\n` : runSummaryText(outcome.results, outcome.runDir));
        process.exitCode = outcome.exitCode;
      } finally {
        interrupt.dispose();
      }
    });
}
