/** `benchalign engines list|setup`: commander wiring for listEngines and setupEngines. */
import type { Command } from 'commander';
import { formatEngineList } from '../../reports/engines.js';
import { ENGINE_PACKAGES, setupEngines } from '../../runners/python/setup.js';
import { listEngines } from '../../runners/registry.js';

export function registerEngines(program: Command): void {
  const engines = program.command('engines').description('The engines benchalign can drive here, and their Python environment');
  engines
    .command('list')
    .description('Each engine: available or not, its version and devices, or why it is unavailable')
    .option('--json', 'print the list as JSON')
    .action(async (opts: { json?: boolean }) => {
      const list = await listEngines();
      process.stdout.write(opts.json ? `${JSON.stringify(list, null, 2)}\n` : formatEngineList(list));
    });
  engines
    .command('setup')
    .description('Create or update the Python engines venv from the pinned requirements (idempotent)')
    .option('--engines <names>', `comma-separated, from ${Object.keys(ENGINE_PACKAGES).join(',')} (default: all)`)
    .action(async (opts: { engines?: string }) => {
      const names = opts.engines?.split(',').map((s) => s.trim()).filter((s) => s !== '');
      const res = await setupEngines(names ? { engines: names } : {});
      process.stdout.write(`${res.changed ? 'installed' : 'up to date'}: ${res.engines.join(', ')} in ${res.venv}\n`);
    });
}
