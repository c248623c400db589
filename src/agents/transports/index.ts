/** One AgentClient per agent definition, by the kind of its url. */
import type { AgentDef } from '../../model/agents.js';
import { httpAgent } from './http.js';
import { LocalAgentClient } from './local.js';
import { sshAgent } from './ssh.js';
import { stdioAgent } from './stdio.js';
import type { AgentClient } from './types.js';

export type { AgentClient, RepeatRequest } from './types.js';
export { AgentFailure } from './types.js';

export function connectAgent(def: AgentDef, options: { listEngines?: boolean } = {}): AgentClient {
  switch (def.kind) {
    case 'local':
      return new LocalAgentClient(def, options);
    case 'stdio':
      return stdioAgent(def);
    case 'ssh':
      return sshAgent(def);
    case 'http':
      return httpAgent(def);
  }
}
