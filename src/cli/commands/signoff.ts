/** `benchalign signoff`: check a run against a release policy (docs/signoff.md). */
import type { Command } from 'commander';
import { signoffText } from '../../reports/signoff.js';
import { signoff } from '../../workflows/signoff.js';
import { DEFAULT_STORE_PATH } from '../../results/store/store.js';
import { interruptOnSignals } from '../interrupt.js';

interface SignoffOpts {
  policy: string;
  store: string;
  out?: string;
  promote?: boolean;
  baselineTag?: string;
  json?: boolean;
  quiet?: boolean;
}

export function registerSignoff(program: Command): void {
  program
    .command('signoff')
    .description('Check a run against a sign-off policy: one ✔/✘ line per criterion, signoff.json and signoff.md (exit 0 all passed, 1 a criterion failed, 2 bad policy or usage, 3 store or infrastructure error)')
    .argument('<target>', 'a suite file (run first and recorded in the store), a run id or tag in the store, or a results.json / run folder')
    .requiredOption('--policy <file>', 'sign-off policy, YAML or JSON (docs/signoff.md)')
    .option('--store <path>', 'results store: the baseline, the run to load, and where --promote tags', DEFAULT_STORE_PATH)
    .option('--out <dir>', 'folder for signoff.json and signoff.md (default: the run folder, or reports/<timestamp>-signoff/)')
    .option('--promote', 'when every criterion passed, tag the run with the baseline tag in the store (the new release baseline)')
    .option('--baseline-tag <tag>', 'release baseline tag (default: the policy\'s baselineTag, "release")')
    .option('--json', 'print signoff.json to stdout instead of the checklist')
    .option('--quiet', 'no progress output while running a suite')
    .action(async (target: string, opts: SignoffOpts) => {
      const interrupt = interruptOnSignals();
      interrupt.install();
      try {
        const outcome = await signoff({
          target,
          policyPath: opts.policy,
          store: opts.store,
          ...(opts.out !== undefined ? { outDir: opts.out } : {}),
          promote: opts.promote === true,
          ...(opts.baselineTag !== undefined ? { baselineTag: opts.baselineTag } : {}),
          quiet: opts.quiet === true || opts.json === true,
          argv: process.argv.slice(2),
          signal: interrupt.signal,
        });
        if (opts.json) process.stdout.write(`${JSON.stringify(outcome.record, null, 1)}\n`);
        else process.stdout.write(`${signoffText(outcome.record)}\nSign-off: ${outcome.outDir}/ (signoff.json, signoff.md)\n`);
        process.exitCode = outcome.exitCode;
      } finally {
        interrupt.dispose();
      }
    });
}
