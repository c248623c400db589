/**
 * The ssh transport: the system `ssh` runs `benchalign agent stdio` on the host, and the
 * protocol goes over its stdio. The host key is always checked (BatchMode, StrictHostKeyChecking
 * yes, the agent's known_hosts or ~/.ssh/known_hosts); no password prompt, no shell here.
 */
import { homedir } from 'node:os';
import path from 'node:path';
import type { AgentDef } from '../../model/agents.js';
import { RpcAgentClient } from './rpc.js';
import { openStdioChannel } from './stdio.js';
import { parseSshUrl } from '../../config/ssh-url.js';

export { parseSshUrl, type SshTarget } from '../../config/ssh-url.js';

export const DEFAULT_REMOTE_COMMAND = 'benchalign agent stdio';

/** The `ssh` argv for an agent (no shell: each option is its own argument). */
export function sshArgv(def: AgentDef, sshBinary = 'ssh'): string[] {
  const t = parseSshUrl(def.url);
  const knownHosts = def.knownHosts ?? path.join(homedir(), '.ssh', 'known_hosts');
  const argv = [sshBinary, '-T', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'ServerAliveInterval=15', '-o', 'ServerAliveCountMax=4'];
  argv.push('-o', `ConnectTimeout=${Math.max(1, Math.ceil(def.connectTimeoutMs / 1000))}`);
  if (t.port !== undefined) argv.push('-p', String(t.port));
  if (def.identity !== undefined) argv.push('-i', def.identity, '-o', 'IdentitiesOnly=yes');
  if (t.user !== undefined) argv.push('-l', t.user);
  argv.push('--', t.host, def.remoteCommand ?? DEFAULT_REMOTE_COMMAND);
  return argv;
}

export function sshAgent(def: AgentDef): RpcAgentClient {
  const argv = sshArgv(def);
  return new RpcAgentClient(def, { open: () => openStdioChannel(argv, `ssh to ${def.name}`) });
}
