import { execFileSync } from 'node:child_process';
import type { GitInfo } from './types.js';

/** The commit and branch of the git checkout at `cwd`, or nulls outside one. */
export function gitInfo(cwd: string = process.cwd()): GitInfo {
  const ask = (args: string[]): string | null => {
    try {
      const out = execFileSync('git', args, { cwd, stdio: ['ignore', 'pipe', 'ignore'], encoding: 'utf8', timeout: 5000 }).trim();
      return out.length > 0 ? out : null;
    } catch {
      return null;
    }
  };
  const commit = ask(['rev-parse', 'HEAD']);
  if (commit === null) return { commit: null, branch: null };
  const branch = ask(['rev-parse', '--abbrev-ref', 'HEAD']);
  return { commit, branch: branch === 'HEAD' ? null : branch };
}
