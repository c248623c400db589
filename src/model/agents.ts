/** A runner agent as a suite or an agents file names it, resolved (src/config reads them). */
export type AgentKind = 'local' | 'stdio' | 'ssh' | 'http';

/** An agent, resolved: what a transport needs to reach it. */
export interface AgentDef {
  name: string;
  /** The url as configured, with any user:password removed (safe to record). */
  url: string;
  kind: AgentKind;
  /** Configured labels (the agent's own are merged in when it is reached). */
  labels: Record<string, string>;
  /** Absolute. */
  tokenFile?: string;
  tokenEnv?: string;
  /** Absolute. */
  caFile?: string;
  /** Absolute. */
  identity?: string;
  /** Absolute. */
  knownHosts?: string;
  remoteCommand?: string;
  command?: string[];
  /** Default 20000. */
  connectTimeoutMs: number;
}

