/**
 * Loading agents: an `agents.yaml` (or JSON) file, or the `agents:` entries of a suite, into
 * resolved definitions (absolute key and token paths, transport kind). Every problem is
 * reported at once with its path, as for suites.
 */
import { homedir } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { BenchalignError, describeError } from '../errors.js';
import { formatPath, problemsFromZod, readConfigFile, type PathSegment } from './errors.js';
import { parseConfigText } from './reader.js';
import { AgentsFileSchema, type AgentEntry } from './agents-schema.js';
import { parseSshUrl } from './ssh-url.js';
import type { AgentDef, AgentKind } from '../model/agents.js';

export interface AgentsConfig {
  agents: AgentDef[];
  /** Attempts per job on agent failures. Default 3. */
  maxAttempts: number;
  /** Longest wait for a busy agent's device, ms. Default 600000. */
  queueTimeoutMs: number;
  /** An agent silent past a job's timeoutMs plus this is stuck, ms. Default 30000. */
  timeoutGraceMs?: number;
  /** Where the agents came from (a file, or a suite), for messages. */
  source: string;
}

export const DEFAULT_MAX_ATTEMPTS = 3;
export const DEFAULT_QUEUE_TIMEOUT_MS = 600_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 20_000;
export const DEFAULT_TIMEOUT_GRACE_MS = 30_000;

/** E_CONFIG listing every problem of an agents file, one `path: message` per line. */
export class AgentsConfigError extends BenchalignError {
  constructor(
    file: string,
    readonly problems: ReadonlyArray<{ path: string; message: string }>,
  ) {
    const n = problems.length;
    super('E_CONFIG', `${n} problem${n === 1 ? '' : 's'} in agents:\n${problems.map((p) => `  ${p.path === '' ? '(agents)' : p.path}: ${p.message}`).join('\n')}`, { file });
    this.name = 'AgentsConfigError';
  }
}

function expandHome(p: string): string {
  return p === '~' ? homedir() : p.startsWith('~/') ? path.join(homedir(), p.slice(2)) : p;
}

/** Removes `user:password@` from an http(s) url (ssh urls keep their user: it is not a secret). */
export function redactUrl(url: string): string {
  return url.replace(/^(https?:\/\/)[^@/]*@/, '$1');
}

export function agentKind(url: string): AgentKind {
  if (url === 'local') return 'local';
  if (url === 'stdio') return 'stdio';
  if (url.startsWith('ssh://')) return 'ssh';
  return 'http';
}

/** Resolves entries (paths relative to `dir`); checks names are unique, reporting at `at`. */
export function resolveAgentEntries(entries: readonly AgentEntry[], dir: string, at: PathSegment[], problems: Array<{ path: string; message: string }>): AgentDef[] {
  const seen = new Map<string, number>();
  return entries.map((e, i) => {
    const first = seen.get(e.name);
    if (first !== undefined) problems.push({ path: formatPath([...at, i, 'name']), message: `duplicate agent name "${e.name}" (also ${formatPath([...at, first])})` });
    else seen.set(e.name, i);
    const kind = agentKind(e.url);
    const abs = (p: string): string => path.resolve(dir, expandHome(p));
    const wrongKind = (key: keyof AgentEntry, kinds: AgentKind[]): void => {
      if (e[key] !== undefined && !kinds.includes(kind)) problems.push({ path: formatPath([...at, i, key]), message: `only for ${kinds.join('/')} agents, this one is ${kind} (${e.url})` });
    };
    wrongKind('tokenFile', ['http']);
    wrongKind('tokenEnv', ['http']);
    wrongKind('caFile', ['http']);
    wrongKind('identity', ['ssh']);
    wrongKind('knownHosts', ['ssh']);
    wrongKind('remoteCommand', ['ssh']);
    wrongKind('command', ['stdio']);
    if (kind === 'ssh') {
      try {
        parseSshUrl(e.url);
      } catch (err) {
        problems.push({ path: formatPath([...at, i, 'url']), message: describeError(err) });
      }
    }
    if (e.caFile !== undefined && !e.url.startsWith('https://')) problems.push({ path: formatPath([...at, i, 'caFile']), message: 'only for https:// agents' });
    const def: AgentDef = { name: e.name, url: redactUrl(e.url), kind, labels: e.labels, connectTimeoutMs: e.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS };
    if (e.tokenFile !== undefined) def.tokenFile = abs(e.tokenFile);
    if (e.tokenEnv !== undefined) def.tokenEnv = e.tokenEnv;
    if (e.caFile !== undefined) def.caFile = abs(e.caFile);
    if (e.identity !== undefined) def.identity = abs(e.identity);
    if (e.knownHosts !== undefined) def.knownHosts = abs(e.knownHosts);
    if (e.remoteCommand !== undefined) def.remoteCommand = e.remoteCommand;
    if (e.command !== undefined) def.command = e.command;
    return def;
  });
}

/** Parses agents-file text (YAML or JSON). `file` is used for messages and relative paths. */
export function parseAgentsText(text: string, file: string): AgentsConfig {
  const { raw } = parseConfigText(text, file, (f, problems) => new AgentsConfigError(f, problems), 100);
  const parsed = z.safeParse(AgentsFileSchema, raw);
  if (!parsed.success) {
    throw new AgentsConfigError(
      file,
      problemsFromZod(parsed.error.issues, AgentsFileSchema, raw).map((p) => ({ path: formatPath(p.path), message: p.message })),
    );
  }
  const problems: Array<{ path: string; message: string }> = [];
  const agents = resolveAgentEntries(parsed.data.agents, path.dirname(file), ['agents'], problems);
  if (problems.length > 0) throw new AgentsConfigError(file, problems);
  return {
    agents,
    maxAttempts: parsed.data.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    queueTimeoutMs: parsed.data.queueTimeoutMs ?? DEFAULT_QUEUE_TIMEOUT_MS,
    timeoutGraceMs: parsed.data.timeoutGraceMs ?? DEFAULT_TIMEOUT_GRACE_MS,
    source: file,
  };
}

/** Loads an agents file. E_CONFIG when it cannot be read or has problems. */
export async function loadAgentsFile(file: string): Promise<AgentsConfig> {
  const { abs, bytes } = await readConfigFile(file, 'agents file', 'a YAML or JSON file with an agents: list');
  return parseAgentsText(bytes.toString('utf8'), abs);
}
