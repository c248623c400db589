/**
 * `benchalign agent serve|stdio|work`: commander wiring for the runner agent (runner-agents/agent).
 * The agent is an application on top of src/: bin/benchalign.js hands this to the CLI's
 * `main`, so src/ never imports runner-agents/.
 */
import type { Command } from 'commander';
import { serveAgent, stdioAgent, workAgent, type AgentCliOptions, type ServeCliOptions, type WorkCliOptions } from './agent/serve.js';

export function registerAgent(program: Command): void {
  const agent = program.command('agent').description('Run this machine as a runner agent: it executes jobs sent by a coordinator (docs/agents.md)');
  const shared = (c: Command): Command =>
    c
      .option('--labels <k=v,...>', 'labels for job selection, e.g. board=rk3588 (arch, os and gpu=nvidia are added automatically)')
      .option('--work-dir <dir>', 'artifacts and job folders (default: <cache>/benchalign/agent)')
      .option('--max-artifact-bytes <n>', 'largest artifact accepted, e.g. 2G (default 4G)')
      .option('--allow-code', 'accept PyTorch model forms (TorchScript, .pt2, file.py factories): they run code when loaded (default: refused)')
      .option('--allow-programs', 'run jobs of the `command` engine: it runs the program a suite names (default: refused)');
  shared(
    agent
      .command('serve')
      .description('The agent daemon: WebSocket JSON-RPC at /rpc, PUT /artifacts/<sha256>, GET /healthz')
      .requiredOption('--listen <host:port>', 'address to listen on, e.g. 127.0.0.1:7070 (a non-loopback address needs a token)')
      .option('--token-file <file>', 'bearer token file (else BENCHALIGN_AGENT_TOKEN)')
      .option('--tls-cert <pem>', 'TLS certificate (with --tls-key): wss:// and https://')
      .option('--tls-key <pem>', 'TLS private key'),
  ).action(async (opts: ServeCliOptions) => {
    await serveAgent(opts);
  });
  shared(agent.command('stdio').description('Speak the agent protocol on stdin/stdout (NDJSON), for the local and ssh:// transports')).action(async (opts: AgentCliOptions) => {
    await stdioAgent(opts);
  });
  shared(
    agent
      .command('work')
      .description('The pull agent: take jobs from the fleet queue in PostgreSQL (connects out; no listening port; docs/fleet.md)')
      .requiredOption('--queue <url>', 'postgres://user@host:port/db (password from the URL, PGPASSWORD or a pgpass file)')
      .option('--engines <names>', 'take only jobs of these engines (comma-separated; default every available engine)')
      .option('--name <name>', 'this agent\'s name in records and `runs status` (default <hostname>-<pid>)')
      .option('--heartbeat-ms <ms>', 'heartbeat period; the agent is taken for dead after 3 missed (default 5000)'),
  ).action(async (opts: WorkCliOptions) => {
    await workAgent(opts);
  });
}
