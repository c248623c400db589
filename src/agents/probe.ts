/**
 * `benchalign agents probe`: each agent, reached as a run would reach it: reachable or not
 * (and why), its labels, its engines with versions, and whether its device is busy.
 */
import { describeError } from '../errors.js';
import type { AgentsConfig } from '../config/agents-file.js';
import type { AgentEngineInfo } from './protocol.js';
import { effectiveLabels, formatLabels } from './selection.js';
import { connectAgent } from './transports/index.js';

export interface AgentProbe {
  name: string;
  /** No secret in it. */
  url: string;
  reachable: boolean;
  /** Why it is not reachable. */
  reason?: string;
  /** Configured labels merged with the agent's own. */
  labels: Record<string, string>;
  engines?: AgentEngineInfo[];
  busy?: boolean;
  queued?: number;
  agentVersion?: string;
  protocolVersion?: number;
  hostname?: string;
  fingerprintHash?: string;
  /** Round trip of connecting and `info`, ms. */
  latencyMs?: number;
}

/** Probes every agent concurrently; never throws for an unreachable one. */
export async function probeAgents(config: AgentsConfig): Promise<AgentProbe[]> {
  return Promise.all(
    config.agents.map(async (def): Promise<AgentProbe> => {
      const client = connectAgent(def, { listEngines: true });
      const t0 = performance.now();
      try {
        const info = await client.info();
        return {
          name: def.name,
          url: def.url,
          reachable: true,
          labels: effectiveLabels(def.labels, info.labels),
          engines: info.engines,
          busy: info.busy,
          queued: info.queued,
          agentVersion: info.agentVersion,
          protocolVersion: info.protocolVersion,
          hostname: info.fingerprint.hostname,
          fingerprintHash: info.fingerprint.hash,
          latencyMs: performance.now() - t0,
        };
      } catch (e) {
        return { name: def.name, url: def.url, reachable: false, reason: describeError(e).replace(/^agent \S+: /, ''), labels: def.labels };
      } finally {
        await client.close().catch(() => undefined);
      }
    }),
  );
}

/** The probe as text: one block per agent. */
export function formatProbe(rows: readonly AgentProbe[]): string {
  const out: string[] = [];
  for (const r of rows) {
    if (!r.reachable) {
      out.push(`${r.name} (${r.url}): UNREACHABLE: ${r.reason ?? 'unknown'}`, `  labels: ${formatLabels(r.labels)}`);
      continue;
    }
    const busy = r.busy ? `busy (${r.queued ?? 0} queued)` : 'idle';
    out.push(`${r.name} (${r.url}): reachable, ${busy}, agent ${r.agentVersion ?? '?'} on ${r.hostname ?? '?'}, ${Math.round(r.latencyMs ?? 0)} ms`);
    out.push(`  labels: ${formatLabels(r.labels)}`);
    for (const e of r.engines ?? []) {
      out.push(`  ${e.name}: ${e.available ? `${e.version ?? '?'}${e.devices && e.devices.length > 0 ? ` (${e.devices.join(', ')})` : ''}` : `unavailable: ${e.reason ?? '?'}`}`);
    }
  }
  const down = rows.filter((r) => !r.reachable).length;
  out.push('', `${rows.length} agent(s): ${rows.length - down} reachable, ${down} unreachable`);
  return `${out.join('\n')}\n`;
}
