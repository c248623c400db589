/** ssh:// agent urls. */
import { BenchalignError } from '../errors.js';

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

