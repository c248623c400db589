/** `benchalign agents probe`: commander wiring for probeAgents. */
import type { Command } from 'commander';
import { loadAgentsFile } from '../../config/agents-file.js';
import { formatProbe, probeAgents } from '../../agents/probe.js';
import { ExitCode } from '../../errors.js';

export function registerAgents(program: Command): void {
  const agents = program.command('agents').description('The runner agents a run can use (agents.yaml; docs/agents-client.md)');
  agents
    .command('probe')
    .description('Each agent: reachable or not (why), its labels, its engines and versions, busy or idle (exit 3 when one is unreachable)')
    .option('--agents <file>', 'agents file', 'agents.yaml')
    .option('--json', 'print the probe as JSON')
    .action(async (opts: { agents: string; json?: boolean }) => {
      const config = await loadAgentsFile(opts.agents);
      const rows = await probeAgents(config);
      process.stdout.write(opts.json ? `${JSON.stringify(rows, null, 2)}\n` : formatProbe(rows));
      if (rows.some((r) => !r.reachable)) process.exitCode = ExitCode.Infra;
    });
}
