/**
 * The ssh transport: the system `ssh` runs `benchalign agent stdio` on the host, and the
 * protocol goes over its stdio. The host key is always checked (BatchMode, StrictHostKeyChecking
 * yes, the agent's known_hosts or ~/.ssh/known_hosts); no password prompt, no shell here.
 */
import { homedir } from 'node:os';
import path from 'node:path';
import { BenchalignError } from '../../errors.js';
import type { AgentDef } from '../agents-file.js';
import { RpcAgentClient } from './rpc.js';
import { openStdioChannel } from './stdio.js';

export const DEFAULT_REMOTE_COMMAND = 'benchalign agent stdio';

export interface SshTarget {
  user?: string;
  host: string;
  port?: number;
}

/** `ssh://user@host[:port]` -> its parts; E_CONFIG for anything else. */
export function parseSshUrl(url: string): SshTarget {
  const m = /^ssh:\/\/(?:([A-Za-z0-9._-]+)@)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?\/?$/.exec(url);
  if (!m) throw new BenchalignError('E_CONFIG', `bad ssh url ${url}`, { expected: 'ssh://user@host[:port]' });
  const t: SshTarget = { host: (m[2] as string).replace(/^\[|\]$/g, '') };
  if (m[1] !== undefined) t.user = m[1];
  if (m[3] !== undefined) {
    const port = Number(m[3]);
    if (port < 1 || port > 65535) throw new BenchalignError('E_CONFIG', `bad ssh port in ${url}`, { expected: 'a port in 1..65535' });
    t.port = port;
  }
  return t;
}

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
